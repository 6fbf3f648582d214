"""Throughput: rewardbench's classifier path vs our engine, same weights, same data, one run.

    .venv/bin/python bench/throughput.py                 # defaults: 50 pairs, 3 repeats (~10 min on 2 cores)
    .venv/bin/python bench/throughput.py --pairs 2000 --repeats 1   # the full-size goal (hours on 2 cores)
    .venv/bin/python bench/throughput.py --compare-shared-prompts   # also ours with shared prompts off

Model: a GPT-2-small-sized GPT2ForSequenceClassification (12 x 768, random weights, num_labels=1) with a
32k BPE tokenizer trained here on RMB texts; max_length 512. Data: real RMB pairwise pairs from
`$RB_MIRROR` (default ../shared/data), normalized by the project, sampled by whole prompts.

Each repeat runs, each in its own process (own peak RSS, own matmul reference):
- baseline: the real `rewardbench` 0.1.4 CLI code path in bench/.venv-rewardbench (transformers 4.51):
  fixed batches of 8 in dataset order, chosen and rejected in two passes, padded to the batch's longest,
  truncated at max_length, no dedup (see _rb_classifier_worker.py);
- ours: `rb_pipeline.engine.scoring.score_model` cold (fresh lake), then warm (same call again, all reused).
Repeats alternate which engine goes first; the report gives medians. Results: bench/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    CACHE,
    RB_VENV_PYTHON,
    RESULTS,
    build_gpt2_small_classifier,
    eprint,
    load_rmb_pairwise,
    machine_info,
    median,
    pairs_table,
    run_worker,
    sample_by_prompt,
    set_offline_env,
    write_rewardbench_json,
)

MODEL_DIR = CACHE / "models" / "gpt2-small-rm"


def prepare(n_pairs: int, seed: int) -> tuple[Path, dict]:
    """Sample the pairs, build the model, write the inputs of both engines; return the data folder."""
    import polars as pl

    examples, responses = load_rmb_pairwise()
    texts = responses["text"].unique(maintain_order=True).to_list()
    build_gpt2_small_classifier(MODEL_DIR, texts[::4][:4000])
    picked = sample_by_prompt(examples, n_pairs, seed=seed)
    picked_responses = responses.join(picked.select("example_id"), on="example_id", how="semi")
    folder = CACHE / "data" / f"throughput-{n_pairs}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    picked.write_parquet(folder / "examples.parquet")
    picked_responses.write_parquet(folder / "responses.parquet")
    pairs = pairs_table(picked, picked_responses)
    pairs.write_parquet(folder / "pairs.parquet")
    write_rewardbench_json(pairs, folder / "pairs.jsonl")
    info = {
        "benchmark": "rmb-pairwise (RMB_dataset/Pairwise_set via RB_MIRROR, rb_pipeline.sources.normalize)",
        "pairs": picked.height,
        "prompts": picked["prompt"]
        .list.eval(pl.element().struct.field("content"))
        .list.join("\x1f")
        .n_unique(),
        "subsets": picked["subset"].n_unique(),
        "responses": picked_responses.height,
        "distinct_responses": picked_responses["response_id"].n_unique(),
        "sampling": f"whole prompts at random (seed {seed}) until >= {n_pairs} pairs, then dataset order",
    }
    return folder, info


def run_baseline(folder: Path, repeat: int, args) -> dict:
    out_dir = CACHE / "rb-out" / f"throughput-r{repeat}"
    shutil.rmtree(out_dir, ignore_errors=True)
    return run_worker(
        RB_VENV_PYTHON,
        BENCH / "_rb_classifier_worker.py",
        [
            "--model",
            str(MODEL_DIR.relative_to(CACHE)),
            "--dataset",
            str(folder / "pairs.jsonl"),
            "--output-dir",
            str(out_dir.relative_to(CACHE)) + "/",
            "--batch-size",
            str(args.batch_size),
            "--max-length",
            str(args.max_length),
            "--threads",
            str(args.threads),
        ],
        cwd=CACHE,
        log=CACHE / "logs" / f"throughput-baseline-r{repeat}.log",
    )


def run_ours(
    folder: Path,
    repeat: int,
    args,
    token_budget: int | None = None,
    batch_size: int | None = None,
    tag: str = "",
    op_profile: bool = False,
    shared_prompts: bool = True,
) -> dict:
    home = CACHE / "lakes" / f"throughput{tag}-r{repeat}"
    shutil.rmtree(home, ignore_errors=True)
    extra = ["--token-budget", str(token_budget)] if token_budget else []
    extra += ["--op-profile"] if op_profile else []
    extra += [] if shared_prompts else ["--no-shared-prompts"]
    return run_worker(
        sys.executable,
        BENCH / "_ours_worker.py",
        [
            "--model",
            str(MODEL_DIR),
            "--data",
            str(folder),
            "--rb-home",
            str(home),
            "--max-length",
            str(args.max_length),
            "--batch-size",
            str(batch_size or args.batch_size),
            "--threads",
            str(args.threads),
            *extra,
        ],
        log=CACHE / "logs" / f"throughput-ours{tag}-r{repeat}.log",
    )


def summarize_baseline(run: dict, flop_params: int) -> dict:
    t = run["loop_wall_s"]
    return {
        "time_s": t,
        "end_to_end_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
        "benchmark_responses": run["n_inputs"],
        "forward_rows": run["n_inputs"],
        "responses_per_s": run["n_inputs"] / t,
        "real_tokens": run["real_tokens"],
        "padded_tokens": run["padded_tokens"],
        "tokens_per_s": run["real_tokens"] / t,
        "padded_tokens_per_s": run["padded_tokens"] / t,
        "padding_overhead": run["padded_tokens"] / run["real_tokens"] - 1,
        "flops": 2 * flop_params * run["real_tokens"] / t,
        "matmul_flops": run["matmul_flops"],
        "flops_fraction_of_matmul": 2 * flop_params * run["real_tokens"] / t / run["matmul_flops"],
        "peak_rss_mib": run["peak_rss_mib"],
    }


def summarize_ours(run: dict, flop_params: int) -> dict:
    timers = run["cold_timers_s"]
    t = timers.get("encode", 0.0) + run["cold_loop_s"]  # template + tokenize, then the batch loop
    real = run["cold_real_tokens"]
    padding = run["cold"]["padding_overhead"]
    return {
        "time_s": t,
        "end_to_end_s": run["cold_wall_s"],
        "cpu_s": run["cold_cpu_s"],
        "benchmark_responses": run["n_input_responses"],
        "forward_rows": run["cold"]["n_scored"],
        "responses_per_s": run["n_input_responses"] / t,
        "distinct_responses_per_s": run["cold"]["n_scored"] / t,
        "engine_reported_responses_per_s": run["cold"]["responses_per_s"],
        "engine_reported_tokens_per_s": run["cold"]["tokens_per_s"],
        "real_tokens": real,
        "padded_tokens": round(real * (1 + padding)),
        "tokens_per_s": real / t,
        "padded_tokens_per_s": real * (1 + padding) / t,
        "padding_overhead": padding,
        "flops": 2 * flop_params * real / t,
        "matmul_flops": run["matmul_flops"],
        "flops_fraction_of_matmul": 2 * flop_params * real / t / run["matmul_flops"],
        "warm_s": run["warm_wall_s"],
        "warm_fraction_of_cold": run["warm_wall_s"] / run["cold_wall_s"],
        "warm_n_reused": run["warm"]["n_reused"] if run["warm"] else None,
        "peak_rss_mib": run["peak_rss_mib"],
        "time_split_s": {
            "load_model (load_scorer)": timers.get("load_model", 0.0),
            "encode (template+tokenize)": timers.get("encode", 0.0),
            "model forward": sum(b[2] for b in run["batches"]),
            "pad_batch": timers.get("pad_batch", 0.0),
            "write_parquet (shards+runs)": timers.get("write_parquet", 0.0),
            "reusable_scores (lake scan)": timers.get("reusable_scores", 0.0),
        },
    }


def compare_scores(pairs, baseline: dict, ours: dict) -> dict:
    """Per-response agreement of the two engines on the same weights."""
    deltas, same_acc, n = [], 0, 0
    base = {row["example_id"]: row for row in baseline["scores"]}
    for row in pairs.iter_rows(named=True):
        b = base[row["example_id"]]
        oc, orj = ours["scores"][row["chosen_id"]], ours["scores"][row["rejected_id"]]
        deltas += [abs(b["chosen"] - oc), abs(b["rejected"] - orj)]
        same_acc += (b["chosen"] > b["rejected"]) == (oc > orj)
        n += 1
    deltas.sort()
    return {
        "max_abs_delta": deltas[-1],
        "median_abs_delta": deltas[len(deltas) // 2],
        "share_within_1e-4": sum(d <= 1e-4 for d in deltas) / len(deltas),
        "pairs_with_same_outcome": same_acc,
        "pairs": n,
    }


def token_accounting(args, summary: dict) -> dict:
    """Exact padded-token counts of both engines' batching on larger sets (tokenization only, no model
    run), and the times they imply at the padded-token speeds measured above. The engine's own
    `ClassifierScorer.encode` and `token_batches` are used for ours; rewardbench's batching is counted
    as fixed chunks of `batch_size` in dataset order, chosen and rejected in separate passes."""
    import types

    from transformers import AutoTokenizer

    from rb_pipeline.core.settings import ScorerSettings
    from rb_pipeline.engine.scoring import token_batches
    from rb_pipeline.models.classifier import ClassifierScorer
    from rb_pipeline.models.templates import resolve_template

    examples, responses = load_rmb_pairwise()
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    settings = ScorerSettings(max_length=args.max_length, batch_size=args.batch_size)
    fake = types.SimpleNamespace(
        tokenizer=tokenizer, template=resolve_template(None, tokenizer.chat_template), settings=settings
    )
    distinct = responses.join(examples.select("example_id", "prompt"), on="example_id").unique(
        "response_id", keep="first", maintain_order=True
    )
    encoded = ClassifierScorer.encode(
        fake, distinct["prompt"].to_list(), distinct["text"].to_list(), distinct["response_id"].to_list()
    )
    length = {item.response_id: len(item.input_ids) for item in encoded}
    by_id = {item.response_id: item for item in encoded}
    speed_b = summary["baseline"]["padded_tokens_per_s"]
    speed_o = summary["ours"]["padded_tokens_per_s"]
    out = {}
    sets = {"full_rmb_pairwise": examples}
    if args.account_pairs:
        sets[f"sample_{args.account_pairs}_pairs"] = sample_by_prompt(
            examples, args.account_pairs, seed=args.seed
        )
    for name, picked in sets.items():
        pairs = pairs_table(picked, responses.join(picked.select("example_id"), on="example_id", how="semi"))
        base_real = base_padded = 0
        for column in ("chosen_id", "rejected_id"):  # two passes, dataset order, fixed batches
            lengths = [length[rid] for rid in pairs[column].to_list()]
            for i in range(0, len(lengths), args.batch_size):
                chunk = lengths[i : i + args.batch_size]
                base_real += sum(chunk)
                base_padded += max(chunk) * len(chunk)
        ids = set(pairs["chosen_id"].to_list()) | set(pairs["rejected_id"].to_list())
        items = [by_id[i] for i in ids]
        ours_real = sum(len(item.input_ids) for item in items)
        ours_padded = sum(
            len(batch) * len(batch[0].input_ids)
            for batch in token_batches(items, settings.batch_size, settings.token_budget)
        )
        out[name] = {
            "pairs": pairs.height,
            "benchmark_responses": 2 * pairs.height,
            "distinct_responses": len(ids),
            "truncated_at_max_length": sum(1 for i in ids if by_id[i].truncated_tokens > 0),
            "baseline_real_tokens": base_real,
            "baseline_padded_tokens": base_padded,
            "baseline_padding_overhead": base_padded / base_real - 1,
            "ours_real_tokens": ours_real,
            "ours_padded_tokens": ours_padded,
            "ours_padding_overhead": ours_padded / ours_real - 1,
            "work_ratio_padded_tokens": base_padded / ours_padded,
            "projected_baseline_s": base_padded / speed_b,
            "projected_ours_s": ours_padded / speed_o,
            "projected_ratio": (base_padded / speed_b) / (ours_padded / speed_o),
        }
    out["projection_rule"] = (
        "time = padded tokens / median padded tokens per second measured in this run, per engine"
    )
    return out


def compare_shared_prompts(folder: Path, args, flop_params: int) -> dict:
    """Ours with shared prompts (the default) against ours with every response scored whole, one pair
    of runs per repeat (order alternating): the median time ratio, the responses that continued a
    cached prompt, and the largest score difference (the same scores, to float rounding)."""
    ratios, runs = [], []
    for r in range(args.repeats):
        pair = {}
        for shared in (True, False) if r % 2 == 0 else (False, True):
            eprint(f"shared prompts {'on' if shared else 'off'}, repeat {r + 1}/{args.repeats} ...")
            tag = "-shared" if shared else "-whole"
            pair[shared] = run_ours(folder, r, args, tag=tag, shared_prompts=shared)
        on, off = (summarize_ours(pair[shared], flop_params) for shared in (True, False))
        ratios.append(off["time_s"] / on["time_s"])
        runs.append(pair)
    scores_on, scores_off = runs[0][True]["scores"], runs[0][False]["scores"]
    return {
        "ratio_whole_over_shared_time_s": median(ratios),
        "per_repeat_ratio": ratios,
        "n_prompt_shared": runs[0][True]["cold"].get("n_prompt_shared"),
        "n_prompt_full": runs[0][True]["cold"].get("n_prompt_full"),
        "max_abs_score_delta": max(abs(scores_on[rid] - scores_off[rid]) for rid in scores_off),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--sweep",
        nargs="*",
        default=[],
        metavar="BUDGET:BATCH",
        help="also run ours once per token_budget:batch_size (e.g. 2048:64), for recommendations",
    )
    parser.add_argument(
        "--account-pairs",
        type=int,
        default=2000,
        help="exact token accounting (no model run) on this many pairs and on the full set, for projections",
    )
    parser.add_argument(
        "--compare-shared-prompts",
        action="store_true",
        help="also run ours once per repeat with shared prompts off (every response whole), same data",
    )
    parser.add_argument("--output", default=str(RESULTS / "throughput.json"))
    args = parser.parse_args()
    set_offline_env()
    if not RB_VENV_PYTHON.exists():
        sys.exit("bench/.venv-rewardbench is missing: run bench/setup_rewardbench_venv.sh first")
    import polars as pl
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    machine = machine_info()
    folder, data_info = prepare(args.pairs, args.seed)
    pairs = pl.read_parquet(folder / "pairs.parquet")
    eprint(f"data: {data_info}")

    repeats = []
    for r in range(args.repeats):
        order = ("baseline", "ours") if r % 2 == 0 else ("ours", "baseline")
        runs = {}
        for engine in order:
            eprint(f"repeat {r + 1}/{args.repeats}: {engine} ...")
            t0 = time.perf_counter()
            runs[engine] = (
                run_baseline(folder, r, args)
                if engine == "baseline"
                else run_ours(folder, r, args, op_profile=r == 0)
            )
            eprint(f"  {engine} done in {time.perf_counter() - t0:.0f} s")
        repeats.append(runs)

    params = repeats[0]["ours"]["params"]
    flop_params = params["non_embedding"]
    per_repeat = []
    for runs in repeats:
        b = summarize_baseline(runs["baseline"], flop_params)
        o = summarize_ours(runs["ours"], flop_params)
        per_repeat.append(
            {
                "order": list(runs),
                "baseline": b,
                "ours": o,
                "ratio_ours_over_baseline": b["time_s"] / o["time_s"],
                "ratio_end_to_end": b["end_to_end_s"] / o["end_to_end_s"],
                "ratio_cpu_time": b["cpu_s"] / o["cpu_s"],
            }
        )

    def med(path):
        values = []
        for rep in per_repeat:
            value = rep
            for key in path:
                value = value[key]
            values.append(value)
        return median(values)

    keys_b = [k for k, v in per_repeat[0]["baseline"].items() if isinstance(v, (int, float))]
    keys_o = [k for k, v in per_repeat[0]["ours"].items() if isinstance(v, (int, float))]
    summary = {
        "baseline": {k: med(("baseline", k)) for k in keys_b},
        "ours": {k: med(("ours", k)) for k in keys_o},
        "ours_time_split_s": {
            k: median([rep["ours"]["time_split_s"][k] for rep in per_repeat])
            for k in per_repeat[0]["ours"]["time_split_s"]
        },
        "ratio_ours_over_baseline": med(("ratio_ours_over_baseline",)),
        "ratio_end_to_end": med(("ratio_end_to_end",)),
        "ratio_cpu_time": med(("ratio_cpu_time",)),
    }
    b, o = summary["baseline"], summary["ours"]
    summary["ratio_decomposition"] = {
        "work_ratio_padded_tokens (baseline/ours)": b["padded_tokens"] / o["padded_tokens"],
        "of_which_dedup (baseline real tokens / ours real tokens)": b["real_tokens"] / o["real_tokens"],
        "of_which_padding ((1+pad_b)/(1+pad_o))": (1 + b["padding_overhead"]) / (1 + o["padding_overhead"]),
        "speed_ratio_padded_tokens_per_s (ours/baseline)": o["padded_tokens_per_s"]
        / b["padded_tokens_per_s"],
    }
    batches = repeats[len(repeats) // 2]["ours"]["batches"]
    sweep = []
    for spec in args.sweep:
        budget, batch = (int(x) for x in spec.split(":"))
        eprint(f"sweep: token_budget={budget} batch_size={batch} ...")
        run = run_ours(folder, 0, args, token_budget=budget, batch_size=batch, tag=f"-sweep{budget}x{batch}")
        s = summarize_ours(run, flop_params)
        sweep.append(
            {
                "token_budget": budget,
                "batch_size": batch,
                "n_batches": len(run["batches"]),
                **{k: s[k] for k in ("time_s", "tokens_per_s", "padded_tokens_per_s", "padding_overhead")},
            }
        )
    shared_prompts = (
        compare_shared_prompts(folder, args, flop_params) if args.compare_shared_prompts else None
    )
    eprint("token accounting ...")
    accounting = token_accounting(args, summary)

    result = {
        "what": "rewardbench 0.1.4 classifier CLI path vs rb_pipeline.score_model, GPT-2-small-sized classifier, CPU",
        "machine": machine,
        "rewardbench_env": {
            k: repeats[0]["baseline"][k] for k in ("rewardbench_version", "transformers", "torch")
        },
        "model": {
            "architecture": "GPT2ForSequenceClassification n_layer=12 n_embd=768 n_head=12 n_positions=1024 num_labels=1",
            "weights": "random (seed 0), float32",
            "tokenizer": "byte-level BPE, 32k vocab, trained offline on 4,000 RMB texts (rb_pipeline.models.tiny_models.train_tiny_tokenizer)",
            "params": params,
            "flop_formula": "2 x non_embedding_params x real (unpadded) tokens / time",
        },
        "settings": {
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "threads": args.threads,
            "truncation": "left, at max_length, in both engines",
            "baseline_padding": "left (rewardbench sets tokenizer.padding_side='left')",
            "ours_padding": "right (tokenizer default), length-sorted token-budget batches",
            "ours_token_budget": repeats[0]["ours"]["settings"]["token_budget"],
        },
        "data": data_info,
        "time_definitions": {
            "time_s": "baseline: first to last RewardBenchPipeline call (tokenize + forward, all batches); "
            "ours: encode (template + tokenize) + the batch loop incl. shard writes",
            "end_to_end_s": "baseline: the whole rewardbench() call (model load, dataset templating with "
            "datasets.map num_proc=8, loop, output files); ours: the whole cold score_model() call",
            "responses_per_s": "benchmark responses (2 x pairs) per second of time_s",
            "tokens_per_s": "real (unpadded) tokens that went through the model per second of time_s",
        },
        "summary_median": summary,
        "score_agreement_same_weights": compare_scores(pairs, repeats[0]["baseline"], repeats[0]["ours"]),
        "per_repeat": per_repeat,
        "ours_batches_rows_width_seconds": batches,
        "ours_op_profile_8x512": repeats[0]["ours"].get("op_profile"),
        "sweep_ours_once": sweep,
        "shared_prompts_on_vs_off": shared_prompts,
        "token_accounting_and_projection": accounting,
        "total_bench_wall_s": time.perf_counter() - started,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({"summary_median": summary, "agreement": result["score_agreement_same_weights"]}, indent=2)
    )
    eprint(f"wrote {out} in {result['total_bench_wall_s']:.0f} s")


if __name__ == "__main__":
    main()
