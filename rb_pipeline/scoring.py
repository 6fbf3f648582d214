"""The scoring engine: score each distinct response once per model revision and settings.

A scorer (registered by model type) turns token sequences into scores; the engine decides what to
score (skipping what the lake already holds for the same settings, also from runs that died),
batches by a token budget over length-sorted inputs, flushes shards as it goes, and records the run.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Protocol

import polars as pl
from tqdm import tqdm

from rb_pipeline.catalog import ModelEntry
from rb_pipeline.datasets import run_sources
from rb_pipeline.lake import run_path, scores_dir, write_parquet
from rb_pipeline.normalize import content_hash
from rb_pipeline.paths import REPO_ROOT
from rb_pipeline.storage import scan_parquet

JUDGE_TYPES = ("pairwise-judge", "generative")  # judged in pairs by rb_pipeline.judging, not scored
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
    "responses_per_s": pl.Float64,
    "tokens_per_s": pl.Float64,
    "padding_overhead": pl.Float64,
    "package_versions": pl.String,
    "git_hash": pl.String,
    # which data the run covered: per benchmark its source (mirror | hub@<repo>@<revision> | sample |
    # local) and examples (rb_pipeline.datasets.run_sources); imported runs leave them empty
    "data_sources": pl.List(pl.Struct({"benchmark": pl.String, "source": pl.String, "examples": pl.Int64})),
    "n_examples": pl.Int64,
}


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

    def key(self, entry: ModelEntry) -> str:
        """Scores with the same key are interchangeable: batch sizes are not part of it."""
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
    try:
        return SCORERS[entry.type](entry, settings, device)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RuntimeError(
            f"model {entry.id}: cannot load from {entry.location}: {reason} "
            "(check its config.json, weights and tokenizer files, or its Hub id and revision)"
        ) from exc


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
    """Longest first; each batch holds at most `batch_size` rows and `token_budget` padded tokens."""
    ordered = sorted(items, key=lambda item: len(item.input_ids), reverse=True)
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
    """Write (or rewrite) one run's row."""
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
        **run_sources(benchmarks),
    }


def write_complete_run(record: dict, result: RunResult) -> None:
    """Rewrite a run's row as complete, with its counts and speeds."""
    counts = asdict(result)
    del counts["run_id"], counts["device"]
    write_run(record | {"status": "complete", "ended_at": datetime.now(UTC)} | counts)


# ---------------------------------------------------------------- the run


def reusable_scores(model_id: str, settings_key: str) -> pl.DataFrame:
    """Every score already in the lake for this model and settings, from any run (also dead ones)."""
    files = sorted(scores_dir(model_id).glob("run=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema=SCORES_SCHEMA)
    scores = scan_parquet(files).filter(pl.col("settings_key") == settings_key)
    return scores.unique("response_id", keep="first").collect().cast(SCORES_SCHEMA)


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

    def as_metadata(self) -> dict:
        """Flat numbers for Dagster metadata."""
        return asdict(self)


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
) -> RunResult:
    """Score every distinct response of `responses` (joined to `prompts` on benchmark+example_id)
    with one model; write the run's scores (new and reused) under `lake/scores/model=.../run=...`.
    Judges (pairwise-judge, generative) write judgments instead: see `rb_pipeline.judging`."""
    if entry.type in JUDGE_TYPES:
        from rb_pipeline.judging import judge_model

        return judge_model(
            entry, responses, prompts, settings, benchmarks, device, run_id, shard_rows=shard_rows, log=log
        )
    device = device or default_device()
    # Data parallel (torchrun): every rank takes a share of what is new; rank 0 keeps the run's record.
    rank, world = data_parallel()
    run_id = str(_shared(run_id or new_run_id()))
    settings_key = settings.key(entry)
    device_label = device if world == 1 else f"{device} x{world} (data parallel)"
    record = running_record(run_id, entry, asdict(settings), settings_key, benchmarks, device_label)
    if rank == 0:
        write_run(record)
    out_dir = scores_dir(entry.id, run_id)
    try:
        distinct = (
            responses.join(
                prompts.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
            )
            .unique("response_id", keep="first", maintain_order=True)
            .select("response_id", "prompt", "text")
        )
        reused = reusable_scores(entry.id, settings_key).join(
            distinct.select("response_id"), on="response_id", how="semi"
        )
        todo = distinct.join(reused.select("response_id"), on="response_id", how="anti")
        log(
            f"{entry.id}: {distinct.height} distinct responses, {reused.height} reused, {todo.height} to score"
        )
        _gathered(None)  # every rank has read the lake before any writes this run's shards
        if reused.height and rank == 0:
            write_parquet(
                reused.with_columns(run_id=pl.lit(run_id), reused=pl.lit(True)),
                out_dir / "part-reused.parquet",
            )
        share = data_parallel_share(todo, rank, world)
        stats = _combine(
            _gathered(
                _score_todo(entry, settings, device, share, run_id, settings_key, shard_rows, rank, world)
                if share.height
                else {}
            )
        )
    except BaseException:
        write_run(record | {"status": "failed", "ended_at": datetime.now(UTC)})
        raise
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
    )
    if rank == 0:
        write_complete_run(record, result)
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
        "n_truncated": sum(part["n_truncated"] for part in parts),
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
    shard_rows: int,
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
    prefix = "part-" if world == 1 else f"part-rank{rank:02d}-"

    def flush() -> None:
        nonlocal shard, pending
        if pending:
            write_parquet(
                pl.DataFrame(pending, schema=SCORES_SCHEMA), out_dir / f"{prefix}{shard:05d}.parquet"
            )
            shard += 1
            pending = []

    start = time.perf_counter()
    done_tokens = 0
    desc = f"scoring {entry.id}" + (f" [rank {rank}/{world}]" if world > 1 else "")
    with tqdm(total=len(encoded), desc=desc, unit="resp", mininterval=1.0) as bar:
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
            if len(pending) >= shard_rows:
                flush()
    flush()
    return {
        "n_scored": len(encoded),
        "n_truncated": sum(1 for item in encoded if item.truncated_tokens > 0),
        "elapsed_s": max(time.perf_counter() - start, 1e-9),
        "real_tokens": real_tokens,
        "padded_tokens": padded_tokens,
    }
