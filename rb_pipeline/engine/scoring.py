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

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

import polars as pl
from tqdm import tqdm

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.kinds import model_kind
from rb_pipeline.core.lake import (
    UnverifiedFile,
    publish_parquet,
    read_verified_parquet,
    scores_dir,
    set_aside,
)
from rb_pipeline.core.runs import new_run_id
from rb_pipeline.core.schemas import SCORES_SCHEMA
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.judging import judge_run
from rb_pipeline.engine.runs import (
    FLUSH_SECONDS,
    NOTHING_COMPUTED,
    WHEN_NEEDED,
    Flush,
    RunRequest,
    RunResult,
    default_device,
    recorded_run,
)
from rb_pipeline.models.loader import effective_settings, load_scorer
from rb_pipeline.models.registry import Encoded


def data_parallel() -> tuple[int, int]:
    """(rank, world size) in an initialized torch.distributed group (torchrun), else (0, 1)."""
    if "torch" not in sys.modules:  # no group can be initialized without torch: not worth importing it
        return 0, 1
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shared(value: object) -> object:
    """Rank 0's `value` on every rank (identity outside a distributed group)."""
    if data_parallel()[1] == 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _gathered(value: object) -> list:
    """Every rank's `value`, in rank order (after a barrier: every rank got here)."""
    if data_parallel()[1] == 1:
        return [value]
    import torch.distributed as dist

    values: list = [None] * data_parallel()[1]
    dist.all_gather_object(values, value)
    return values


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
    provenance: str = "computed",
) -> RunResult:
    """Score every distinct response of `responses` (joined to `prompts` on benchmark+example_id)
    with one model; write the scores it computes under `lake/scores/model=.../run=...` (reused scores
    stay where they are); the run's record has `provenance` (`audit`: engine/audit.py). A kind that judges (core.kinds) writes judgments instead: see
    `rb_pipeline.engine.judging`. Both go through one life-cycle (`engine.runs.recorded_run`)."""
    request = RunRequest(
        entry,
        responses,
        prompts,
        settings,
        benchmarks,
        device,
        str(_shared(run_id or new_run_id())),
        shard_rows,
        log,
        flush_seconds,
        provenance,
    )
    return judge_run(request) if model_kind(entry.type).judges else _score_run(request)


def _score_run(request: RunRequest) -> RunResult:
    """Score what is new; data parallel (torchrun): every rank takes a share of what is new, rank 0
    keeps the run's record."""
    entry, log = request.entry, request.log
    rank, world = data_parallel()
    requested, settings = request.settings, effective_settings(entry, request.settings)
    settings_key = settings.key(entry)

    def label(device: str) -> str:
        return device if world == 1 else f"{device} x{world} (data parallel)"

    with recorded_run(
        request, asdict(requested), settings_key, label(request.device or WHEN_NEEDED), leader=rank == 0
    ) as run:
        distinct = (
            request.responses.join(
                request.prompts.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
            )
            .unique("response_id", keep="first", maintain_order=True)
            .select("response_id", "prompt", "text")
        )
        # rank 0 reads (and verifies) the lake, under the lock; the other ranks get its answer
        stored = _shared(reusable_scores(entry.id, settings_key, log) if rank == 0 else None)
        reused = stored.join(distinct.select("response_id"), on="response_id", how="semi")
        todo = distinct.join(reused.select("response_id"), on="response_id", how="anti")
        log(
            f"{entry.id}: {distinct.height} distinct responses, {reused.height} reused, {todo.height} to score"
        )
        share = data_parallel_share(todo, rank, world)
        flush = Flush(request.shard_rows, request.flush_seconds)
        # torch is imported (to find a GPU) only when a model is loaded: a warm re-run loads none
        device = request.device or (default_device() if share.height else None)
        stats = _combine(
            _gathered(
                _score_todo(entry, settings, device, share, request.run_id, settings_key, flush, rank, world)
                if share.height
                else {}
            )
        )
        run.result = RunResult(
            run_id=request.run_id,
            n_responses=distinct.height,
            n_scored=todo.height,
            n_reused=reused.height,
            n_truncated=stats.get("n_truncated", 0) + int((reused["truncated_tokens"] > 0).sum()),
            responses_per_s=stats.get("responses_per_s", 0.0),
            tokens_per_s=stats.get("tokens_per_s", 0.0),
            padding_overhead=stats.get("padding_overhead", 0.0),
            device=label(device) if device else NOTHING_COMPUTED,
            max_length=settings.max_length,
            n_prompt_shared=stats.get("n_prompt_shared", 0),
            n_prompt_full=stats.get("n_prompt_full", 0),
        )
        log(f"{entry.id}: max_length {settings.max_length}, {run.result.n_truncated} responses truncated")
    return run.result


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
