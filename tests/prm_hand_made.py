"""Hand-made step-level data for the PRM tests (never real benchmark rows): two benchmarks in the shapes
of ProcessBench (`hm-pb`, threshold chosen on subset `pa`) and PRMBench (`hm-prm`, threshold 0.5), and
one PRM run's step scores, each chosen so the expected numbers can be worked out by hand
(tests/warehouse/test_prm_rules.py shows the arithmetic)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from rb_pipeline.core.lake import dataset_path, scores_dir, write_parquet
from rb_pipeline.core.schemas import SCORES_SCHEMA, STEP_SOLUTIONS_SCHEMA, STEPS_SCHEMA
from rb_pipeline.core.steps import steps_text
from rb_pipeline.sources.normalize import response_id
from tests.hand_made import example_row, response_row, write_dataset, write_run_row

PRM_CATALOG = {
    "hm-pb": {
        "benchmark": "hm-pb",
        "title": "hand-made ProcessBench shape",
        "kind": "steps",
        "local": [{"format": "processbench", "path": "unused.jsonl"}],
        "steps": {"rule": "processbench", "threshold_from": "pa"},
        "subsets": {"pa": {"expected_rows": 4}, "pb": {"expected_rows": 5}},
    },
    "hm-prm": {
        "benchmark": "hm-prm",
        "title": "hand-made PRMBench shape",
        "kind": "steps",
        "local": [{"format": "prmbench", "path": "unused.jsonl"}],
        "steps": {
            "rule": "prmbench",
            "threshold": 0.5,
            "groups": {"g1": ["c1", "c2"], "g2": ["ms"]},
            "f1_only": ["ms"],
            "outside_overall": ["clean"],
        },
        "subsets": {
            "c1": {"expected_rows": 2},
            "c2": {"expected_rows": 1},
            "ms": {"expected_rows": 1},
            "clean": {"expected_rows": 1},
        },
    },
}

# (benchmark, subset, example_id, label: ProcessBench's earliest wrong step or PRMBench's 1-based error
# steps, the PRM's step scores (None: the step's tag was cut))
PRM_SOLUTIONS: list[tuple[str, str, str, int | list[int], list[float | None]]] = [
    ("hm-pb", "pa", "s1", -1, [0.9, 0.8]),
    ("hm-pb", "pa", "s2", 1, [0.7, 0.3, 0.6]),
    ("hm-pb", "pa", "s3", 0, [0.4, 0.9]),
    ("hm-pb", "pa", "s4", -1, [0.6, 0.2]),
    ("hm-pb", "pb", "t1", 2, [0.5, 0.45, 0.1]),
    ("hm-pb", "pb", "t2", 2, [0.5, 0.35, 0.9]),
    ("hm-pb", "pb", "t3", -1, [0.95]),
    ("hm-pb", "pb", "t4", 0, [0.41, 0.2]),
    ("hm-pb", "pb", "t5", 1, [0.9, None]),
    ("hm-prm", "c1", "a", [2], [0.9, 0.7, 0.2]),
    ("hm-prm", "c1", "b", [1, 5], [0.4, 0.6, 0.5]),  # step 5 is past the end: ignored
    ("hm-prm", "c2", "d", [1], [0.9, 0.2]),
    ("hm-prm", "ms", "e", [], [0.8, 0.3]),
    ("hm-prm", "clean", "f", [], [0.9, 0.9]),
]


def step_rows(
    benchmark: str, subset: str, example_id: str, label: int | list[int], n_steps: int
) -> tuple[dict, list[dict], str]:
    """The `step_solutions` row, the `steps` rows and the response id of one hand-made solution."""
    steps = [f"step {i} of {example_id}" for i in range(n_steps)]
    prompt = [{"role": "user", "content": f"prompt {example_id}"}]
    rid = response_id(prompt, steps_text(steps))
    key = {"benchmark": benchmark, "subset": subset, "example_id": example_id, "response_id": rid}
    if isinstance(label, int):  # ProcessBench: only the earliest wrong step is known
        first_error, errors = label, None
        labels = [
            "correct" if label == -1 or i < label else "error" if i == label else None for i in range(n_steps)
        ]
    else:
        first_error = min((e - 1 for e in label if e <= n_steps), default=-1)
        errors = label
        labels = ["error" if i + 1 in label else "correct" for i in range(n_steps)]
    solution = key | {
        "n_steps": n_steps,
        "first_error": first_error,
        "error_steps": errors,
        "error_steps_past_end": sum(1 for e in errors or () if e > n_steps),
    }
    rows = [key | {"step": i, "text": steps[i], "label": labels[i]} for i in range(n_steps)]
    return solution, rows, rid


def write_prm_lake(model: str = "prm-1", run_id: str = "p1", drop: tuple[str, ...] = ()) -> None:
    """The hand-made step datasets and one complete PRM run scoring every solution but those in `drop`."""
    solutions, steps, scores = [], [], []
    for benchmark in PRM_CATALOG:
        examples, responses = [], []
        for bench, subset, example_id, label, step_scores in PRM_SOLUTIONS:
            if bench != benchmark:
                continue
            solution, rows, rid = step_rows(bench, subset, example_id, label, len(step_scores))
            solutions.append(solution)
            steps.extend(rows)
            examples.append(example_row(bench, subset, example_id))
            responses.append(response_row(bench, example_id, rid, 0, "steps", "chosen"))
            if example_id not in drop:
                present = [s for s in step_scores if s is not None]
                scores.append(
                    {
                        "model": model,
                        "run_id": run_id,
                        "settings_key": "k",
                        "response_id": rid,
                        "score": min(present),
                        "score_vector": step_scores,
                        "n_tokens": 1,
                        "truncated_tokens": 0,
                        "reused": False,
                    }
                )
        write_dataset(benchmark, examples, responses)
        write_parquet(
            pl.DataFrame([s for s in solutions if s["benchmark"] == benchmark], schema=STEP_SOLUTIONS_SCHEMA),
            dataset_path("step_solutions", benchmark),
        )
        write_parquet(
            pl.DataFrame([s for s in steps if s["benchmark"] == benchmark], schema=STEPS_SCHEMA),
            dataset_path("steps", benchmark),
        )
    write_parquet(
        pl.DataFrame(scores, schema=SCORES_SCHEMA), scores_dir(model, run_id) / "part-00000.parquet"
    )
    write_run_row(model, run_id, list(PRM_CATALOG), datetime(2026, 1, 1, tzinfo=UTC), model_type="prm")
