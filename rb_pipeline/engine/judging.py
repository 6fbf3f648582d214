"""The judging engine: pairwise judges write one judgment per (model, example, ordered pair).

A judge (registered by model type: `pairwise-judge`, `generative`; see `rb_pipeline/models/judges.py`)
sees a prompt and two answers, A and B, and returns a verdict: 'A', 'B', 'tie', or 'error' (output it
cannot parse, or an input too long to judge). The engine:

- pairs each example's chosen response with each rejected one (best-of-N: every loser; several chosen:
  every chosen x every rejected) and judges every pair in both orders: `chosen_first` (A = chosen) and
  `rejected_first` (A = rejected). Storing both lets a view report either rule: RewardBench's
  (`scripts/run_generative.py`: one order per example drawn at random, the verdict mapped back; here
  the draw is `sampled_order`, fixed by a seed and the pair's ids, and its rows carry `sampled`) and
  JudgeBench's (both orders). The credit rules live in `sql/example_outcomes_history.sql` (`credits`, named in catalog.RULES).
- judges an identical (prompt, A, B) once per model and settings (`response_a_id`/`response_b_id` are
  content hashes of the prompt and the answer), and reuses the judgments of any earlier run with the
  same settings key, also of runs that died: a resumed run judges only what is missing.
- ensembles (`entry.judges`: an odd number of judge entries of the catalog): every member judges every
  ordered pair (`judge` = its index, `judge_model` = its id), one member loaded at a time; the
  majority verdict is taken in SQL.
- writes rows under `lake/judgments/model=<key>/run=<id>/part-*.parquet`, flushing shards as it goes
  (by rows, and at least every FLUSH_SECONDS: API calls are slow and paid for), and records the run in
  `runs` as `score_model` does. In a judge run's row, `n_responses` / `n_scored` / `n_reused` count
  judge calls (member x distinct ordered pair) and `responses_per_s` is judge calls per second.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
from tqdm import tqdm

from rb_pipeline.catalog.entries import ModelEntry, load_models
from rb_pipeline.core.ids import content_hash
from rb_pipeline.core.lake import write_parquet
from rb_pipeline.core.paths import encode_model_id, lake_dir
from rb_pipeline.core.runs import ended_record, fail_dead_runs, new_run_id, write_run
from rb_pipeline.core.schemas import JUDGMENTS_SCHEMA
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.storage import scan_parquet
from rb_pipeline.engine.runs import (
    FLUSH_SECONDS,
    RunResult,
    default_device,
    run_lock,
    running_record,
    write_complete_run,
)
from rb_pipeline.models.loader import effective_settings, load_judge
from rb_pipeline.models.registry import JUDGE_TYPES, Comparison, redact_url

JUDGE_FORMAT_VERSION = 1  # bump when a prompt or the parser changes: older judgments are then not reused
ORDER_SEED = 0  # the seed of the per-pair random A/B order (RewardBench's single-order number)
PAIR_ORDERS = ("chosen_first", "rejected_first")
VERDICTS = ("A", "B", "tie", "error")

_CALL_COLUMNS = ("verdict", "raw_output", "judge_score", "n_tokens", "truncated_tokens")


def judgments_dir(model_id: str, run_id: str | None = None) -> Path:
    """`lake/judgments/model=<org--name>[/run=<id>]`."""
    base = lake_dir("judgments", f"model={encode_model_id(model_id)}")
    return base if run_id is None else base / f"run={run_id}"


def sampled_order(example_id: str, chosen_id: str, rejected_id: str, seed: int = ORDER_SEED) -> str:
    """The order shown for RewardBench's single-order credit: random per pair (so per example for a
    pair; per loser for best-of-N), fixed by the seed, so every run and every judge sees the same."""
    digest = hashlib.sha256(f"{seed}\0{example_id}\0{chosen_id}\0{rejected_id}".encode()).digest()
    return PAIR_ORDERS[digest[0] & 1]


# ---------------------------------------------------------------- ensembles and settings


@dataclass(frozen=True)
class JudgePlan:
    index: int
    entry: ModelEntry
    settings: ScorerSettings


def judge_plans(
    entry: ModelEntry, settings: ScorerSettings, models: dict[str, ModelEntry] | None = None
) -> list[JudgePlan]:
    """The judges of an entry: itself, or each member of its ensemble with the member's own settings
    (batch size and token budget from `settings`); max_length capped by each model's context."""
    if not entry.judges:
        return [JudgePlan(0, entry, effective_settings(entry, settings))]
    models = load_models() if models is None else models
    plans = []
    for index, member_id in enumerate(entry.judges):
        member = models.get(member_id)
        if member is None:
            raise ValueError(f"model {entry.id}: judge {member_id!r} is not in the model catalog")
        if member.type not in JUDGE_TYPES or member.judges:
            raise ValueError(
                f"model {entry.id}: judge {member_id!r} must be a single pairwise-judge or generative model"
            )
        member_settings = ScorerSettings(
            dtype=member.dtype,
            max_length=member.max_length,
            chat_template=member.chat_template,
            batch_size=settings.batch_size,
            token_budget=settings.token_budget,
        )
        plans.append(JudgePlan(index, member, effective_settings(member, member_settings)))
    return plans


def judge_settings(plan: JudgePlan) -> dict:
    """What, besides the scorer settings, changes a judge's verdicts (never the API key)."""
    member = plan.entry
    return {
        "model": member.id,
        "type": member.type,
        "judge_prompt": member.judge_prompt,
        "max_new_tokens": member.max_new_tokens if member.type == "generative" else None,
        "api_base": redact_url(member.api_base) if member.api_base else None,
        "api_model": (member.api_model or member.source or member.id) if member.api_base else None,
    }


def judge_settings_key(entry: ModelEntry, plans: list[JudgePlan]) -> str:
    """Judgments with the same key are interchangeable (batch sizes and timeouts are not part of it)."""
    members = [[plan.settings.key(plan.entry), judge_settings(plan)] for plan in plans]
    return content_hash("judge", JUDGE_FORMAT_VERSION, ORDER_SEED, entry.type, members)


# ---------------------------------------------------------------- what to judge


def ordered_pairs(responses: pl.DataFrame, prompts: pl.DataFrame) -> pl.DataFrame:
    """Every (chosen, rejected) pair of every example, in both orders, with the drawn order marked."""
    with_prompt = responses.join(
        prompts.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
    )
    chosen = with_prompt.filter(pl.col("label") == "chosen").select(
        "benchmark",
        "example_id",
        "prompt",
        chosen_id="response_id",
        chosen_text="text",
    )
    rejected = responses.filter(pl.col("label") == "rejected").select(
        "benchmark", "example_id", rejected_id="response_id", rejected_text="text"
    )
    pairs = chosen.join(rejected, on=["benchmark", "example_id"]).unique(
        ["benchmark", "example_id", "chosen_id", "rejected_id"], maintain_order=True
    )
    drawn = [
        sampled_order(*key)
        for key in zip(pairs["example_id"], pairs["chosen_id"], pairs["rejected_id"], strict=True)
    ]
    pairs = pairs.with_columns(drawn=pl.Series(drawn, dtype=pl.String))
    orders = []
    for order, (a, b) in zip(PAIR_ORDERS, (("chosen", "rejected"), ("rejected", "chosen")), strict=True):
        orders.append(
            pairs.select(
                "benchmark",
                "example_id",
                "prompt",
                pair_order=pl.lit(order),
                sampled=pl.col("drawn") == order,
                response_a_id=pl.col(f"{a}_id"),
                response_b_id=pl.col(f"{b}_id"),
                text_a=pl.col(f"{a}_text"),
                text_b=pl.col(f"{b}_text"),
            )
        )
    return pl.concat(orders)


def reusable_judgments(model_id: str, settings_key: str) -> pl.DataFrame:
    """One judgment per (judge, A, B) already in the lake for this model and settings (any run)."""
    columns = ["judge", "judge_model", "response_a_id", "response_b_id", *_CALL_COLUMNS]
    files = sorted(judgments_dir(model_id).glob("run=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema={k: JUDGMENTS_SCHEMA[k] for k in columns})
    found = scan_parquet(files).filter(pl.col("settings_key") == settings_key).select(columns)
    return found.unique(["judge", "response_a_id", "response_b_id"], keep="first").collect()


# ---------------------------------------------------------------- the run


def judge_model(
    entry: ModelEntry,
    responses: pl.DataFrame,
    prompts: pl.DataFrame,
    settings: ScorerSettings,
    benchmarks: list[str],
    device: str | None = None,
    run_id: str | None = None,
    shard_rows: int = 2048,
    log: Callable[[str], None] = print,
    models: dict[str, ModelEntry] | None = None,
) -> RunResult:
    """Judge every (chosen, rejected) pair of `responses` in both orders with one judge or ensemble;
    write the run's judgments (new and reused) under `lake/judgments/model=.../run=...`."""
    device = device or default_device()
    run_id = run_id or new_run_id()
    plans = judge_plans(entry, settings, models)
    settings_key = judge_settings_key(entry, plans)
    judged_settings = asdict(settings) | {"judges": [judge_settings(plan) for plan in plans]}
    record = running_record(run_id, entry, judged_settings, settings_key, benchmarks, device)
    fail_dead_runs(log)
    write_run(record)
    out_dir = judgments_dir(entry.id, run_id)
    try:
        with run_lock(entry.id, settings_key, log):
            result = _judge_run(entry, plans, responses, prompts, record, out_dir, shard_rows, log)
    except BaseException as error:
        write_run(ended_record(record, error))
        raise
    return result


def _judge_run(
    entry: ModelEntry,
    plans: list[JudgePlan],
    responses: pl.DataFrame,
    prompts: pl.DataFrame,
    record: dict,
    out_dir: Path,
    shard_rows: int,
    log: Callable[[str], None],
) -> RunResult:
    """The body of `judge_model`, under its run's lock."""
    run_id, settings_key, device = record["run_id"], record["settings_key"], record["device"]
    pairs = ordered_pairs(responses, prompts)
    calls = pairs.unique(["response_a_id", "response_b_id"], keep="first", maintain_order=True)
    wanted = pl.DataFrame({"judge": [plan.index for plan in plans]}, schema={"judge": pl.Int32}).join(
        calls.select("response_a_id", "response_b_id"), how="cross"
    )
    reused = reusable_judgments(entry.id, settings_key).join(
        wanted, on=["judge", "response_a_id", "response_b_id"], how="semi"
    )
    n_todo = wanted.height - reused.height
    log(
        f"{entry.id}: {calls.height} ordered pairs x {len(plans)} judge(s) = {wanted.height} judgments,"
        f" {reused.height} reused, {n_todo} to judge"
    )
    if reused.height:
        rows = pairs.join(reused, on=["response_a_id", "response_b_id"])
        write_parquet(
            _finish_rows(rows, entry.id, run_id, settings_key, reused=True),
            out_dir / "part-reused.parquet",
        )
    stats = (
        _judge_todo(plans, device, pairs, calls, reused, entry.id, run_id, settings_key, shard_rows)
        if n_todo
        else {}
    )
    result = RunResult(
        run_id=run_id,
        n_responses=wanted.height,
        n_scored=n_todo,
        n_reused=reused.height,
        n_truncated=stats.get("n_truncated", 0) + int((reused["truncated_tokens"] > 0).sum()),
        responses_per_s=stats.get("judgments_per_s", 0.0),
        tokens_per_s=stats.get("tokens_per_s", 0.0),
        padding_overhead=0.0,
        device=device,
        max_length=min(plan.settings.max_length for plan in plans),
    )
    log(f"{entry.id}: max_length {result.max_length}, {result.n_truncated} inputs over it (not judged)")
    write_complete_run(record, result)
    return result


def _finish_rows(
    rows: pl.DataFrame, model_id: str, run_id: str, settings_key: str, reused: bool
) -> pl.DataFrame:
    """Example rows (ordered pairs joined to their judgments) in the lake's schema."""
    return rows.with_columns(
        model=pl.lit(model_id),
        run_id=pl.lit(run_id),
        settings_key=pl.lit(settings_key),
        reused=pl.lit(reused),
    ).select([pl.col(name).cast(dtype) for name, dtype in JUDGMENTS_SCHEMA.items()])


def _judge_todo(
    plans: list[JudgePlan],
    device: str,
    pairs: pl.DataFrame,
    calls: pl.DataFrame,
    reused: pl.DataFrame,
    model_id: str,
    run_id: str,
    settings_key: str,
    shard_rows: int,
) -> dict:
    # each distinct (A, B) fans out to every (example, order) row that shows it
    shown_in: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in pairs.select(
        "benchmark", "example_id", "pair_order", "sampled", "response_a_id", "response_b_id"
    ).iter_rows(named=True):
        shown_in[(row["response_a_id"], row["response_b_id"])].append(row)
    done = set(reused.select("judge", "response_a_id", "response_b_id").iter_rows())
    by_length = calls.with_columns(
        length=pl.col("text_a").str.len_chars() + pl.col("text_b").str.len_chars()
    ).sort("length", descending=True, maintain_order=True)
    n_todo = len(plans) * calls.height - len(done)
    out_dir = judgments_dir(model_id, run_id)
    pending: list[dict] = []
    shard = 0
    last_flush = time.monotonic()
    stats = {"n_truncated": 0, "tokens": 0, "judged": 0}

    def flush() -> None:
        nonlocal shard, pending, last_flush
        if pending:
            frame = pl.DataFrame(pending, schema={k: JUDGMENTS_SCHEMA[k] for k in pending[0]})
            write_parquet(
                _finish_rows(frame, model_id, run_id, settings_key, reused=False),
                out_dir / f"part-{shard:05d}.parquet",
            )
            shard += 1
            pending = []
        last_flush = time.monotonic()

    start = time.perf_counter()
    with tqdm(total=n_todo, desc=f"judging {model_id}", unit="judgment", mininterval=1.0) as bar:
        try:  # whatever ends the loop (an error, a signal), what was judged is flushed
            for plan in plans:
                todo = [
                    Comparison(
                        row["response_a_id"],
                        row["response_b_id"],
                        row["prompt"],
                        row["text_a"],
                        row["text_b"],
                    )
                    for row in by_length.iter_rows(named=True)
                    if (plan.index, row["response_a_id"], row["response_b_id"]) not in done
                ]
                if not todo:
                    continue
                judge = load_judge(plan.entry, plan.settings, device)
                step = max(plan.settings.batch_size, 1)
                for offset in range(0, len(todo), step):
                    batch = todo[offset : offset + step]
                    for comparison, judgment in zip(batch, judge.judge(batch), strict=True):
                        if judgment.verdict not in VERDICTS:
                            raise ValueError(
                                f"judge {plan.entry.id}: verdict {judgment.verdict!r} not in {VERDICTS}"
                            )
                        call = {"judge": plan.index, "judge_model": plan.entry.id} | {
                            name: getattr(judgment, name) for name in _CALL_COLUMNS
                        }
                        for shown in shown_in[(comparison.response_a_id, comparison.response_b_id)]:
                            pending.append(shown | call)
                        stats["tokens"] += judgment.n_tokens
                        stats["n_truncated"] += judgment.truncated_tokens > 0
                        stats["judged"] += 1
                    bar.update(len(batch))
                    if len(pending) >= shard_rows or time.monotonic() - last_flush > FLUSH_SECONDS:
                        flush()
                del judge  # one member in memory at a time
        finally:
            flush()
    elapsed = max(time.perf_counter() - start, 1e-9)
    return {
        "n_truncated": stats["n_truncated"],
        "judgments_per_s": stats["judged"] / elapsed,
        "tokens_per_s": stats["tokens"] / elapsed,
    }
