"""The invariance audit (`rb-pipeline audit`, the `audit_model` job, rb_pipeline/engine/audit.py) on a
tiny offline classifier and hand-made rows: every audited setting is a run of its own (its own settings
key, its own scores), the settings reach the model, and the report lists each setting with its flips.
A judge (a kind declared here, whose verdicts are known by hand) is audited on the settings it reads and
its position flips (verdicts that change with the answer order) are counted per setting and subset."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml

from rb_pipeline.catalog.entries import ModelEntry, load_benchmarks, register_model, user_benchmarks_dir
from rb_pipeline.cli import main
from rb_pipeline.core.kinds import ModelKind, register_kind
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.audit import audit_settings
from rb_pipeline.models.loader import load_scorer
from rb_pipeline.models.registry import Comparison, Judgment
from rb_pipeline.sources.datasets import quality_path
from rb_pipeline.warehouse.answers import audit_orders, audit_report
from rb_pipeline.warehouse.views import in_memory
from tests.hand_made import HAND_MADE_CATALOG, example_row, hand_made_frames, response_row, write_dataset

SETTINGS = [
    "batch_size=1",
    "batch_size=64",
    "padding_side=left",
    "dtype=bfloat16",
    "attn_implementation=sdpa",
]


def test_audit_settings_change_one_setting_each_and_key_the_batch_size():
    entry = ModelEntry(id="test/tiny", source="/models/tiny")
    audited = audit_settings(entry)
    assert list(audited) == ["baseline", *SETTINGS]
    base = audited["baseline"]
    assert (base.batch_size, base.padding_side, base.dtype, base.attn_implementation) == (
        8,
        "right",
        "float32",
        "eager",
    )
    # the batch size decides what shares a batch: budget = 64 x 2048 for batch size 64
    assert audited["batch_size=64"].token_budget == 64 * 2048
    # six settings, six keys, none an ordinary run's (whose key ignores the batch size)
    keys = {settings.key(entry) for settings in audited.values()}
    assert len(keys) == 6
    ordinary = ScorerSettings(batch_size=8)
    assert ordinary.key(entry) == ScorerSettings(batch_size=64).key(entry)
    assert ordinary.key(entry) not in keys
    # the defaults keep the key scores had before padding side and attention were settings
    assert ScorerSettings(padding_side="tokenizer", attn_implementation="auto").key(entry) == ordinary.key(
        entry
    )
    assert ScorerSettings(padding_side="left").key(entry) != ordinary.key(entry)


def test_padding_side_and_attention_reach_the_model(tiny_classifier):
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    for side, kernel in (("left", "sdpa"), ("right", "eager")):
        scorer = load_scorer(entry, ScorerSettings(padding_side=side, attn_implementation=kernel), "cpu")
        assert scorer.tokenizer.padding_side == side
        assert scorer.model.config._attn_implementation == kernel


@pytest.fixture
def hand_made_lake(rb_home):
    """The hand-made benchmark `hm` in the lake's catalog, its 12 hand-made pairs (subset a1) normalized
    and passed by the quality gate."""
    user_benchmarks_dir().mkdir(parents=True)
    (user_benchmarks_dir() / "hm.yaml").write_text(yaml.safe_dump(HAND_MADE_CATALOG["hm"]), encoding="utf-8")
    examples, responses = hand_made_frames()
    write_dataset("hm", examples.with_columns(subset=pl.lit("a1")).to_dicts(), responses.to_dicts())
    quality_path("hm").parent.mkdir(parents=True, exist_ok=True)
    quality_path("hm").write_text(json.dumps({"passed": True, "summary": "hand-made"}))
    return rb_home


def test_audit_command_stores_a_run_per_setting_and_reports_its_flips(
    hand_made_lake, tiny_classifier, capsys
):
    assert main(["audit", "--model", str(tiny_classifier), "--benchmark", "hm", "--sample", "20"]) == 0
    printed = capsys.readouterr().out
    for setting in SETTINGS:
        assert setting in printed

    with in_memory(load_benchmarks()) as con:
        runs = con.sql("select * from runs where status = 'complete' order by started_at").pl()
        # the audit's runs are history, never the model's latest run (the leaderboard's)
        assert con.sql("select count(*) from runs_history where is_latest").fetchall() == [(0,)]
        report = audit_report(con, dict(zip(["baseline", *SETTINGS], runs["run_id"], strict=True)))
        scores = con.sql("select run_id, response_id, score from run_scores").pl()
        outcomes = con.sql("select run_id, example_id, margin from run_outcomes").pl()
    # one run per setting: 6, each with its own settings key, each scoring its responses itself (12
    # hand-made pairs, example 11 repeats example 0's texts: 22 distinct responses; none reused)
    assert runs.height == 6
    assert runs["settings_key"].n_unique() == 6
    assert runs["provenance"].unique().to_list() == ["audit"]
    assert runs["n_scored"].to_list() == [22] * 6
    recorded = [json.loads(settings) for settings in runs["settings"]]
    assert [(s["batch_size"], s["padding_side"], s["dtype"], s["attn_implementation"]) for s in recorded] == [
        (8, "right", "float32", "eager"),
        (1, "right", "float32", "eager"),
        (64, "right", "float32", "eager"),
        (8, "left", "float32", "eager"),
        (8, "right", "bfloat16", "eager"),
        (8, "right", "float32", "sdpa"),
    ]

    ordered = runs["run_id"].to_list()
    assert report["setting"].to_list() == SETTINGS
    assert report["n_examples"].to_list() == [12] * 5  # every example decided in both runs
    # by hand, from the stored outcomes: a flip is an example whose margin changes sign against the baseline
    baseline = outcomes.filter(pl.col("run_id") == ordered[0])
    for run_id, flips in zip(report["run_id"], report["flips"], strict=True):
        pairs = baseline.join(outcomes.filter(pl.col("run_id") == run_id), on="example_id")
        assert flips == int(((pairs["margin"] > 0) != (pairs["margin_right"] > 0)).sum())
    # with an attention mask, the batch size and the kernel move a float32 score by rounding only: no
    # outcome flips (McNemar on 0 discordant pairs: p = 1)
    unchanged = report.filter(
        pl.col("setting").is_in(["batch_size=1", "batch_size=64", "attn_implementation=sdpa"])
    )
    assert unchanged["flips"].to_list() == [0] * 3
    assert unchanged["smallest_p_adjusted"].to_list() == [1.0] * 3
    assert unchanged["largest_score_change"].max() < 1e-4
    # the largest score change, by hand from the stored scores. bfloat16 keeps 8 bits of mantissa: every
    # score moves. Left padding moves them too: GPT-2 adds absolute position embeddings and the scorer
    # passes no position ids, so a left-padded row's tokens sit at later positions (what the audit is
    # for; the default pads on the tokenizer's side, GPT-2's right)
    for setting, run_id in (("dtype=bfloat16", ordered[4]), ("padding_side=left", ordered[3])):
        by_hand = (
            scores.filter(pl.col("run_id") == ordered[0])
            .join(scores.filter(pl.col("run_id") == run_id), on="response_id")
            .select((pl.col("score") - pl.col("score_right")).abs().max())
            .item()
        )
        row = report.row(by_predicate=pl.col("setting") == setting, named=True)
        assert row["largest_score_change"] == pytest.approx(by_hand)
        assert by_hand > 1e-4


# ---------------------------------------------------------------- judges


def test_a_judge_is_audited_on_the_settings_it_reads():
    # a pairwise judge (a sequence classifier) reads all four; a local generative judge all but the
    # padding side (generation pads left); a judge behind a server or an ensemble none: baseline only
    pairwise = ModelEntry(id="test/pair", type="pairwise-judge", source="/models/pair")
    assert list(audit_settings(pairwise)) == ["baseline", *SETTINGS]
    local = ModelEntry(id="test/gen", type="generative", source="/models/gen")
    assert list(audit_settings(local)) == ["baseline", *[s for s in SETTINGS if not s.startswith("padding")]]
    assert audit_settings(local)["baseline"].padding_side == "tokenizer"  # the default: not in the key
    served = ModelEntry(id="test/api", type="generative", api_base="http://127.0.0.1:9/v1")
    ensemble = ModelEntry(id="test/ensemble", type="generative", judges=("test/gen", "test/api", "test/x"))
    for entry in (served, ensemble):
        (label,) = audit_settings(entry)
        # the baseline alone, keyed as an ordinary run (an API judge's earlier judgments are reused)
        assert label == "baseline" and not audit_settings(entry)["baseline"].keyed_batches


class OrderTestJudge:
    """A judge whose verdicts are known by hand: the answer holding "good" wins when exactly one does;
    otherwise it names the first answer, A (a position bias), or B when its dtype is bfloat16. It reads
    the batch size (the engine's) and the dtype only."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        self.device, self.undecided = device, "B" if settings.dtype == "bfloat16" else "A"

    def judge(self, batch: list[Comparison]) -> list[Judgment]:
        verdicts = []
        for comparison in batch:
            good_a, good_b = "good" in comparison.answer_a, "good" in comparison.answer_b
            verdicts.append(Judgment("A" if good_a > good_b else "B" if good_b > good_a else self.undecided))
        return verdicts


register_kind(
    ModelKind(
        "order-test-judge",
        "judges",
        OrderTestJudge,
        unread_settings=("padding_side", "attn_implementation"),
    )
)
JUDGE_SETTINGS = ["batch_size=1", "batch_size=64", "dtype=bfloat16"]
# example: (subset, chosen, rejected). "good" in exactly one answer: decided the same in both orders
# (e1 right, e4 wrong); in both or neither (e2, e3, e5): A in both orders, so the winner changes with
# the order: a position flip. By hand: a1 2 of 3 (e2, e3), b1 1 of 2 (e5), in every run.
JUDGED = {
    "e1": ("a1", "a good answer", "a bad answer"),
    "e2": ("a1", "a fine answer", "a poor answer"),
    "e3": ("a1", "good, first", "good, second"),
    "e4": ("b1", "a bad answer", "a good answer"),
    "e5": ("b1", "meh", "nah"),
}


def test_judge_audit_stores_its_runs_and_reports_settings_and_order_flips(
    hand_made_lake, tiny_classifier, capsys
):
    examples = [example_row("hm", subset, example_id) for example_id, (subset, _, _) in JUDGED.items()]
    responses = [
        response_row("hm", example_id, f"{example_id}-{label}", position, text, label)
        for example_id, (_, *texts) in JUDGED.items()
        for position, (label, text) in enumerate(zip(("chosen", "rejected"), texts, strict=True))
    ]
    write_dataset("hm", examples, responses)
    # the judge reads no weights; its source is a real model folder for the context length
    register_model(ModelEntry(id="test/order-judge", type="order-test-judge", source=str(tiny_classifier)))
    assert main(["audit", "--model", "test/order-judge", "--benchmark", "hm", "--sample", "20"]) == 0
    printed = capsys.readouterr().out
    assert "answer order" in printed and '["e2","e3"]' in printed.replace(" ", "")

    with in_memory(load_benchmarks()) as con:
        runs = con.sql("select * from runs where status = 'complete' order by started_at").pl()
        labelled = dict(zip(["baseline", *JUDGE_SETTINGS], runs["run_id"], strict=True))
        report, orders = audit_report(con, labelled), audit_orders(con, labelled)
        assert con.sql("select count(*) from runs_history where is_latest").fetchall() == [(0,)]
    # the baseline and the three settings the judge reads (no padding side, no attention kernel), each
    # its own settings key, each judging its 5 pairs x 2 orders = 10 calls itself (none reused)
    assert runs.height == 4
    assert runs["provenance"].unique().to_list() == ["audit"]
    assert runs["settings_key"].n_unique() == 4
    assert runs["n_scored"].to_list() == [10] * 4
    assert [json.loads(s)["dtype"] for s in runs["settings"]] == ["float32"] * 3 + ["bfloat16"]
    # settings flips. bfloat16 turns A into B on e2, e3, e5: the winner of each order swaps, so whatever
    # order RewardBench's draw shows, their outcome flips: 3; the batch size changes no verdict: 0
    assert report["setting"].to_list() == JUDGE_SETTINGS
    assert report["n_examples"].to_list() == [5] * 3
    assert report["flips"].to_list() == [0, 0, 3]
    # order flips, per setting and subset (by hand above): the same in every run
    assert orders.select("setting", "subset", "n_examples", "position_flips").rows() == [
        (setting, subset, n, flips)
        for setting in ["baseline", *JUDGE_SETTINGS]
        for subset, n, flips in (("a1", 3, 2), ("b1", 2, 1))
    ]
    assert orders["flipped_examples"].to_list() == [["e2", "e3"], ["e5"]] * 4
