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
- RewardBench 2 (rewardbench/generative_v2.py, scripts/run_generative_v2.py): on subsets whose rule is
  rb2-top-share a single generative judge runs the entry's `protocol` (`ModelEntry.rb2_protocol`):
  `ratings` (default, the leaderboard's: every answer rated 1-10 in its own call, row pair_order
  `rating`), `four-way` (one call shows all four answers, A-D; the chosen is swapped into each of the
  four positions as upstream's shuffle does, so every position is recorded, pair_order `chosen_at_<X>`,
  and one position per example is drawn with a fixed seed, `sampled`, for upstream's single-call
  credit) or `pairwise` (as above). Ties (rule rb2-ties) is always rated, with upstream's Ties prompt
  (pair_order `rating_ties`). Each row's `protocol` and `answer_ids` (the answers in the order shown)
  say what was asked; the credit rules read them in `sql/judge_outcomes_history.sql`.
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

from rb_pipeline.catalog.entries import ModelEntry, load_benchmarks, load_models
from rb_pipeline.core.ids import content_hash
from rb_pipeline.core.kinds import model_kind
from rb_pipeline.core.lake import write_parquet
from rb_pipeline.core.paths import encode_model_id, lake_dir
from rb_pipeline.core.schemas import JUDGMENTS_SCHEMA
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.storage import scan_parquet
from rb_pipeline.engine.runs import (
    FLUSH_SECONDS,
    NOTHING_COMPUTED,
    WHEN_NEEDED,
    RunRequest,
    RunResult,
    default_device,
    recorded_run,
)
from rb_pipeline.models.judge_prompts import (
    FOUR_WAY_LETTERS,
    four_way_messages,
    parse_four_way,
    parse_rating,
    rating_messages,
)
from rb_pipeline.models.loader import effective_settings, load_judge
from rb_pipeline.models.registry import Comparison, redact_url

JUDGE_FORMAT_VERSION = 2  # bump when a prompt or the parser changes: older judgments are then not reused
ORDER_SEED = 0  # the seed of the per-pair random A/B order (RewardBench's single-order number)
PAIR_ORDERS = ("chosen_first", "rejected_first")
VERDICTS = {  # what each protocol's parser may return
    "pairwise": ("A", "B", "tie", "error"),
    "ratings": ("rated", "error"),
    "four-way": (*FOUR_WAY_LETTERS, "error"),
}
# The rule of a subset -> the protocol its examples are judged by (None: the entry's rb2_protocol)
RB2_TOP_SHARE, RB2_TIES = "rb2-top-share", "rb2-ties"

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
        if not model_kind(member.type).judges or member.judges:
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
    return content_hash("judge", JUDGE_FORMAT_VERSION, ORDER_SEED, entry.type, entry.rb2_protocol, members)


# ---------------------------------------------------------------- what to judge


def call_key() -> pl.Expr:
    """What a call asks: pairwise (A, B) whatever the order's name; a rating: the prompt kind and the
    answer; four-way: the four answers in order. Null protocol: judgments written before protocols."""
    protocol = pl.col("protocol").fill_null("pairwise")
    kind = pl.when(protocol == "ratings").then(pl.col("pair_order")).otherwise(protocol)
    answers = pl.coalesce(
        pl.col("answer_ids").list.join("|"), pl.concat_str("response_a_id", "response_b_id", separator="|")
    )
    return pl.concat_str(kind, answers, separator="|").alias("call_key")


def judged_protocol(rule: str, entry: ModelEntry) -> str:
    """The protocol an example is judged by, from its subset's rule: RewardBench 2's best-of-4 by the
    entry's protocol, its Ties always by ratings (a single generative judge; else no Ties score),
    everything else pairwise."""
    if rule == RB2_TOP_SHARE:
        return entry.rb2_protocol
    if rule == RB2_TIES and entry.type == "generative" and not entry.judges:
        return "ratings"
    return "pairwise"


def subset_rules() -> dict[tuple[str, str], str]:
    """(benchmark, subset) -> the catalog's scoring rule."""
    return {
        (bench.benchmark, subset): bench.rule_of(subset)
        for bench in load_benchmarks().values()
        for subset in bench.all_subsets
    }


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
                protocol=pl.lit("pairwise"),
                pair_order=pl.lit(order),
                sampled=pl.col("drawn") == order,
                response_a_id=pl.col(f"{a}_id"),
                response_b_id=pl.col(f"{b}_id"),
                answer_ids=pl.concat_list(f"{a}_id", f"{b}_id"),
                texts=pl.concat_list(f"{a}_text", f"{b}_text"),
            )
        )
    return pl.concat(orders)


def rating_calls(responses: pl.DataFrame, prompts: pl.DataFrame, ties: pl.DataFrame) -> pl.DataFrame:
    """One rating per answer of each example (pair_order `rating_ties` on Ties: upstream's Ties prompt)."""
    rows = responses.join(prompts.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"])
    rows = rows.join(ties.with_columns(is_ties=pl.lit(True)), on=["benchmark", "example_id"], how="left")
    return rows.select(
        "benchmark",
        "example_id",
        "prompt",
        protocol=pl.lit("ratings"),
        pair_order=pl.when(pl.col("is_ties")).then(pl.lit("rating_ties")).otherwise(pl.lit("rating")),
        sampled=pl.lit(True),
        response_a_id="response_id",
        response_b_id=pl.lit(None, dtype=pl.String),
        answer_ids=pl.concat_list("response_id"),
        texts=pl.concat_list("text"),
    )


def drawn_position(example_id: str, seed: int = ORDER_SEED) -> int:
    """The position (0-3: A-D) the chosen answer is shown at for upstream's single four-way call:
    random per example (np.random.randint(0, 4) there), fixed here by the seed."""
    return hashlib.sha256(f"{seed}\0four-way\0{example_id}".encode()).digest()[0] % 4


def four_way_calls(responses: pl.DataFrame, prompts: pl.DataFrame) -> pl.DataFrame:
    """Four calls per example, the chosen swapped with the answer at A, B, C, D in turn (upstream's
    shuffle: [chosen, rejected 1, 2, 3], positions 0 and k exchanged); one is `sampled`."""
    rows = []
    grouped = (
        responses.group_by("benchmark", "example_id", maintain_order=True)
        .agg("label", "response_id", "text")
        .join(prompts.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"])
    )
    for bench, example_id, labels, ids, texts, prompt in grouped.iter_rows():
        chosen = [i for i, label in enumerate(labels) if label == "chosen"]
        rejected = [i for i, label in enumerate(labels) if label == "rejected"]
        if len(chosen) != 1 or len(rejected) != 3:
            raise ValueError(
                f"{bench} example {example_id}: the four-way protocol needs 1 chosen and 3 rejected answers, "
                f"got {len(chosen)} and {len(rejected)} (use protocol: ratings or pairwise)"
            )
        drawn = drawn_position(example_id)
        for position, letter in enumerate(FOUR_WAY_LETTERS):
            order = chosen + rejected
            order[0], order[position] = order[position], order[0]
            rows.append(
                {
                    "benchmark": bench,
                    "example_id": example_id,
                    "prompt": prompt,
                    "protocol": "four-way",
                    "pair_order": f"chosen_at_{letter}",
                    "sampled": position == drawn,
                    "response_a_id": ids[order[0]],
                    "response_b_id": ids[order[1]],
                    "answer_ids": [ids[i] for i in order],
                    "texts": [texts[i] for i in order],
                }
            )
    schema = {
        "prompt": prompts.schema["prompt"],
        "answer_ids": pl.List(pl.String),
        "texts": pl.List(pl.String),
    }
    return pl.DataFrame(rows, schema_overrides=schema) if rows else pl.DataFrame()


def judge_calls(
    entry: ModelEntry,
    responses: pl.DataFrame,
    prompts: pl.DataFrame,
    rules: dict[tuple[str, str], str],
) -> pl.DataFrame:
    """Every row to judge (one per example and call), each example by its subset's protocol."""
    subsets = prompts.select("benchmark", "example_id", "subset") if "subset" in prompts.columns else None
    if subsets is None:
        return ordered_pairs(responses, prompts)
    protocol = [
        judged_protocol(rules.get((bench, subset), "strict"), entry)
        for bench, subset in zip(subsets["benchmark"], subsets["subset"], strict=True)
    ]
    rule = [rules.get(key, "strict") for key in zip(subsets["benchmark"], subsets["subset"], strict=True)]
    keyed = subsets.with_columns(
        protocol=pl.Series(protocol, dtype=pl.String), rule=pl.Series(rule, dtype=pl.String)
    )
    parts = []
    for name in ("pairwise", "ratings", "four-way"):
        examples = keyed.filter(pl.col("protocol") == name).select("benchmark", "example_id", "rule")
        if examples.is_empty():
            continue
        chosen = responses.join(examples, on=["benchmark", "example_id"], how="semi")
        if name == "pairwise":
            parts.append(ordered_pairs(chosen, prompts))
        elif name == "ratings":
            ties = examples.filter(pl.col("rule") == RB2_TIES).select("benchmark", "example_id")
            parts.append(rating_calls(chosen, prompts, ties))
        else:
            parts.append(four_way_calls(chosen, prompts))
    parts = [part for part in parts if part.height]
    return pl.concat(parts, how="vertical_relaxed") if parts else ordered_pairs(responses, prompts)


def reusable_judgments(model_id: str, settings_key: str) -> pl.DataFrame:
    """One judgment per (judge, call) already in the lake for this model and settings (any run)."""
    columns = ["judge", "judge_model", "call_key", *_CALL_COLUMNS]
    files = sorted(judgments_dir(model_id).glob("run=*/*.parquet"))
    if not files:
        return pl.DataFrame(
            schema={"call_key": pl.String} | {k: JUDGMENTS_SCHEMA[k] for k in columns if k != "call_key"}
        ).select(columns)
    found = (
        scan_parquet(files, schema=JUDGMENTS_SCHEMA)  # older files: protocol, answer_ids null
        .filter(pl.col("settings_key") == settings_key)
        .with_columns(call_key())
    )
    return found.select(columns).unique(["judge", "call_key"], keep="first").collect()


# ---------------------------------------------------------------- the run


def judge_run(
    request: RunRequest,
    models: dict[str, ModelEntry] | None = None,
    rules: dict[tuple[str, str], str] | None = None,
) -> RunResult:
    """Judge every example of the request with one judge or ensemble, by its subset's protocol
    (pairwise: every (chosen, rejected) pair in both orders); write the run's judgments (new and
    reused) under `lake/judgments/model=.../run=...`. `rules`: the subsets' catalog rules (default:
    the catalog's). `engine.scoring.score_model` hands a judge's run here."""
    entry = request.entry
    plans = judge_plans(entry, request.settings, models)
    settings_key = judge_settings_key(entry, plans)
    judged_settings = asdict(request.settings) | {
        "judges": [judge_settings(plan) for plan in plans],
        "protocol": entry.rb2_protocol,
    }
    with recorded_run(request, judged_settings, settings_key, request.device or WHEN_NEEDED) as run:
        rules = subset_rules() if rules is None else rules
        calls = judge_calls(entry, request.responses, request.prompts, rules)
        out_dir = judgments_dir(entry.id, request.run_id)
        run.result = _judge_run(
            entry, plans, calls, run.record, request.device, out_dir, request.shard_rows, request.log
        )
    return run.result


def _judge_run(
    entry: ModelEntry,
    plans: list[JudgePlan],
    rows: pl.DataFrame,
    record: dict,
    device: str | None,
    out_dir: Path,
    shard_rows: int,
    log: Callable[[str], None],
) -> RunResult:
    """The body of `judge_run`, under its run's lock; `device` None: decided if a judge is loaded."""
    run_id, settings_key = record["run_id"], record["settings_key"]
    rows = rows.with_columns(call_key())
    calls = rows.unique("call_key", keep="first", maintain_order=True)
    wanted = pl.DataFrame({"judge": [plan.index for plan in plans]}, schema={"judge": pl.Int32}).join(
        calls.select("call_key"), how="cross"
    )
    reused = reusable_judgments(entry.id, settings_key).join(wanted, on=["judge", "call_key"], how="semi")
    n_todo = wanted.height - reused.height
    log(
        f"{entry.id}: {calls.height} judge calls x {len(plans)} judge(s) = {wanted.height} judgments,"
        f" {reused.height} reused, {n_todo} to judge"
    )
    if reused.height:
        write_parquet(
            _finish_rows(rows.join(reused, on="call_key"), entry.id, run_id, settings_key, reused=True),
            out_dir / "part-reused.parquet",
        )
    # torch is imported (to find a GPU) only when a local judge is loaded: a warm re-run loads none
    device = (device or default_device()) if n_todo else NOTHING_COMPUTED
    stats = (
        _judge_todo(plans, device, rows, calls, reused, entry.id, run_id, settings_key, shard_rows)
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
    return result


def _finish_rows(
    rows: pl.DataFrame, model_id: str, run_id: str, settings_key: str, reused: bool
) -> pl.DataFrame:
    """Example rows (calls joined to their judgments) in the lake's schema."""
    return rows.with_columns(
        model=pl.lit(model_id),
        run_id=pl.lit(run_id),
        settings_key=pl.lit(settings_key),
        reused=pl.lit(reused),
    ).select([pl.col(name).cast(dtype) for name, dtype in JUDGMENTS_SCHEMA.items()])


def _ask(judge, protocol: str, calls: list[dict]) -> list:
    """One batch of calls of one protocol: pairwise through `judge` (every judge type has it), the
    RewardBench 2 protocols through a generative judge's `ask`."""
    if protocol == "pairwise":
        comparisons = [
            Comparison(c["answer_ids"][0], c["answer_ids"][1], c["prompt"], c["texts"][0], c["texts"][1])
            for c in calls
        ]
        return judge.judge(comparisons)
    if protocol == "ratings":
        conversations = [
            rating_messages(c["prompt"], c["texts"][0], c["pair_order"] == "rating_ties") for c in calls
        ]
        return judge.ask(conversations, parse_rating)
    return judge.ask([four_way_messages(c["prompt"], c["texts"]) for c in calls], parse_four_way)


_ROW_COLUMNS = (
    "benchmark",
    "example_id",
    "protocol",
    "pair_order",
    "sampled",
    "response_a_id",
    "response_b_id",
    "answer_ids",
)


def _judge_todo(
    plans: list[JudgePlan],
    device: str,
    rows: pl.DataFrame,
    calls: pl.DataFrame,
    reused: pl.DataFrame,
    model_id: str,
    run_id: str,
    settings_key: str,
    shard_rows: int,
) -> dict:
    # each distinct call fans out to every (example, order) row that shows it
    shown_in: dict[str, list[dict]] = defaultdict(list)
    for row in rows.select("call_key", *_ROW_COLUMNS).iter_rows(named=True):
        shown_in[row.pop("call_key")].append(row)
    done = set(reused.select("judge", "call_key").iter_rows())
    by_length = calls.with_columns(
        length=pl.col("texts").list.eval(pl.element().str.len_chars()).list.sum()
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
                    row
                    for row in by_length.iter_rows(named=True)
                    if (plan.index, row["call_key"]) not in done
                ]
                if not todo:
                    continue
                judge = load_judge(plan.entry, plan.settings, device)
                step = max(plan.settings.batch_size, 1)
                for protocol in VERDICTS:
                    of_protocol = [row for row in todo if row["protocol"] == protocol]
                    for offset in range(0, len(of_protocol), step):
                        batch = of_protocol[offset : offset + step]
                        for call, judgment in zip(batch, _ask(judge, protocol, batch), strict=True):
                            if judgment.verdict not in VERDICTS[protocol]:
                                raise ValueError(
                                    f"judge {plan.entry.id}: {protocol} verdict {judgment.verdict!r} not in"
                                    f" {VERDICTS[protocol]}"
                                )
                            said = {"judge": plan.index, "judge_model": plan.entry.id} | {
                                name: getattr(judgment, name) for name in _CALL_COLUMNS
                            }
                            for shown in shown_in[call["call_key"]]:
                                pending.append(shown | said)
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
