"""What the scoring and judging engines share about a run: its result, its record as it starts, one run
at a time per (model, settings key), when to flush a shard, the default device."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from filelock import FileLock, Timeout

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.paths import encode_model_id, rb_home
from rb_pipeline.core.runs import run_record, write_run
from rb_pipeline.sources.datasets import run_sources

FLUSH_SECONDS = 30.0  # a shard is written at least this often, so a killed run loses little work


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
    """Rewrite a run's row as complete, with its counts and speeds."""
    counts = asdict(result)
    del counts["run_id"], counts["device"]
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
