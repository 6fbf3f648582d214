"""rewardbench per-example scores: `eval-set-scores/<org>/<model>.json` (a column-wise object {id: [...],
subset: [...], results: [...], scores_chosen: [...], scores_rejected: [...], model, ...}), a list of such
rows, or the CLI's `<model>_outputs.jsonl` (one row per line). RewardBench 2's files list all answers'
`scores`, the `num_correct` correct ones first."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, StrictInt

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.sources.results.importer import (
    Credit,
    ResultFileError,
    Score,
    _add_outcome,
    _aggregate_outcomes,
    _benchmark_of,
    _Parsed,
    _rows,
    _subset_index,
    _unwrapped,
    _validated,
    register_result_format,
)
from rb_pipeline.sources.rows import Id, SourceRow, Text, count_between

# Benchmarks whose example ids are built from the row's subset and id (sources.formats.rewardbench2: ids
# repeat across RewardBench 2's subsets), keyed by the catalog's Hub format.
EXAMPLE_ID_SCHEMES = {"rewardbench-2": "{subset}/{id}"}

# One of RewardBench 2's `scores`: a number, or one wrapped in a one-element list ([0.3])
WrappedNumber = Annotated[float, BeforeValidator(_unwrapped)]


class RewardBenchScoreRow(SourceRow):
    """A row of rewardbench's per-example scores (v1: scores_chosen / scores_rejected; v2: `scores`
    lists the `num_correct` correct answers first, as load_bon_dataset_v2 orders them)."""

    id: Id
    subset: Text
    results: Credit | None = None  # None only where the warehouse scores the subset (rb2-ties)
    scores_chosen: Score = None
    scores_rejected: Score = None
    scores: Annotated[list[WrappedNumber], count_between(1, items="scores")] | None = None
    num_correct: StrictInt | None = None


def _standing(parsed: _Parsed, number: int, row: RewardBenchScoreRow) -> tuple[float, float | None]:
    """(margin, chosen_spread) of a RewardBench 2 row: margin = worst correct - best incorrect."""
    scores, correct = row.scores, row.num_correct if row.num_correct is not None else 1
    if not 0 < correct < len(scores):
        raise ResultFileError(
            f"{parsed.path}: row {number}: num_correct {row.num_correct!r} does not fit {len(scores)} scores"
        )
    chosen, rejected = scores[:correct], scores[correct:]
    spread = max(chosen) - min(chosen) if correct > 1 else None
    return float(min(chosen) - max(rejected)), spread


def _columns_to_rows(path: Path, document: dict) -> tuple[list[dict], dict]:
    """A column-wise object ({column: [values]} plus scalar metadata) as rows and metadata."""
    columns = {key: value for key, value in document.items() if isinstance(value, list)}
    lengths = {len(value) for value in columns.values()}
    if len(lengths) != 1:
        detail = ", ".join(f"{key}: {len(value)}" for key, value in columns.items())
        raise ResultFileError(f"{path}: column lists have different lengths ({detail})")
    (length,) = lengths
    rows = [{key: value[index] for key, value in columns.items()} for index in range(length)]
    metadata = {key: value for key, value in document.items() if key not in columns}
    return rows, metadata


def _reads(path: Path, document: object) -> tuple[list[dict], dict] | None:
    if isinstance(document, dict):
        if isinstance(document.get("results"), list) and isinstance(document.get("subset"), list):
            return _columns_to_rows(path, document)
        return None
    rows = _rows(document)
    return (rows, {}) if rows and {"subset", "results"} <= rows[0].keys() else None


@register_result_format(
    "rewardbench-scores",
    "rewardbench per-example scores (id, subset, results, scores_chosen, scores_rejected)",
    _reads,
)
def _parse_rewardbench_rows(parsed: _Parsed, rows: list[dict], benchmarks: dict[str, Benchmark]) -> None:
    index = _subset_index(benchmarks)
    unknown: Counter[str] = Counter()
    seen: dict[tuple[str, str], int] = {}
    for number, record in enumerate(rows):
        row = _validated(parsed, number, RewardBenchScoreRow, record)
        subset = row.subset
        bench_name = _benchmark_of(parsed.path, subset, index)
        if bench_name is None:
            unknown[subset] += 1
            continue
        bench = benchmarks[bench_name]
        from_scores = bench.rule_of(subset) == "rb2-ties"  # upstream writes no per-row result there
        if row.results is None and not from_scores:
            raise ResultFileError(f"{parsed.path}: row {number}: missing field 'results'")
        result = None if from_scores else row.results
        margin = spread = None
        if row.scores is not None:  # RewardBench 2: all answers' scores, correct first
            margin, spread = _standing(parsed, number, row)
        elif from_scores:
            raise ResultFileError(f"{parsed.path}: row {number}: a {subset} row needs `scores`")
        scheme = EXAMPLE_ID_SCHEMES.get(bench.hub.format if bench.hub else "", "{id}")
        example_id = scheme.format(subset=subset, id=row.id)
        chosen, rejected = row.scores_chosen, row.scores_rejected
        _add_outcome(
            parsed, number, bench_name, subset, example_id, result, chosen, rejected, seen, margin, spread
        )
    parsed.unknown.update(unknown)
    _aggregate_outcomes(parsed, benchmarks)
