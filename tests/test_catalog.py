"""The benchmark catalog: entries, section weights, generated counts, samples, user datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rb_pipeline.catalog import (
    SAMPLES_DIR,
    Benchmark,
    CatalogError,
    dataset_benchmark,
    load_benchmarks,
)
from rb_pipeline.inventory import ABSENT, HUB_ONLY, PRESENT, catalog_summary

PRIOR_SETS_IN_MEAN = {"anthropic_helpful", "anthropic_hhh", "shp", "summarize"}
PRIOR_SETS_SHOWN_ONLY = {"anthropic_harmless", "mtbench_gpt4", "mtbench_human"}
ABSENT_RMB_PAIRWISE = {
    "Harmlessness/S11",
    "Helpfulness/Brainstorming/Idea Development",
    "Helpfulness/Generation/Creative Writing",
}


@pytest.fixture(autouse=True)
def _samples_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Read the shipped samples, and no user-registered benchmarks."""
    monkeypatch.delenv("RB_MIRROR", raising=False)
    monkeypatch.setenv("RB_SOURCE", "sample")
    monkeypatch.setenv("RB_HOME", str(tmp_path / "home"))


@pytest.fixture
def catalog() -> dict[str, Benchmark]:
    return load_benchmarks()


def overall(catalog: dict[str, Benchmark], name: str, section_scores: dict[str, float]) -> float | None:
    """The overall rule of sql/overall_scores.sql, over the catalog's sections (None when a
    required section has no score)."""
    sections = [
        (key, section)
        for bench in catalog.values()
        if bench.overall and bench.overall.name == name
        for key, section in bench.sections.items()
    ]
    if any(section.required and key not in section_scores for key, section in sections):
        return None
    scored = [
        (section_scores[key], section.overall_weight) for key, section in sections if key in section_scores
    ]
    return sum(score * weight for score, weight in scored) / sum(weight for _, weight in scored)


def test_catalog_lists_every_benchmark(catalog: dict[str, Benchmark]) -> None:
    assert set(catalog) >= {
        "rewardbench",
        "rewardbench-prior",
        "reward-bench-2",
        "rmb-pairwise",
        "rmb-bon",
        "rm-bench",
        "judgebench",
    }


def test_rewardbench_overall_adds_half_weighted_prior_sets(catalog: dict[str, Benchmark]) -> None:
    core = {"chat": 0.9, "chat_hard": 0.6, "safety": 0.8, "reasoning": 0.7}
    assert {k: s.overall_weight for k, s in catalog["rewardbench"].sections.items()} == dict.fromkeys(
        core, 1.0
    )
    prior = catalog["rewardbench-prior"].sections["prior_sets"]
    assert (prior.column, prior.overall_weight, prior.required) == ("prior_sets", 0.5, False)
    assert overall(catalog, "rewardbench", core) == pytest.approx(sum(core.values()) / 4)
    with_prior = overall(catalog, "rewardbench", core | {"prior_sets": 0.5})
    assert with_prior == pytest.approx((0.9 + 0.6 + 0.8 + 0.7 + 0.5 * 0.5) / 4.5)
    assert overall(catalog, "rewardbench", {"chat": 0.9, "prior_sets": 0.5}) is None


def test_prior_sets_section_is_the_unweighted_mean_of_four_sets(catalog: dict[str, Benchmark]) -> None:
    prior = catalog["rewardbench-prior"]
    assert prior.hub is not None and set(prior.hub.splits) == PRIOR_SETS_IN_MEAN | PRIOR_SETS_SHOWN_ONLY
    in_section = {name for name, s in prior.all_subsets.items() if s.section == "prior_sets"}
    assert in_section == PRIOR_SETS_IN_MEAN
    assert {prior.weight_of(name) for name in in_section} == {1.0}
    assert all(prior.weight_of(name) is None for name in PRIOR_SETS_SHOWN_ONLY)
    assert prior.all_subsets["anthropic_hhh"].expected_rows == 221


def test_rewardbench2_overall_is_the_mean_of_six_subsets(catalog: dict[str, Benchmark]) -> None:
    rb2 = catalog["reward-bench-2"]
    assert rb2.hub is not None and (rb2.hub.repo, rb2.hub.split) == ("allenai/reward-bench-2", "test")
    assert not rb2.local
    assert sorted(rb2.all_subsets) == sorted(["Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties"])
    assert sum(s.expected_rows for s in rb2.all_subsets.values()) == 1865
    scores = {key: 0.1 * (i + 1) for i, key in enumerate(rb2.sections)}
    assert overall(catalog, "reward-bench-2", scores) == pytest.approx(sum(scores.values()) / 6)


def test_rmb_expected_rows_are_generated_per_scenario(catalog: dict[str, Benchmark]) -> None:
    pairwise, bon = catalog["rmb-pairwise"].all_subsets, catalog["rmb-bon"].all_subsets
    assert len(pairwise) == len(bon) == 49
    assert {n for n, s in pairwise.items() if s.expected_rows is None} == ABSENT_RMB_PAIRWISE
    assert sum(s.expected_rows or 0 for s in pairwise.values()) == 14543
    assert all(s.expected_rows for s in bon.values())
    assert sum(s.expected_rows for s in bon.values()) == 3786


def test_every_subset_in_a_section_has_a_weight(catalog: dict[str, Benchmark]) -> None:
    for bench in catalog.values():
        for name, subset in bench.all_subsets.items():
            weight = bench.weight_of(name)
            assert (weight is None) == (subset.section is None), (bench.benchmark, name)


def test_every_local_source_has_a_shipped_sample(catalog: dict[str, Benchmark]) -> None:
    for bench in catalog.values():
        for source in bench.local:
            path, origin = source.resolve()
            assert origin == "sample" and path.exists(), (bench.benchmark, source.path)
            assert path.is_relative_to(SAMPLES_DIR)


def write_catalog(tmp_path: Path, entry: dict) -> Path:
    folder = tmp_path / "catalog"
    (folder / "benchmarks").mkdir(parents=True)
    (folder / "benchmarks" / "bad.yaml").write_text(yaml.safe_dump(entry))
    return folder


BASE = {"benchmark": "bad", "title": "Bad", "kind": "preference"}


@pytest.mark.parametrize(
    "hub",
    [
        {"repo": "a/b", "format": "preference"},
        {"repo": "a/b", "split": "test", "splits": ["x"], "format": "preference"},
    ],
)
def test_hub_source_needs_split_or_splits(tmp_path: Path, hub: dict) -> None:
    with pytest.raises(CatalogError, match=r"bad\.yaml: hub: .*give either `split` or `splits`"):
        load_benchmarks(write_catalog(tmp_path, BASE | {"hub": hub}))


def test_missing_expected_rows_file_names_it(tmp_path: Path) -> None:
    entry = BASE | {
        "local": [{"format": "rmb-pairwise", "path": "rmb/RMB_dataset/Pairwise_set", "tree": True}],
        "subsets_from_tree": {"roots": ["rmb/RMB_dataset/Pairwise_set"], "expected_rows_file": "nope.yaml"},
    }
    with pytest.raises(CatalogError, match=r"bad\.yaml: .*expected_rows_file: .*nope\.yaml: not found"):
        load_benchmarks(write_catalog(tmp_path, entry))


def test_dataset_benchmark_is_named_after_the_file_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "My Prefs (v2).jsonl"
    path.write_text('{"prompt": "Q?", "chosen": "A.", "rejected": "B."}\n')
    bench = dataset_benchmark(path)
    assert (bench.benchmark, bench.kind, bench.local[0].path) == ("my-prefs-v2", "preference", str(path))
    document = bench.model_dump(mode="json", exclude={"source_file"}, exclude_defaults=True)
    assert Benchmark.model_validate(yaml.safe_load(yaml.safe_dump(document))) == bench.model_copy(
        update={"source_file": ""}
    )
    with pytest.raises(CatalogError, match="no such file"):
        dataset_benchmark(tmp_path / "missing.jsonl")


def test_catalog_summary_on_samples(catalog: dict[str, Benchmark]) -> None:
    summary = {entry["benchmark"]: entry for entry in catalog_summary(catalog)}
    assert set(summary) == set(catalog)
    for entry in summary.values():
        assert entry["error"] is None
        assert {s["availability"] for s in entry["subsets"]} <= {PRESENT, HUB_ONLY, ABSENT}
        assert entry["examples"] == sum(s["actual_rows"] for s in entry["subsets"])
    assert summary["reward-bench-2"]["hub"] == "allenai/reward-bench-2@main"
    assert summary["reward-bench-2"]["local_origin"] == "absent"
    assert {s["availability"] for s in summary["reward-bench-2"]["subsets"]} == {HUB_ONLY}
    assert summary["rmb-pairwise"]["local_origin"] == "sample"
    absent = {s["subset"] for s in summary["rmb-pairwise"]["subsets"] if s["availability"] == ABSENT}
    assert absent == ABSENT_RMB_PAIRWISE
    prior = {s["subset"]: s for s in summary["rewardbench-prior"]["subsets"]}
    assert prior["anthropic_hhh"]["availability"] == PRESENT
    assert {n for n, s in prior.items() if s["availability"] == HUB_ONLY} == set(prior) - {"anthropic_hhh"}
    rm_bench = {s["subset"]: s for s in summary["rm-bench"]["subsets"]}
    assert rm_bench["chat/hard"]["actual_rows"] == 3 * 2  # 2 sample rows x 3 hard cells
    assert rm_bench["math/hard"]["availability"] == ABSENT
