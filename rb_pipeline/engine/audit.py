"""The invariance audit: score (or judge) a sample of each benchmark under settings that should not
change an outcome (batch size, padding side, dtype, attention kernel), each as a run of its own, so the
comparison views (reproduction_diff, flips) say what flipped against the baseline run
(`warehouse.answers.audit_report`).

One setting changes at a time from the baseline (the first value of each in `AUDITED`): a full grid
would be 3 x 2 x 2 x 2 = 24 runs, and a flip would not say which setting caused it. Every audit run
that varies the batch size keys its scores by it too (`ScorerSettings.keyed_batches`), so each batch
size is scored rather than reused; ordinary runs keep reusing scores whatever their batch size. The
token budget is the batch size times max_length, so the batch size, not the budget, decides what
shares a batch.

Only the settings that reach the model are varied (`audited_values`): not those its kind never reads
(`core.kinds` `unread_settings`: dpo, prm and generative judges pad on the side their reading needs,
so `padding_side` changes nothing there), and none for a judge behind a server (`api_base`: dtype,
kernel and padding are the server's; the batch size only sets how many requests are in flight) or an
ensemble (each member runs with its own catalog settings, `engine.judging.judge_plans`). Their audit is
the baseline run alone. Judges (local or not) are also checked for answer order: every judge run
judges each pair in both orders (engine/judging.py), and `warehouse.answers.audit_orders` lists, per
audited run and subset, the examples whose verdicts differ between the two (position flips).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import polars as pl

from rb_pipeline.catalog.entries import Benchmark, ModelEntry
from rb_pipeline.core.kinds import model_kind
from rb_pipeline.core.settings import ScorerSettings, settings_for
from rb_pipeline.engine.evaluation import scorable_rows
from rb_pipeline.engine.scoring import score_model

# setting -> its values; the first is the baseline's
AUDITED: dict[str, tuple[object, ...]] = {
    "batch_size": (8, 1, 64),
    "padding_side": ("right", "left"),
    "dtype": ("float32", "bfloat16"),
    "attn_implementation": ("eager", "sdpa"),
}
BASELINE = "baseline"
AUDIT = "audit"  # the runs' provenance: never a model's latest run (sql/runs_history.sql)
DEFAULT_SAMPLE = 50  # examples per benchmark


def audited_values(entry: ModelEntry) -> dict[str, tuple[object, ...]]:
    """The part of `AUDITED` that reaches this model (the module docstring says why the rest does not):
    none for a judge behind a server or an ensemble, else all but its kind's unread settings."""
    if entry.api_base or entry.judges:
        return {}
    unread = model_kind(entry.type).unread_settings
    return {name: values for name, values in AUDITED.items() if name not in unread}


def audit_settings(entry: ModelEntry) -> dict[str, ScorerSettings]:
    """{label: settings}: the baseline, then one per other value of each audited setting
    (`batch_size=64`), over the model entry's own settings (max_length, chat template, ...)."""
    values = audited_values(entry)
    base = settings_for(entry, **{name: options[0] for name, options in values.items()})
    changes = {BASELINE: {}} | {
        f"{name}={value}": {name: value} for name, options in values.items() for value in options[1:]
    }
    audited = {}
    for label, change in changes.items():
        settings = replace(base, keyed_batches="batch_size" in values, **change)
        audited[label] = replace(settings, token_budget=settings.batch_size * settings.max_length)
    return audited


def sample_examples(
    examples: pl.DataFrame, responses: pl.DataFrame, n: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` examples of each benchmark (all where it has fewer) and their responses: the first by the
    sha256 of their id, so every audit of a benchmark draws the same ones, across its subsets."""
    drawn = (
        examples.with_columns(
            pl.col("example_id")
            .map_elements(lambda text: hashlib.sha256(text.encode()).hexdigest(), return_dtype=pl.String)
            .alias("draw")
        )
        .sort("benchmark", "draw")
        .group_by("benchmark", maintain_order=True)
        .head(n)
        .drop("draw")
    )
    keys = ["benchmark", "example_id"]
    return drawn, responses.join(drawn.select(keys), on=keys, how="semi")


def audit_model(
    entry: ModelEntry,
    benchmarks: dict[str, Benchmark],
    sample: int,
    device: str,
    log: Callable[[str], None] = print,
) -> dict[str, str]:
    """Score (a judge: judge, in both answer orders) `sample` examples of each benchmark the model can
    score under every audited setting, one run each; returns {label: run id} (`audit_settings`'s labels,
    the baseline first)."""
    chosen, _, responses, examples = scorable_rows(entry, benchmarks, log)
    examples, responses = sample_examples(examples, responses, sample)
    return audit_rows(entry, examples, responses, chosen, device, log)


def audit_rows(
    entry: ModelEntry,
    examples: pl.DataFrame,
    responses: pl.DataFrame,
    benchmarks: list[str],
    device: str,
    log: Callable[[str], None] = print,
) -> dict[str, str]:
    """One run per audited setting over these rows (a judge's through `score_model` too, which hands
    it to the judging engine with the same provenance); {label: run id}."""
    runs = {}
    for label, settings in audit_settings(entry).items():
        log(f"{entry.id}: audit {label}")
        run = score_model(entry, responses, examples, settings, benchmarks, device, log=log, provenance=AUDIT)
        runs[label] = run.run_id
    return runs
