"""Hand-made data shared by tests, each number chosen so the expected results can be worked out by hand,
and reference rules transcribed from the official code. Plain functions (not fixtures) because child
processes import them too (tests/engine/test_resume.py); tests/conftest.py wraps the set-ups as fixtures.

Hand-made catalog: benchmark `hm` with sections A (subsets a1 weight 3, a2 weight 1, column `chat`)
and B (subset b1 weight 1, column `safety`); benchmark `hm-prior` with section P (subset p1, column
`prior_sets`, overall weight 0.5, not required) and subset p2 in no section. All roll up into the
overall `hm-all` shown as column `rewardbench`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import polars as pl

from rb_pipeline.core.lake import dataset_path, scores_dir, write_parquet
from rb_pipeline.core.runs import write_run
from rb_pipeline.core.schemas import EXAMPLES_SCHEMA, RESPONSES_SCHEMA, SCORES_SCHEMA
from rb_pipeline.sources.normalize import response_id
from rb_pipeline.warehouse.views import query

HAND_MADE_CATALOG = {
    "hm": {
        "benchmark": "hm",
        "title": "hand-made",
        "kind": "preference",
        "overall": {"name": "hm-all", "column": "rewardbench"},
        "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
        "sections": {"A": {"title": "A", "column": "chat"}, "B": {"title": "B", "column": "safety"}},
        "subsets": {
            "a1": {"section": "A", "weight": 3},
            "a2": {"section": "A", "weight": 1},
            "b1": {"section": "B", "expected_rows": 2},  # weight defaults to expected_rows: 2
        },
    },
    "hm-prior": {
        "benchmark": "hm-prior",
        "title": "hand-made prior",
        "kind": "preference",
        "overall": {"name": "hm-all", "column": "rewardbench"},
        "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
        "sections": {"P": {"title": "P", "column": "prior_sets", "overall_weight": 0.5, "required": False}},
        "subsets": {"p1": {"section": "P", "weight": 1}, "p2": {}},
    },
}


# (benchmark, subset, example_id, chosen scores, rejected scores) for the run that counts.
HAND_MADE_EXAMPLES = [
    ("hm", "a1", "e1", [2.0], [1.0]),  # correct, margin 1
    ("hm", "a1", "e2", [1.0], [1.0]),  # tie: wrong, margin 0
    ("hm", "a2", "e3", [3.0], [1.0, 2.9]),  # best-of-3: beats every loser
    ("hm", "b1", "e5", [0.0], [-1.0]),  # correct
    ("hm", "b1", "e6", [5.0, 1.0], [2.0]),  # two chosen: the worse chosen loses: wrong
    ("hm-prior", "p1", "e7", [1.0], [0.5]),  # correct
    ("hm-prior", "p1", "e8", [0.5], [1.0]),  # wrong
    ("hm-prior", "p2", "e9", [1.0], [0.0]),  # correct, in no section
]


def example_row(
    benchmark: str, subset: str, example_id: str, prompt: list | None = None, row: int = 0
) -> dict:
    """An `examples` row; the prompt defaults to one user turn `prompt <example_id>`."""
    return {
        "benchmark": benchmark,
        "subset": subset,
        "example_id": example_id,
        "prompt": prompt or [{"role": "user", "content": f"prompt {example_id}"}],
        "source_revision": "hand-made",
        "source_file": "hand-made",
        "source_row": row,
    }


def response_row(
    benchmark: str, example_id: str, response_id: str, position: int, text: str, label: str
) -> dict:
    """A `responses` row."""
    return {
        "benchmark": benchmark,
        "example_id": example_id,
        "response_id": response_id,
        "position": position,
        "text": text,
        "label": label,
        "source_model": None,
    }


def write_dataset(
    benchmark: str, examples: list[dict], responses: list[dict]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write one benchmark's examples and responses to the lake (as `materialize_benchmark` would);
    returns the two frames."""
    examples_frame = pl.DataFrame(examples, schema=EXAMPLES_SCHEMA)
    responses_frame = pl.DataFrame(responses, schema=RESPONSES_SCHEMA)
    write_parquet(examples_frame, dataset_path("examples", benchmark))
    write_parquet(responses_frame, dataset_path("responses", benchmark))
    return examples_frame, responses_frame


def write_scores(model: str, run_id: str, scores: dict[str, float], settings_key: str = "k") -> None:
    """One run's scores ({response_id: score}) as its one shard, one token each, nothing truncated."""
    rows = [
        {
            "model": model,
            "run_id": run_id,
            "settings_key": settings_key,
            "response_id": response_id,
            "score": score,
            "score_vector": None,
            "n_tokens": 1,
            "truncated_tokens": 0,
            "reused": False,
        }
        for response_id, score in scores.items()
    ]
    write_parquet(pl.DataFrame(rows, schema=SCORES_SCHEMA), scores_dir(model, run_id) / "part-00000.parquet")


def write_run_row(
    model: str,
    run_id: str,
    benchmarks: list[str],
    ended: datetime,
    status: str = "complete",
    **columns: object,
) -> None:
    """A hand-made run's record (started and ended at `ended`), computed unless `columns` say otherwise."""
    record = {"run_id": run_id, "model": model, "benchmarks": benchmarks, "status": status}
    write_run(record | {"started_at": ended, "ended_at": ended, "provenance": "computed"} | columns)


def write_hand_made_lake(models: dict[str, dict[str, tuple[str, float]]]) -> None:
    """Examples/responses for HAND_MADE_EXAMPLES, and per model: {run_id: (status, score offset)}."""
    examples, responses = [], []
    for bench, subset, example_id, chosen, rejected in HAND_MADE_EXAMPLES:
        examples.append(example_row(bench, subset, example_id))
        labelled = [("chosen", s) for s in chosen] + [("rejected", s) for s in rejected]
        for position, (label, _) in enumerate(labelled):
            responses.append(
                response_row(
                    bench, example_id, f"{example_id}-{position}", position, f"answer {position}", label
                )
            )
    for bench in HAND_MADE_CATALOG:
        write_dataset(
            bench,
            [e for e in examples if e["benchmark"] == bench],
            [r for r in responses if r["benchmark"] == bench],
        )
    for model, runs in models.items():
        for order, (run_id, (status, benchmarks, flip)) in enumerate(runs.items()):
            write_hand_made_run(model, run_id, status, benchmarks, flip, day=1 + order)


def write_hand_made_run(
    model: str, run_id: str, status: str, benchmarks: list[str], flip: bool, day: int
) -> None:
    """One run of HAND_MADE_EXAMPLES' scores (negated with `flip`), ended on 2026-01-<day>."""
    score_of = {
        f"{example_id}-{position}": -score if flip else score
        for _, _, example_id, chosen, rejected in HAND_MADE_EXAMPLES
        for position, score in enumerate(chosen + rejected)
    }
    write_scores(model, run_id, score_of)
    write_run_row(model, run_id, benchmarks, datetime(2026, 1, day, tzinfo=UTC), status)


def hand_made_frames(n_examples: int = 12) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hand-made pairs of very different lengths; the last example repeats the first one's texts."""
    examples, responses = [], []
    for i in range(n_examples):
        k = i % (n_examples - 1)  # example n-1 repeats example 0
        prompt = [{"role": "user", "content": f"Question {k}: " + "why? " * (k % 5)}]
        examples.append(example_row("hm", "s", f"e{i}", prompt, row=i))
        for position, (label, text) in enumerate(
            [("chosen", "A good answer. " * (1 + k * 7)), ("rejected", "Bad.")]
        ):
            responses.append(response_row("hm", f"e{i}", response_id(prompt, text), position, text, label))
    return pl.DataFrame(examples, schema=EXAMPLES_SCHEMA), pl.DataFrame(responses, schema=RESPONSES_SCHEMA)


def rewardbench_ties_score(rows) -> float:
    """rewardbench's process_single_model + _compute_prompt_stats, transcribed onto (id, chosen, rejected)."""
    grouped = defaultdict(list)
    for _, example_id, chosen, rejected in rows:
        sample_type, prompt_id = example_id.split("/")[-1].split(":")
        grouped[(sample_type, int(prompt_id))] += [(True, s) for s in chosen] + [(False, s) for s in rejected]
    ref, tied = {}, {}
    for (sample_type, prompt_id), samples in grouped.items():
        correct = [s for ok, s in samples if ok]
        incorrect = [s for ok, s in samples if not ok]
        spread = max(correct) - min(correct) if len(correct) > 1 else None
        gap = min(correct) - max(incorrect)
        (ref if sample_type == "ref" else tied)[prompt_id] = (gap > 0, spread, gap)
    both = set(ref) & set(tied)
    spread = np.array([tied[p][1] for p in both])
    gap_tied = np.array([tied[p][2] for p in both])
    gap_ref = np.array([ref[p][2] for p in both])
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.nan_to_num(np.tanh(np.minimum(gap_ref, gap_tied) / spread - 1), nan=0.0)
    return float(
        0.30 * np.mean([s[0] for s in tied.values()])
        + 0.30 * np.mean([s[0] for s in ref.values()])
        + 0.20 * np.mean(gap_tied > spread)
        + 0.20 * np.mean(np.minimum(gap_ref, gap_tied) > spread)
        + 0.01 * np.mean(margin)
    )


def one(sql: str, path) -> dict:
    frame = query(sql, path)
    assert frame.height == 1, frame
    return frame.row(0, named=True)


# The child scores slowly (a sleep per batch of 2) and logs every response it scores; argv: model,
# log, shard_rows, flush_seconds.
SLOW_SCORING_CHILD = """
import sys, time
from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models.classifier import ClassifierScorer
from tests.hand_made import hand_made_frames

real = ClassifierScorer.score
def slow(self, batch):
    time.sleep(0.4)
    with open(sys.argv[2], "a") as log:
        log.write("".join(item.response_id + "\\n" for item in batch))
    return real(self, batch)
ClassifierScorer.score = slow
examples, responses = hand_made_frames()
entry = ModelEntry(id="test/tiny", source=sys.argv[1])
score_model(entry, responses, examples, ScorerSettings(max_length=256, batch_size=2), ["hm"],
            device="cpu", shard_rows=int(sys.argv[3]), flush_seconds=float(sys.argv[4]), log=lambda _: None)
"""
