"""The `rewardbench` CLI's metrics: `results/<org>/<model>.json`, {accuracy, num_prompts, model,
ref_model, tokenizer, chat_template, extra_results: {subset: accuracy} | null}."""

from __future__ import annotations

from pathlib import Path

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.sources.results.importer import (
    ResultFileError,
    _is_number,
    _listing,
    _parse_metrics,
    _Parsed,
    register_result_format,
)


def _reads(path: Path, document: object) -> tuple[dict, dict] | None:
    if isinstance(document, dict) and "extra_results" in document and "num_prompts" in document:
        return document, {}
    return None


@register_result_format(
    "rewardbench-cli-metrics",
    "the rewardbench CLI's results JSON (accuracy, num_prompts, extra_results)",
    _reads,
)
def _parse_cli_metrics(parsed: _Parsed, body: dict, benchmarks: dict[str, Benchmark]) -> None:
    path = parsed.path
    extra = body.get("extra_results")
    if not isinstance(extra, dict) or not extra:
        raise ResultFileError(
            f"{path}: the rewardbench CLI's results hold no per-subset accuracies (`extra_results` is "
            f"{extra!r}: a run on a custom dataset); nothing can be mapped to a catalog benchmark"
        )
    bad = sorted(key for key, value in extra.items() if not _is_number(value))
    if bad:
        raise ResultFileError(f"{path}: extra_results: non-numeric accuracy for {_listing(bad)}")
    _parse_metrics(parsed, extra, benchmarks)
