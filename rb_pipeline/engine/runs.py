"""What the scoring and judging engines share about a run: what it is asked (`RunRequest`), its life-cycle
(`recorded_run`: its record, one run at a time per (model, settings key), its end), its result, when to
flush a shard, the default device."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import polars as pl
from filelock import FileLock, Timeout

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.paths import encode_model_id, rb_home
from rb_pipeline.core.runs import ended_record, fail_dead_runs, run_record, write_run
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.sources.datasets import run_sources

FLUSH_SECONDS = 30.0  # a shard is written at least this often, so a killed run loses little work


NOTHING_COMPUTED = "none (everything reused)"  # the device of a run that loaded no model
WHEN_NEEDED = "auto"  # the device of a run under way whose device is decided when a model is loaded


def default_device() -> str:
    """`cuda` when a GPU is present, else `cpu`."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextmanager
def run_lock(model_id: str, settings_key: str, log: Callable[[str], None] = print) -> Iterator[None]:
    """One run at a time per (model, settings key), across processes of this host: a second run waits,
    then reuses what the first stored. The lock is a local file (`$RB_HOME/locks/`): the kernel frees
    it when its process dies, even by kill -9."""
    path = rb_home() / "locks" / f"{encode_model_id(model_id)}.{settings_key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"{model_id}: another run with the same settings is in progress; waiting for it")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def write_complete_run(record: dict, result: RunResult) -> None:
    """Rewrite a run's row as complete, with its counts and speeds, and the device it ran on (decided
    only when there was something to compute)."""
    counts = asdict(result)
    del counts["run_id"]
    write_run(record | {"status": "complete", "ended_at": datetime.now(UTC)} | counts)


@dataclass
class RunResult:
    run_id: str
    n_responses: int
    n_scored: int
    n_reused: int
    n_truncated: int
    responses_per_s: float
    tokens_per_s: float
    padding_overhead: float
    device: str
    max_length: int | None = None  # the one used (capped by the model's context)
    n_prompt_shared: int = 0  # scored from their prompt's cached keys and values
    n_prompt_full: int = 0  # scored as whole sequences

    def as_metadata(self) -> dict:
        """Flat numbers for Dagster metadata."""
        return asdict(self)


@dataclass
class Flush:
    """When to write a shard: every `rows` rows or `seconds` seconds, whichever comes first."""

    rows: int = 2048
    seconds: float = FLUSH_SECONDS
    last: float = field(default_factory=time.monotonic)

    def due(self, pending: int) -> bool:
        return pending >= self.rows or (pending > 0 and time.monotonic() - self.last >= self.seconds)

    def done(self) -> None:
        self.last = time.monotonic()


def running_record(
    run_id: str,
    entry: ModelEntry,
    settings: dict,
    settings_key: str,
    benchmarks: list[str],
    device: str,
    provenance: str = "computed",
) -> dict:
    """A computed run's row as it starts (status `running`), with the data it covers; `provenance`
    `audit` for the invariance audit's runs (never a model's latest run: sql/runs_history.sql)."""
    return run_record(
        run_id,
        entry.id,
        settings,
        settings_key,
        benchmarks,
        provenance=provenance,
        model_revision=entry.revision,
        model_type=entry.type,
        device=device,
        **run_sources(benchmarks),
    )


@dataclass(frozen=True)
class RunRequest:
    """One run of one model, scoring or judging (`engine.scoring.score_model` builds it): score every
    response of `responses` (joined to `prompts` on benchmark+example_id) with these settings."""

    entry: ModelEntry
    responses: pl.DataFrame
    prompts: pl.DataFrame
    settings: ScorerSettings
    benchmarks: list[str]
    device: str | None  # None: cuda when present, else cpu, decided (importing torch) only to compute
    run_id: str
    shard_rows: int = 2048  # rows per shard written
    log: Callable[[str], None] = print
    flush_seconds: float = FLUSH_SECONDS
    provenance: str = "computed"  # `audit`: engine/audit.py's runs, never a model's latest


@dataclass
class Run:
    """A run under way: its record; the body sets `result`, which `recorded_run` writes as complete."""

    record: dict
    result: RunResult | None = None


@contextmanager
def recorded_run(
    request: RunRequest, settings: dict, settings_key: str, device: str, leader: bool = True
) -> Iterator[Run]:
    """The life-cycle of a run, the same for scoring and judging: the leader (rank 0, or the only
    process) marks runs whose process died as failed and writes this run's row as `running`, then holds
    the (model, settings key) lock while the body runs; the row becomes complete with the body's
    `result`, or failed with the error when anything (an error, a signal) ends it early."""
    record = running_record(
        request.run_id, request.entry, settings, settings_key, request.benchmarks, device, request.provenance
    )
    run = Run(record)
    if leader:
        fail_dead_runs(request.log)
        write_run(record)
    try:
        with run_lock(request.entry.id, settings_key, request.log) if leader else nullcontext():
            yield run
            if leader and run.result is not None:
                write_complete_run(record, run.result)
    except BaseException as error:
        write_run(ended_record(record, error))
        raise
