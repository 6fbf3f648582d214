"""rewardbench per-subset metrics: `eval-set/<org>/<model>.json` (and `pref-sets/...`), a JSON object
{subset: accuracy, ..., model, model_type, chat_template} written by `scripts/run_rm.py`."""

from __future__ import annotations

from pathlib import Path

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.sources.results.importer import (
    METADATA_KEYS,
    _is_number,
    _number,
    _parse_metrics,
    _Parsed,
    register_result_format,
)


def _reads(path: Path, document: object) -> tuple[dict, dict] | None:
    if not isinstance(document, dict):
        return None
    values = [value for key, value in document.items() if key not in METADATA_KEYS]  # accuracies
    plain = all(_is_number(v) or v is None or isinstance(v, str) for v in values)
    if plain and any(_number(v) is not None for v in values):
        return document, {}
    return None


@register_result_format(
    "rewardbench-metrics", "a rewardbench metrics JSON ({subset: accuracy, model, ...})", _reads
)
def _parse_rewardbench_metrics(parsed: _Parsed, body: dict, benchmarks: dict[str, Benchmark]) -> None:
    numbers = {key: _number(value) for key, value in body.items() if key not in METADATA_KEYS}
    accuracies = {key: number for key, number in numbers.items() if number is not None}
    _parse_metrics(parsed, accuracies, benchmarks)
