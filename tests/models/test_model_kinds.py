"""Every kind of model the catalog knows (classifier, multi-objective classifier, dpo, pairwise judge,
generative judge) scores shipped sample data through the Dagster scores asset (what the UI runs) and
the CLI, and lands in the views."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

# The multi-objective head is a custom class registered with the Auto classes in that test module.

BENCHMARK = "judgebench"  # the smallest shipped preference sample (8 real pairs)
KINDS = ("classifier", "multi-objective", "dpo", "pairwise-judge", "generative")


@pytest.fixture
def models(rb_home: Path, multi_objective_model: Path) -> dict[str, str]:
    """One registered model of each kind (tiny, offline); kind -> model id."""
    from rb_pipeline.catalog.entries import ModelEntry, register_model
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm, build_tiny_classifier

    classifier = build_tiny_classifier(rb_home / "models" / "classifier", seed=1)
    policy = build_tiny_causal_lm(rb_home / "models" / "policy", seed=1)
    reference = build_tiny_causal_lm(rb_home / "models" / "reference", seed=2)
    entries = {
        "classifier": ModelEntry(id="kinds/classifier", source=str(classifier), max_length=256),
        "multi-objective": ModelEntry(id="kinds/armo", source=str(multi_objective_model), max_length=256),
        "dpo": ModelEntry(
            id="kinds/dpo", type="dpo", source=str(policy), ref_model=str(reference), max_length=256
        ),
        "pairwise-judge": ModelEntry(
            id="kinds/pair-rm", type="pairwise-judge", source=str(classifier), max_length=512
        ),
        "generative": ModelEntry(
            id="kinds/judge-lm", type="generative", source=str(policy), max_length=512, max_new_tokens=4
        ),
    }
    for entry in entries.values():
        register_model(entry)
    return {kind: entry.id for kind, entry in entries.items()}


def latest_check_results(model_id: str) -> dict[str, bool]:
    """The scores asset's check outcomes for one model's partition (latest evaluation of each)."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    instance = DagsterInstance.get()
    results = {}
    for name in ("every_response_scored", "no_nan_scores"):
        key = AssetCheckKey(AssetKey("scores"), name)
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        evaluation = record.event.dagster_event.event_specific_data
        results[name] = evaluation.passed
        assert evaluation.target_materialization_data is not None
    return results


def test_every_kind_scores_through_the_scores_asset(models, rb_home):
    from assets.launch import materialize_datasets, materialize_scores, materialize_warehouse
    from rb_pipeline.core.lake import read_dataset
    from rb_pipeline.warehouse.views import query

    materialize_datasets([BENCHMARK])
    n_examples = read_dataset("examples", BENCHMARK).height
    for kind in KINDS:
        materialize_scores(models[kind], {"benchmarks": [BENCHMARK]})
        assert latest_check_results(models[kind]) == {"every_response_scored": True, "no_nan_scores": True}, (
            kind
        )
    materialize_warehouse()
    accuracy = query(
        "select model, sum(n) as n, min(accuracy) as low, max(accuracy) as high from subset_accuracy "
        f"where benchmark = '{BENCHMARK}' group by model order by model"
    )
    assert sorted(accuracy["model"]) == sorted(models.values())
    assert accuracy["n"].to_list() == [n_examples] * len(KINDS)
    assert all(0.0 <= v <= 1.0 for v in accuracy["low"].to_list() + accuracy["high"].to_list())
    # pointwise kinds: each subset's accuracy is the strict rule worked out here from the lake's own
    # score files (each model scored once: one run) and the responses' labels
    from rb_pipeline.core.lake import scores_dir

    labels = read_dataset("responses", BENCHMARK).select("example_id", "response_id", "label")
    subsets = read_dataset("examples", BENCHMARK).select("example_id", "subset")
    for kind in ("classifier", "multi-objective", "dpo"):
        scores = pl.read_parquet(sorted(scores_dir(models[kind]).glob("*/*.parquet")))
        by_hand = (
            labels.join(scores.select("response_id", "score"), on="response_id")
            .group_by("example_id")
            .agg(
                correct=pl.col("score").filter(pl.col("label") == "chosen").min()
                > pl.col("score").filter(pl.col("label") == "rejected").max()
            )
            .join(subsets, on="example_id")
            .group_by("subset")
            .agg(accuracy=pl.col("correct").cast(pl.Float64).mean())
        )
        seen = query(f"select subset, accuracy from subset_accuracy where model = '{models[kind]}'")
        assert dict(seen.rows()) == pytest.approx(dict(by_hand.rows()), abs=1e-12), kind
    # judge kinds: JudgeBench's rule for a judge (catalog `judgebench-both-orders`, JudgeBench's
    # utils/metrics.py), worked out here from the lake's stored judgments: each pair is judged in both
    # orders; +1 for each order whose verdict names the chosen answer (A when it was shown first, B when
    # second), -1 for each naming the rejected one, 0 for a tie or an unparseable verdict; the example is
    # right (1) when the sum is > 0, else 0; a subset's accuracy is the mean over its examples
    from rb_pipeline.engine.judging import judgments_dir

    chosen_letter = {"chosen_first": "A", "rejected_first": "B"}
    for kind in ("pairwise-judge", "generative"):
        judged = pl.read_parquet(sorted(judgments_dir(models[kind]).rglob("*.parquet")))
        assert set(judged["pair_order"]) == set(chosen_letter), kind  # JudgeBench: both orders, pairwise
        points = [
            (example_id, 1 if verdict == chosen_letter[order] else -1 if verdict in ("A", "B") else 0)
            for example_id, order, verdict in judged.select("example_id", "pair_order", "verdict").iter_rows()
        ]
        by_hand = (
            pl.DataFrame(points, schema=["example_id", "points"], orient="row")
            .group_by("example_id")
            .agg(right=(pl.col("points").sum() > 0).cast(pl.Float64), orders=pl.len())
            .join(subsets, on="example_id")
        )
        assert by_hand["orders"].to_list() == [2] * n_examples, kind  # one pair per example, both orders
        expected = dict(by_hand.group_by("subset").agg(pl.col("right").mean()).rows())
        seen = query(f"select subset, accuracy from subset_accuracy where model = '{models[kind]}'")
        assert dict(seen.rows()) == pytest.approx(expected, abs=1e-12), kind
    kinds = query("select model, model_type from runs where provenance = 'computed'")
    assert dict(kinds.iter_rows()) == {
        models[k]: ("classifier" if k == "multi-objective" else k) for k in KINDS
    }


def test_a_judge_scores_from_the_cli(models, rb_home):
    """`rb-pipeline score --model ID` for a registered generative judge prints its leaderboard row."""
    cli = Path(sys.executable).parent / "rb-pipeline"
    done = subprocess.run(
        [str(cli), "score", "--model", models["generative"], "--benchmark", BENCHMARK],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert models["generative"] in done.stdout
    from rb_pipeline.warehouse.views import query

    judged = query(f"select count(*) as n from example_outcomes where model = '{models['generative']}'")
    assert judged["n"].to_list() == [8]
