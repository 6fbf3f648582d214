"""The scoring engine: score each distinct response once per model revision and settings.

A scorer (registered by model type) turns token sequences into scores; the engine decides what to
score (skipping what the lake already holds for the same settings, also from runs that died),
batches by a token budget over length-sorted inputs, flushes shards as it goes (every `shard_rows`
rows or `flush_seconds`, whichever comes first), and records the run.

Each score is stored once per (model, settings key, response): in the folder of the run that computed
it. A later run with the same settings key (the model's revision is part of it) reuses it without a
copy; `sql/run_scores.sql` resolves each run's scores. One run at a time per (model, settings key)
(`run_lock`): a second one waits, then reuses. A run's record carries its host and pid, so a run whose
process died (kill -9, a lost node) is found and marked failed (`fail_dead_runs`).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Protocol

import polars as pl
from filelock import FileLock, Timeout
from tqdm import tqdm

from rb_pipeline.catalog import ModelEntry
from rb_pipeline.datasets import run_sources
from rb_pipeline.lake import (
    UnverifiedFile,
    publish_parquet,
    read_verified_parquet,
    run_path,
    scores_dir,
    set_aside,
    write_parquet,
)
from rb_pipeline.normalize import content_hash
from rb_pipeline.paths import REPO_ROOT, encode_model_id, lake_dir, rb_home
from rb_pipeline.storage import scan_parquet

JUDGE_TYPES = ("pairwise-judge", "generative")  # judged in pairs by rb_pipeline.judging, not scored
FLUSH_SECONDS = 30.0  # a shard is written at least this often, so a killed run loses little work
SCORES_SCHEMA = {
    "model": pl.String,
    "run_id": pl.String,
    "settings_key": pl.String,
    "response_id": pl.String,
    "score": pl.Float64,
    "score_vector": pl.List(pl.Float64),
    "n_tokens": pl.Int32,
    "truncated_tokens": pl.Int32,
    "reused": pl.Boolean,
}
RUNS_SCHEMA = {
    "run_id": pl.String,
    "model": pl.String,
    "model_revision": pl.String,
    "model_type": pl.String,
    "settings": pl.String,
    "settings_key": pl.String,
    "benchmarks": pl.List(pl.String),
    "device": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "status": pl.String,
    "provenance": pl.String,
    "n_responses": pl.Int64,
    "n_scored": pl.Int64,
    "n_reused": pl.Int64,
    "n_truncated": pl.Int64,
    "max_length": pl.Int64,  # the one used: the setting capped by the model's context
    "responses_per_s": pl.Float64,
    "tokens_per_s": pl.Float64,
    "padding_overhead": pl.Float64,
    "package_versions": pl.String,
    "git_hash": pl.String,
    "host": pl.String,  # where the run's process runs: with `pid`, how a dead run is told from a live one
    "pid": pl.Int64,
    # which data the run covered: per benchmark its source (mirror | hub@<repo>@<revision> | sample |
    # local) and examples (rb_pipeline.datasets.run_sources); imported runs leave them empty
    "data_sources": pl.List(pl.Struct({"benchmark": pl.String, "source": pl.String, "examples": pl.Int64})),
    "n_examples": pl.Int64,
    # responses continued from their example's cached prompt (scorers with shared prompts), and the
    # rest, scored as whole sequences; imported runs and runs before shared prompts leave them empty
    "n_prompt_shared": pl.Int64,
    "n_prompt_full": pl.Int64,
}
STOPPED = "interrupted"  # a run stopped from outside (SIGINT, SIGTERM); an error marks it `failed`


@dataclass(frozen=True)
class ScorerSettings:
    """What changes a score (all but batch sizes) plus how to batch."""

    dtype: str = "auto"
    max_length: int = 2048
    chat_template: str | None = None
    batch_size: int = 8  # upper bound on rows per batch
    token_budget: int = 16384  # upper bound on padded tokens per batch
    ref_free_type: str = "avg"  # dpo without a reference model: sum | avg | norm
    dpo_tokens: str = "rewardbench"  # dpo: which tokens are the response's (see scorers/dpo.py)
    # causal models: run each example's prompt once and continue its responses from the cached keys
    # and values; the scores are the full sequences' (to float rounding), so it is not in the key
    shared_prompts: bool = True

    def key(self, entry: ModelEntry) -> str:
        """Scores with the same key are interchangeable: batch sizes are not part of it.

        Call it on `effective_settings` (max_length capped by the model's context): settings that give
        the same effective length share scores, and a model whose limit is not below the setting keeps
        the key it always had."""
        return content_hash(
            entry.location,
            entry.revision,
            entry.type,
            entry.ref_model,
            self.dtype,
            self.max_length,
            self.chat_template,
            self.ref_free_type if entry.type == "dpo" and entry.ref_model is None else None,
            # `clean` keeps the key scores had before this setting existed, so they stay reusable
            *((self.dpo_tokens,) if entry.type == "dpo" and self.dpo_tokens != "clean" else ()),
        )


@dataclass
class Encoded:
    """One response ready for a model: token ids (after truncation) and how many were cut."""

    response_id: str
    input_ids: list[int]
    truncated_tokens: int
    extra: dict = field(default_factory=dict)  # scorer-specific (e.g. the prompt length for dpo)

    @property
    def prefix_length(self) -> int:
        """How many leading tokens are the example's prompt, shared with its other responses and run
        once for them all (`extra["prefix_length"]`, set by a scorer with shared prompts); 0: none."""
        return self.extra.get("prefix_length", 0)

    def group(self) -> object:
        """What this item is batched with: the responses sharing its prompt's tokens, else itself."""
        return tuple(self.input_ids[: self.prefix_length]) if self.prefix_length else self.response_id


class Scorer(Protocol):
    device: str

    def encode(self, prompts: list[list[dict[str, str]]], texts: list[str], ids: list[str]) -> list[Encoded]:
        """Tokenize (prompt, response) pairs."""

    def score(self, batch: list[Encoded]) -> list[tuple[float, list[float] | None]]:
        """Scalar score (and optional score vector) for each item of a batch."""


SCORERS: dict[str, Callable[[ModelEntry, ScorerSettings, str], Scorer]] = {}


def register_scorer(model_type: str) -> Callable:
    """Register a scorer class for a model type (`classifier`, `dpo`, ...)."""

    def decorator(cls: Callable) -> Callable:
        SCORERS[model_type] = cls
        return cls

    return decorator


def load_scorer(entry: ModelEntry, settings: ScorerSettings, device: str) -> Scorer:
    """Instantiate the registered scorer; load failures name the model and the reason in one line."""
    import rb_pipeline.scorers  # noqa: F401  (registers the built-in scorers)

    if entry.type not in SCORERS:
        raise ValueError(f"model {entry.id}: no scorer for type {entry.type!r} (known: {sorted(SCORERS)})")
    with load_errors(entry):
        return SCORERS[entry.type](entry, settings, device)


@contextmanager
def load_errors(entry: ModelEntry) -> Iterator[None]:
    """Turn a failure to read the model into one line naming the model and the reason."""
    try:
        yield
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RuntimeError(
            f"model {entry.id}: cannot load from {entry.location}: {reason} "
            "(check its config.json, weights and tokenizer files, or its Hub id and revision)"
        ) from exc


def effective_settings(entry: ModelEntry, settings: ScorerSettings) -> ScorerSettings:
    """`settings` with max_length capped by the model's own context (`scorers.context.capped_settings`);
    a model whose config asks for custom code its entry does not allow is refused here."""
    from rb_pipeline.scorers.context import capped_settings

    with load_errors(entry):
        return capped_settings(entry, settings)


def data_parallel() -> tuple[int, int]:
    """(rank, world size) in an initialized torch.distributed group (torchrun), else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shared(value: object) -> object:
    """Rank 0's `value` on every rank (identity outside a distributed group)."""
    import torch.distributed as dist

    if data_parallel()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _gathered(value: object) -> list:
    """Every rank's `value`, in rank order (after a barrier: every rank got here)."""
    import torch.distributed as dist

    if data_parallel()[1] == 1:
        return [value]
    values: list = [None] * data_parallel()[1]
    dist.all_gather_object(values, value)
    return values


def default_device() -> str:
    """`cuda` when a GPU is present, else `cpu`."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def token_batches(items: list[Encoded], batch_size: int, token_budget: int) -> Iterator[list[Encoded]]:
    """Longest first; each batch holds at most `batch_size` rows and `token_budget` padded tokens.
    Responses sharing a prompt (`Encoded.group`) are kept next to each other, so the prompt runs once
    per batch: groups are ordered by their longest member."""
    longest: dict[object, int] = {}
    for item in items:
        longest[item.group()] = max(longest.get(item.group(), 0), len(item.input_ids))
    rank = {group: index for index, group in enumerate(longest)}
    ordered = sorted(
        items, key=lambda item: (-longest[item.group()], rank[item.group()], -len(item.input_ids))
    )
    batch: list[Encoded] = []
    for item in ordered:
        longest = len(batch[0].input_ids) if batch else len(item.input_ids)
        if batch and (len(batch) >= batch_size or longest * (len(batch) + 1) > token_budget):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


# ---------------------------------------------------------------- provenance


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a score."""
    names = ("rb-pipeline", "torch", "transformers", "tokenizers", "polars", "duckdb", "dagster")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions["python"] = platform.python_version()
    return versions


def git_hash() -> str:
    """The repository's commit, or 'unknown' outside a checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def new_run_id() -> str:
    """Sortable by start time, unique across processes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def write_run(record: dict) -> None:
    """Write (or rewrite) one run's row; a column it does not give is empty (an imported run has no
    device, a baseline no max_length), a column RUNS_SCHEMA does not know is an error."""
    unknown = sorted(set(record) - set(RUNS_SCHEMA))
    if unknown:
        raise KeyError(f"run record: unknown columns {unknown} (RUNS_SCHEMA)")
    write_parquet(pl.DataFrame([record], schema=RUNS_SCHEMA), run_path(record["run_id"]))


def running_record(
    run_id: str, entry: ModelEntry, settings: dict, settings_key: str, benchmarks: list[str], device: str
) -> dict:
    """A computed run's row as it starts (status `running`), with its provenance."""
    return {
        "run_id": run_id,
        "model": entry.id,
        "model_revision": entry.revision,
        "model_type": entry.type,
        "settings": json.dumps(settings, sort_keys=True),
        "settings_key": settings_key,
        "benchmarks": sorted(benchmarks),
        "device": device,
        "started_at": datetime.now(UTC),
        "ended_at": None,
        "status": "running",
        "provenance": "computed",
        "package_versions": json.dumps(package_versions(), sort_keys=True),
        "git_hash": git_hash(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        **run_sources(benchmarks),
    }


def ended_record(record: dict, error: BaseException) -> dict:
    """A run's row once an exception ended it: `interrupted` when stopped from outside (a signal
    raises KeyboardInterrupt, or Dagster's DagsterExecutionInterruptedError), else `failed`."""
    status = "failed" if isinstance(error, Exception) else STOPPED
    return record | {"status": status, "ended_at": datetime.now(UTC)}


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def fail_dead_runs(log: Callable[[str], None] = print) -> list[str]:
    """Mark `failed` every run still `running` whose process, on this host, is gone; return their ids.
    (Runs of other hosts are left alone: their pids mean nothing here.)"""
    files = sorted(lake_dir("runs").glob("*.parquet"))
    if not files:
        return []
    running = scan_parquet(files, RUNS_SCHEMA).filter(
        (pl.col("status") == "running") & (pl.col("host") == socket.gethostname())
    )
    dead = [row for row in running.collect().iter_rows(named=True) if not process_alive(row["pid"])]
    for row in dead:
        write_run(row | {"status": "failed", "ended_at": datetime.now(UTC)})
        log(f"run {row['run_id']} of {row['model']}: its process {row['pid']} is gone; marked failed")
    return [row["run_id"] for row in dead]


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


# ---------------------------------------------------------------- the run


def reusable_scores(model_id: str, settings_key: str, log: Callable[[str], None] = print) -> pl.DataFrame:
    """Every score already in the lake for this model and settings, from any run (also dead ones), one
    per response. A file whose bytes no longer match the hash in its name is not reused: it is set
    aside (out of every view) and its responses are scored again."""
    found = []
    for path in sorted(scores_dir(model_id).glob("run=*/*.parquet")):
        try:
            frame = read_verified_parquet(path)
        except UnverifiedFile:
            moved = set_aside(path)
            log(
                f"{model_id}: not reusing {path.name}: its content hash differs from the one recorded"
                f" when it was written (set aside as {moved.name}); its responses are scored again"
            )
            continue
        found.append(frame.filter(pl.col("settings_key") == settings_key))
    if not found:
        return pl.DataFrame(schema=SCORES_SCHEMA)
    # an original before a copy (lakes before one-score-per-response held copies, `reused`)
    scores = pl.concat(found, how="diagonal_relaxed").sort("reused", maintain_order=True)
    return scores.unique("response_id", keep="first", maintain_order=True).cast(SCORES_SCHEMA)


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


def score_model(
    entry: ModelEntry,
    responses: pl.DataFrame,
    prompts: pl.DataFrame,
    settings: ScorerSettings,
    benchmarks: list[str],
    device: str | None = None,
    run_id: str | None = None,
    shard_rows: int = 2048,
    log: Callable[[str], None] = print,
    flush_seconds: float = FLUSH_SECONDS,
) -> RunResult:
    """Score every distinct response of `responses` (joined to `prompts` on benchmark+example_id)
    with one model; write the scores it computes under `lake/scores/model=.../run=...` (reused scores
    stay where they are). Judges (pairwise-judge, generative) write judgments instead: see
    `rb_pipeline.judging`."""
    if entry.type in JUDGE_TYPES:
        from rb_pipeline.judging import judge_model

        return judge_model(
            entry, responses, prompts, settings, benchmarks, device, run_id, shard_rows=shard_rows, log=log
        )
    device = device or default_device()
    # Data parallel (torchrun): every rank takes a share of what is new; rank 0 keeps the run's record.
    rank, world = data_parallel()
    run_id = str(_shared(run_id or new_run_id()))
    requested, settings = settings, effective_settings(entry, settings)
    settings_key = settings.key(entry)
    device_label = device if world == 1 else f"{device} x{world} (data parallel)"
    record = running_record(run_id, entry, asdict(requested), settings_key, benchmarks, device_label)
    if rank == 0:
        fail_dead_runs(log)
        write_run(record)
    try:
        with run_lock(entry.id, settings_key, log) if rank == 0 else nullcontext():
            distinct = (
                responses.join(
                    prompts.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
                )
                .unique("response_id", keep="first", maintain_order=True)
                .select("response_id", "prompt", "text")
            )
            # rank 0 reads (and verifies) the lake, under the lock; the other ranks get its answer
            stored = _shared(reusable_scores(entry.id, settings_key, log) if rank == 0 else None)
            reused = stored.join(distinct.select("response_id"), on="response_id", how="semi")
            todo = distinct.join(reused.select("response_id"), on="response_id", how="anti")
            log(
                f"{entry.id}: {distinct.height} distinct responses, {reused.height} reused,"
                f" {todo.height} to score"
            )
            share = data_parallel_share(todo, rank, world)
            flush = Flush(shard_rows, flush_seconds)
            stats = _combine(
                _gathered(
                    _score_todo(entry, settings, device, share, run_id, settings_key, flush, rank, world)
                    if share.height
                    else {}
                )
            )
            result = RunResult(
                run_id=run_id,
                n_responses=distinct.height,
                n_scored=todo.height,
                n_reused=reused.height,
                n_truncated=stats.get("n_truncated", 0) + int((reused["truncated_tokens"] > 0).sum()),
                responses_per_s=stats.get("responses_per_s", 0.0),
                tokens_per_s=stats.get("tokens_per_s", 0.0),
                padding_overhead=stats.get("padding_overhead", 0.0),
                device=record["device"],
                max_length=settings.max_length,
                n_prompt_shared=stats.get("n_prompt_shared", 0),
                n_prompt_full=stats.get("n_prompt_full", 0),
            )
            log(f"{entry.id}: max_length {settings.max_length}, {result.n_truncated} responses truncated")
            if rank == 0:
                write_complete_run(record, result)
    except BaseException as error:
        write_run(ended_record(record, error))
        raise
    return result


def data_parallel_share(todo: pl.DataFrame, rank: int, world: int) -> pl.DataFrame:
    """Rank `rank`'s share of `todo`: every `world`-th response by text length, so shares balance."""
    if world == 1:
        return todo
    by_length = todo.sort(pl.col("text").str.len_chars(), "response_id", descending=[True, False])
    return by_length.gather_every(world, offset=rank)


def _combine(parts: list[dict]) -> dict:
    """One run's numbers from each rank's: counts add up, rates are over the slowest rank's time."""
    parts = [part for part in parts if part]
    if not parts:
        return {}
    elapsed = max(part["elapsed_s"] for part in parts)
    real = sum(part["real_tokens"] for part in parts)
    return {
        **{
            count: sum(part.get(count, 0) for part in parts)
            for count in ("n_truncated", "n_prompt_shared", "n_prompt_full")
        },
        "responses_per_s": sum(part["n_scored"] for part in parts) / elapsed,
        "tokens_per_s": real / elapsed,
        "padding_overhead": sum(part["padded_tokens"] for part in parts) / max(real, 1) - 1.0,
    }


def _score_todo(
    entry: ModelEntry,
    settings: ScorerSettings,
    device: str,
    todo: pl.DataFrame,
    run_id: str,
    settings_key: str,
    flush_when: Flush,
    rank: int = 0,
    world: int = 1,
) -> dict:
    scorer = load_scorer(entry, settings, device)
    encoded = scorer.encode(todo["prompt"].to_list(), todo["text"].to_list(), todo["response_id"].to_list())
    real_tokens = sum(len(item.input_ids) for item in encoded)
    padded_tokens = 0
    pending: list[dict] = []
    shard = 0
    out_dir = scores_dir(entry.id, run_id)
    prefix = "part" if world == 1 else f"part-rank{rank:02d}"

    def flush() -> None:
        nonlocal shard, pending
        if pending:
            publish_parquet(pl.DataFrame(pending, schema=SCORES_SCHEMA), out_dir, f"{prefix}-{shard:05d}")
            shard += 1
            pending = []
        flush_when.done()

    start = time.perf_counter()
    done_tokens = 0
    desc = f"scoring {entry.id}" + (f" [rank {rank}/{world}]" if world > 1 else "")
    flush_when.done()
    # whatever ends the loop (an error, a signal), what was scored is flushed: the next run reuses it
    with tqdm(total=len(encoded), desc=desc, unit="resp", mininterval=1.0) as bar:
        try:
            for batch in token_batches(encoded, settings.batch_size, settings.token_budget):
                padded_tokens += len(batch) * max(len(item.input_ids) for item in batch)
                for item, (score, vector) in zip(batch, scorer.score(batch), strict=True):
                    pending.append(
                        {
                            "model": entry.id,
                            "run_id": run_id,
                            "settings_key": settings_key,
                            "response_id": item.response_id,
                            "score": score,
                            "score_vector": vector,
                            "n_tokens": len(item.input_ids),
                            "truncated_tokens": item.truncated_tokens,
                            "reused": False,
                        }
                    )
                bar.update(len(batch))
                done_tokens += sum(len(item.input_ids) for item in batch)
                bar.set_postfix(
                    tok_s=f"{done_tokens / max(time.perf_counter() - start, 1e-9):.0f}", refresh=False
                )
                if flush_when.due(len(pending)):
                    flush()
        finally:
            flush()
    return {
        "n_scored": len(encoded),
        "n_truncated": sum(1 for item in encoded if item.truncated_tokens > 0),
        "n_prompt_shared": sum(1 for item in encoded if item.prefix_length),
        "n_prompt_full": sum(1 for item in encoded if not item.prefix_length),
        "elapsed_s": max(time.perf_counter() - start, 1e-9),
        "real_tokens": real_tokens,
        "padded_tokens": padded_tokens,
    }
