"""RMB result files (`my_run_rm.py`): a JSON list of {pair_uid, category_path, chosen_reward,
reject_reward, is_correct}; `category_path` starts with the set folder (`Pairwise_set/`, `BoN_set/`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.sources.results.importer import (
    Credit,
    ResultFileError,
    Score,
    _add_outcome,
    _aggregate_outcomes,
    _Parsed,
    _rows,
    _validated,
    register_result_format,
)
from rb_pipeline.sources.rows import Id, SourceRow, Text


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is blank")
    return value


class RMBResultRow(SourceRow):
    """A row of RMB's `my_run_rm.py` output."""

    category_path: Annotated[Text, AfterValidator(_not_blank)]
    pair_uid: Id | None = None
    bon_uid: Id | None = None
    is_correct: Credit
    chosen_reward: Score = None
    reject_reward: Score = None


def _reads(path: Path, document: object) -> tuple[list[dict], dict] | None:
    rows = _rows(document)
    return (rows, {}) if rows and {"category_path", "is_correct"} <= rows[0].keys() else None


def _set_benchmarks(benchmarks: dict[str, Benchmark]) -> dict[str, str]:
    """RMB set folder (`Pairwise_set`, `BoN_set`) -> the catalog benchmark that reads it."""
    owners: dict[str, str] = {}
    for bench in benchmarks.values():
        for source in bench.local:
            if source.tree:
                owners.setdefault(Path(source.path).name, bench.benchmark)
    return owners


@register_result_format(
    "rmb-results", "an RMB result file ([{pair_uid, category_path, ..., is_correct}])", _reads
)
def _parse_rmb_rows(parsed: _Parsed, rows: list[dict], benchmarks: dict[str, Benchmark]) -> None:
    """RMB's `my_run_rm.py` output; the set comes from `category_path` (else the file's path)."""
    owners = _set_benchmarks(benchmarks)
    path_sets = [part for part in parsed.path.parts if part in owners]
    default_set = path_sets[-1] if path_sets else "Pairwise_set"  # RMB's result script is pairwise
    unknown: Counter[str] = Counter()
    seen: dict[tuple[str, str], int] = {}
    for number, record in enumerate(rows):
        row = _validated(parsed, number, RMBResultRow, record)
        example_id = row.pair_uid if row.pair_uid is not None else row.bon_uid
        if example_id is None:
            raise ResultFileError(f"{parsed.path}: row {number}: missing field 'pair_uid' (or 'bon_uid')")
        category = row.category_path.strip("/")
        head, _, rest = category.partition("/")
        set_name, subset = (head, rest) if head in owners else (default_set, category)
        if set_name not in owners:
            raise ResultFileError(f"{parsed.path}: row {number}: no catalog benchmark reads RMB's {set_name}")
        bench_name = owners[set_name]
        if subset not in benchmarks[bench_name].all_subsets:
            unknown[f"{bench_name}:{subset}"] += 1
            continue
        chosen, rejected = row.chosen_reward, row.reject_reward
        _add_outcome(
            parsed, number, bench_name, subset, str(example_id), row.is_correct, chosen, rejected, seen
        )
    parsed.unknown.update(unknown)
    _aggregate_outcomes(parsed, benchmarks)
