"""Our engine's worker: `rb_pipeline.engine.scoring.score_model` on a classifier, cold then warm, in one process
(project venv). The engine is not modified: timers are wrapped around its functions from outside.

Cold = empty lake (`$RB_HOME` fresh): load the model, template + tokenize, length-sorted token-budget
batches over the distinct responses, shard writes, run records. Warm = the same call again: every
score is reused from the lake (nothing is loaded or run). `--bare` (the timed runs) does the cold
call only: no matmul reference, no warm call, no operator profile.

Every forward of the model's trunk (`model.base_model`: whole sequences, shared prompts, and responses
continued from them) is recorded as (rows, new tokens, attended tokens, seconds): the work the model
actually ran, for the FLOP count.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path


class Timers:
    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        # per trunk forward: rows, new tokens per row (padded query width), attended tokens per row
        # (cache + new, padded), real new tokens (no padding), real (query, key) pairs of causal
        # attention, seconds, whether the last block ran at the pooled token only (1) or whole (0)
        self.forwards: list[tuple[int, int, int, int, int, float, int]] = []

    def wrap(self, name: str, fn):
        def timed(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - start
                self.counts[name] = self.counts.get(name, 0) + 1

        return timed


def install_timers() -> tuple[Timers, list]:
    """Wrap timers around the engine's functions (from outside: its code is unchanged) and record
    every trunk forward; returns the timers and the list each new ClassifierScorer is added to.
    tests/test_bench.py calls it, so a renamed engine function breaks a test, not the next bench."""
    import torch

    import rb_pipeline.engine.scoring as scoring
    import rb_pipeline.models.classifier as classifier

    timers = Timers()
    # what the engine spends its time on (wrapped from outside; the engine's code is unchanged)
    scoring.load_scorer = timers.wrap("load_model", scoring.load_scorer)
    scoring.publish_parquet = timers.wrap("write_parquet", scoring.publish_parquet)
    scoring.reusable_scores = timers.wrap("reusable_scores", scoring.reusable_scores)
    classifier.pad_batch = timers.wrap("pad_batch", classifier.pad_batch)
    classifier.ClassifierScorer.encode = timers.wrap("encode", classifier.ClassifierScorer.encode)
    classifier.ClassifierScorer.score = timers.wrap("score", classifier.ClassifierScorer.score)
    scorers: list = []
    original_init = classifier.ClassifierScorer.__init__

    def init(self, *a, **k):
        original_init(self, *a, **k)
        scorers.append(self)
        trunk = self.model.base_model
        forward = trunk.forward
        last_blocks = getattr(trunk, "h", None)

        def timed_forward(*fa, **fk):
            start = time.perf_counter()
            out = forward(*fa, **fk)
            seconds = time.perf_counter() - start
            ids = fk.get("input_ids", fa[0] if fa else None)  # the classifier passes it by position
            mask = fk.get("attention_mask")
            rows, width = (int(n) for n in ids.shape)
            mask = mask if mask is not None else torch.ones_like(ids)
            past, new = mask[:, : mask.shape[1] - width].sum(1), mask[:, -width:].sum(1)
            pairs = int((new * past + new * (new + 1) // 2).sum())  # each new token sees those before it
            # the last block ran at the pooled tokens only (`classifier.classify` sets its forward)
            last_block = int("forward" in vars(last_blocks[-1])) if last_blocks else 0
            timers.forwards.append(
                (rows, width, int(mask.shape[1]), int(new.sum()), pairs, seconds, last_block)
            )
            return out

        trunk.forward = timed_forward

    classifier.ClassifierScorer.__init__ = init
    return timers, scorers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="folder with examples.parquet and responses.parquet")
    parser.add_argument("--rb-home", required=True)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--token-budget", type=int, default=None, help="default: ScorerSettings' default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bare", action="store_true", help="cold call only (the timed runs)")
    parser.add_argument("--op-profile", action="store_true", help="torch.profiler over one 8 x 512 forward")
    parser.add_argument(
        "--shared-prompts",
        choices=("on", "off"),
        default="off",
        help="off (the default): every response whole",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()

    shutil.rmtree(args.rb_home, ignore_errors=True)  # cold: a fresh lake every run
    os.environ["RB_HOME"] = args.rb_home
    import polars as pl
    import torch

    torch.set_num_threads(args.threads)
    from common import cpu_seconds, matmul_flops, param_counts, peak_rss_mib

    matmul = None if args.bare or args.device != "cpu" else matmul_flops()

    import rb_pipeline.engine.scoring as scoring
    from rb_pipeline.catalog.entries import ModelEntry
    from rb_pipeline.core.lake import scores_dir

    timers, scorers = install_timers()

    data = Path(args.data)
    examples = pl.read_parquet(data / "examples.parquet")
    responses = pl.read_parquet(data / "responses.parquet")
    benchmarks = sorted(set(examples["benchmark"].to_list()))
    entry = ModelEntry(id="bench/gpt2-rm", source=args.model, type="classifier", dtype=args.dtype)
    settings_kwargs = {"max_length": args.max_length, "batch_size": args.batch_size, "dtype": args.dtype}
    if args.token_budget:
        settings_kwargs["token_budget"] = args.token_budget
    settings_kwargs["shared_prompts"] = args.shared_prompts == "on"
    settings = scoring.ScorerSettings(**settings_kwargs)

    def call():
        cpu0, start = cpu_seconds(), time.perf_counter()
        result = scoring.score_model(
            entry, responses, examples, settings, benchmarks, device=args.device, log=lambda _m: None
        )
        return result, time.perf_counter() - start, cpu_seconds() - cpu0

    cold, cold_wall, cold_cpu = call()
    cold_timers, cold_forwards = dict(timers.totals), list(timers.forwards)
    files = sorted(scores_dir(entry.id, cold.run_id).glob("*.parquet"))
    scores = pl.read_parquet(files).select("response_id", "score", "n_tokens")
    warm = warm_wall = warm_cpu = None
    if not args.bare:
        warm, warm_wall, warm_cpu = call()
    model = scorers[0].model if scorers else None
    ops = op_profile(scorers[0], args.max_length) if args.op_profile and scorers else None
    loop_s = cold.n_scored / cold.responses_per_s if cold.responses_per_s else 0.0
    print(
        json.dumps(
            {
                "engine": "rb_pipeline.score_model",
                "settings": {
                    "max_length": settings.max_length,
                    "batch_size": settings.batch_size,
                    "token_budget": settings.token_budget,
                },
                "matmul_flops": matmul,
                "threads": torch.get_num_threads(),
                "params": param_counts(model) if model is not None else None,
                "cold": cold.as_metadata(),
                "cold_wall_s": cold_wall,
                "cold_cpu_s": cold_cpu,
                "cold_loop_s": loop_s,
                "cold_real_tokens": int(scores["n_tokens"].sum()),
                "cold_timers_s": cold_timers,
                "cold_timer_counts": dict(timers.counts),
                "forwards": cold_forwards,
                "warm": warm.as_metadata() if warm else None,
                "warm_wall_s": warm_wall,
                "warm_cpu_s": warm_cpu,
                "warm_timers_s": {k: v - cold_timers.get(k, 0.0) for k, v in timers.totals.items()},
                "n_input_responses": responses.height,
                "peak_rss_mib": peak_rss_mib(),
                "op_profile": ops,
                "scores": dict(zip(scores["response_id"].to_list(), scores["score"].to_list(), strict=True)),
            }
        )
    )


def op_profile(scorer, width: int) -> dict:
    """Where one forward of 8 rows x `width` tokens spends its CPU time, by torch operator (self time)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    ids = torch.randint(2, scorer.model.config.vocab_size, (8, width))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        scorer.model(input_ids=ids, attention_mask=mask)  # warm-up
        start = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            scorer.model(input_ids=ids, attention_mask=mask)
        wall = time.perf_counter() - start
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) or 1
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:10]
    return {
        "shape": [8, width],
        "wall_s": wall,
        "self_cpu_share": {e.key: round(e.self_cpu_time_total / total, 4) for e in top},
    }


if __name__ == "__main__":
    main()
