"""Throughput: rewardbench's classifier path vs our engine, same weights, same data, whole processes.

    .venv/bin/python bench/throughput.py --size tiny --pairs 50 --bon-lists 20 --repeats 1   # smoke test
    .venv/bin/python bench/throughput.py --pairs 1000 --bon-lists 300 --repeats 3             # the table
    .venv/bin/python bench/throughput.py --size 1b --device cuda --dtype bfloat16 ...         # on a GPU

Model: a GPT-2-sized GPT2ForSequenceClassification (`--size`: small = 12 x 768, the default; tiny =
2 x 768 for a smoke test; 1b = 24 x 1792) with random weights and a 32k BPE tokenizer trained here on
RMB texts, built once under bench/.cache/models. Data: real RMB pairwise pairs and best-of-N lists from
`$RB_MIRROR` (default ../shared/data), normalized by the project, sampled by whole prompts.

Engines, each a whole process (its start-up, imports, model load, data, scoring and output files):
- baseline: the real `rewardbench` 0.1.4 CLI code path in bench/.venv-rewardbench (transformers 4.51):
  the pairs as preference data (fixed batches of 8 in dataset order, chosen and rejected in two
  passes, padded to the batch's longest, truncated at max_length on the left, no dedup), then the
  best-of-N responses as instruction data, one row each (see _rb_classifier_worker.py);
- ours: `rb_pipeline.engine.scoring.score_model` on both benchmarks at once, cold (a fresh lake each run),
  as a user runs it: every response scored whole (the engine's default);
- ours_shared: the same with shared prompts on (`ScorerSettings.shared_prompts=True`).
(Results files before 2026-12-02's second run name these two `ours_whole` and `ours`.)
Each repeat runs all three in a rotating order (paired: each ratio is taken within a repeat, so the
three see the same machine load); a float32 matmul is timed between repeats in this process. Before
the repeats, one untimed warm-up of each engine on a few pairs (page cache, imports). Reported: per
figure min / median / max over repeats. Results: bench/results/throughput[-SIZE].json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    CACHE,
    GPT2_1B,
    GPT2_SMALL,
    OFFLINE_ENV,
    RB_VENV_PYTHON,
    RESULTS,
    build_gpt2_small_classifier,
    eprint,
    load_rmb_bon,
    load_rmb_pairwise,
    machine_info,
    matmul_flops,
    median,
    pairs_table,
    sample_by_prompt,
    set_offline_env,
    write_rewardbench_json,
    write_rewardbench_messages_json,
)

SIZES = {"tiny": {"n_layer": 2, "n_embd": 768, "n_head": 12}, "small": GPT2_SMALL, "1b": GPT2_1B}
ENGINES = ("baseline", "ours", "ours_shared")  # ours: the default (whole sequences)


# ---------------------------------------------------------------- data and model


def prepare(args) -> tuple[Path, Path, dict]:
    """Sample the pairs and lists, build the model, write both engines' inputs (plus a few pairs for
    the warm-up); return the data folder, the model folder and what the data is."""
    import polars as pl

    examples, responses = load_rmb_pairwise()
    texts = responses["text"].unique(maintain_order=True).to_list()
    model_dir = build_gpt2_small_classifier(
        CACHE / "models" / f"gpt2-{args.size}-rm", texts[::4][:4000], sizes=SIZES[args.size], dtype=args.dtype
    )
    picked = sample_by_prompt(examples, args.pairs, seed=args.seed)
    picked_responses = responses.join(picked.select("example_id"), on="example_id", how="semi")
    bon_examples, bon_responses = load_rmb_bon()
    lists = sample_by_prompt(bon_examples, args.bon_lists, seed=args.seed) if args.bon_lists else None
    lists_responses = (
        bon_responses.join(lists.select("example_id"), on="example_id", how="semi")
        if args.bon_lists
        else None
    )
    folder = CACHE / "data" / f"throughput-{args.pairs}p-{args.bon_lists}bon-{args.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    pairs = pairs_table(picked, picked_responses)
    pairs.write_parquet(folder / "pairs.parquet")
    write_inputs(folder, picked, picked_responses, lists, lists_responses)
    warmup = folder / "warmup"  # the first pair group and list: start-up costs, page cache
    few = picked.head(2)
    few_lists = lists.head(1) if lists is not None else None
    write_inputs(
        warmup,
        few,
        picked_responses.join(few.select("example_id"), on="example_id", how="semi"),
        few_lists,
        bon_responses.join(few_lists.select("example_id"), on="example_id", how="semi")
        if lists is not None
        else None,
    )

    def n_prompts(frame) -> int:
        return frame["prompt"].list.eval(pl.element().struct.field("content")).list.join("\x1f").n_unique()

    info = {
        "benchmarks": "rmb-pairwise and rmb-bon (RMB_dataset via RB_MIRROR, rb_pipeline.sources.normalize)",
        "pairs": picked.height,
        "pair_prompts": n_prompts(picked),
        "pair_responses": picked_responses.height,
        "pair_distinct_responses": picked_responses["response_id"].n_unique(),
        "bon_lists": lists.height if lists is not None else 0,
        "bon_responses": lists_responses.height if lists is not None else 0,
        "bon_distinct_responses": lists_responses["response_id"].n_unique() if lists is not None else 0,
        "sampling": f"whole prompts at random (seed {args.seed}) until >= the count asked, then dataset order",
    }
    return folder, model_dir, info


def write_inputs(folder: Path, pairs_examples, pairs_responses, bon_examples, bon_responses) -> None:
    """Ours: examples.parquet and responses.parquet of both benchmarks; rewardbench: pairs.jsonl
    (preference format) and bon.jsonl (instruction format, one row per distinct response)."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    parts = [(pairs_examples, pairs_responses)] + (
        [(bon_examples, bon_responses)] if bon_examples is not None else []
    )
    pl.concat([e for e, _ in parts], how="diagonal_relaxed").write_parquet(folder / "examples.parquet")
    pl.concat([r for _, r in parts], how="diagonal_relaxed").write_parquet(folder / "responses.parquet")
    write_rewardbench_json(pairs_table(pairs_examples, pairs_responses), folder / "pairs.jsonl")
    if bon_examples is not None:
        write_rewardbench_messages_json(bon_examples, bon_responses, folder / "bon.jsonl")


# ---------------------------------------------------------------- the engines' processes


def command(engine: str, folder: Path, model_dir: Path, args, tag: str = "") -> tuple[list[str], Path | None]:
    """The engine's whole-process command line (and its working directory)."""
    if engine == "baseline":
        out = CACHE / "rb-out" / f"throughput{tag}"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(str(out) + "-bon", ignore_errors=True)
        bon = ["--bon-dataset", str(folder / "bon.jsonl")] if (folder / "bon.jsonl").exists() else []
        cmd = [str(RB_VENV_PYTHON), str(BENCH / "_rb_classifier_worker.py"), "--bare"]
        cmd += ["--model", str(model_dir.relative_to(CACHE)), "--dataset", str(folder / "pairs.jsonl"), *bon]
        cmd += ["--output-dir", str(out.relative_to(CACHE)) + "/"]
        cwd = CACHE  # rewardbench writes <output_dir>/<model path>_outputs.jsonl: the model path is relative
    else:
        home = CACHE / "lakes" / f"throughput-{engine}{tag}"
        cmd = [sys.executable, str(BENCH / "_ours_worker.py"), "--bare", "--model", str(model_dir)]
        cmd += ["--data", str(folder), "--rb-home", str(home)]
        cmd += ["--shared-prompts", "on" if engine == "ours_shared" else "off"]
        cwd = None
    cmd += ["--batch-size", str(args.batch_size), "--max-length", str(args.max_length)]
    cmd += ["--threads", str(args.threads), "--device", args.device, "--dtype", args.dtype]
    return cmd, cwd


def run_process(cmd: list[str], cwd: Path | None, log: Path) -> dict:
    """Run one whole process; the operating system's accounting of it (wall from start to reap, user +
    system CPU, peak RSS of the largest process it waited for) and the JSON line it printed last."""
    env = (
        os.environ
        | OFFLINE_ENV
        | {"PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH", "")]))}
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if proc.returncode != 0:
        raise RuntimeError(
            f"{cmd[1]} failed ({proc.returncode}); see {log}:\n" + "\n".join(text.splitlines()[-30:])
        )
    report = json.loads([line for line in text.splitlines() if line.startswith("{")][-1])
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "report": report,
    }


# ---------------------------------------------------------------- what each engine ran


def flop_model(model_dir: Path) -> dict:
    """Parameter counts from the config (no weights loaded) and the per-token attention factor."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    embeddings = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding))
    last = model.base_model.h[-1]
    # what the last block runs at every position when it runs at the pooled token only: its first
    # LayerNorm and the key and value two thirds of its QKV projection
    kept = sum(p.numel() for p in last.ln_1.parameters()) + 2 * last.attn.c_attn.nf * (config.n_embd + 1) // 3
    return {
        "params_total": total,
        "params_non_embedding": total - embeddings,
        # QK^T and attention x V: 2 x 2 x d_model multiply-adds per (query, key) pair per layer
        "attention_flops_per_pair": 4 * config.n_embd * config.n_layer,
        "n_layer": config.n_layer,
        # per position other than the pooled one, skipped by a last block run at the pooled token only
        "last_block_skipped_flops_per_token": 2 * (sum(p.numel() for p in last.parameters()) - kept),
    }


def flops(fm: dict, tokens: int, pairs: int) -> float:
    return 2 * fm["params_non_embedding"] * tokens + fm["attention_flops_per_pair"] * pairs


def last_block_at_pooled_token(forward: list) -> bool:
    """Whether a recorded forward ran its last block at the pooled token only (results files before
    2026-12-02's third run record 6 fields: no)."""
    return len(forward) > 6 and bool(forward[6])


def executed_flops(fm: dict, forward: list) -> float:
    """What one recorded trunk forward of ours ran: its padded shapes, less the positions a last block
    run at the pooled token only skipped (all but one query per row, and their MLP)."""
    rows, width, attended = forward[:3]
    total = flops(fm, rows * width, rows * width * attended)
    if last_block_at_pooled_token(forward):
        skipped_pairs = rows * (width - 1) * attended  # the last layer's share of the attention
        total -= fm["last_block_skipped_flops_per_token"] * rows * (width - 1)
        total -= fm["attention_flops_per_pair"] / fm["n_layer"] * skipped_pairs
    return total


def baseline_work(model_dir: Path, args, fm: dict, tag: str) -> dict:
    """The tokens rewardbench's batches ran, from its own output files (its templated texts), with the
    same tokenizer settings as its CLI (left truncation at max_length, padding to the batch's longest);
    which texts ran unpadded (the longest of their batch: those scores are exact, see parity)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.truncation_side = "left"
    out = CACHE / "rb-out" / f"throughput{tag}"
    name = f"{model_dir.relative_to(CACHE)}_outputs.jsonl"

    def rows(folder: Path) -> list[dict]:
        path = folder / name
        return (
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            if path.exists()
            else []
        )

    pair_rows, bon_rows = rows(out), rows(Path(str(out) + "-bon"))
    real = padded = real_pairs = padded_pairs = n_truncated = 0
    unpadded: dict[str, list[bool]] = {}
    for key, source in (("text_chosen", pair_rows), ("text_rejected", pair_rows), ("text", bon_rows)):
        texts = [row[key] for row in source]
        lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]] if texts else []
        n_truncated += sum(1 for n in lengths if n > args.max_length)
        kept = [min(n, args.max_length) for n in lengths]
        unpadded[key] = []
        for i in range(0, len(kept), args.batch_size):
            chunk = kept[i : i + args.batch_size]
            width = max(chunk)
            real += sum(chunk)
            padded += width * len(chunk)
            real_pairs += sum(n * (n + 1) // 2 for n in chunk)  # causal: token i sees i tokens
            padded_pairs += width * width * len(chunk)
            unpadded[key] += [n == width for n in chunk]
    return {
        "forward_rows": len(pair_rows) * 2 + len(bon_rows),
        "real_tokens": real,
        "padded_tokens": padded,
        "padding_overhead": padded / real - 1,
        "n_truncated": n_truncated,
        "flops_real": flops(fm, real, real_pairs),
        "flops_executed": flops(fm, padded, padded_pairs),
        "unpadded": unpadded,
        "pair_rows": pair_rows,
        "bon_rows": bon_rows,
    }


def ours_work(report: dict, fm: dict) -> dict:
    """The tokens our engine's trunk ran, from its recorded forwards (whole sequences, shared prompts
    and the responses continued from them)."""
    forwards = report["forwards"]  # rows, width, attended, real new tokens, real pairs, seconds, last block
    real = sum(f[3] for f in forwards)
    padded = sum(f[0] * f[1] for f in forwards)
    return {
        "forward_rows": report["cold"]["n_scored"],
        "n_forwards": len(forwards),
        "n_prompt_shared": report["cold"]["n_prompt_shared"],
        "n_prompt_full": report["cold"]["n_prompt_full"],
        "real_tokens": real,
        "padded_tokens": padded,
        "padding_overhead": padded / real - 1,
        "n_truncated": report["cold"]["n_truncated"],
        "flops_real": flops(fm, real, sum(f[4] for f in forwards)),
        "flops_executed": sum(executed_flops(fm, f) for f in forwards),
        "forward_s": sum(f[5] for f in forwards),
        "n_last_block_at_pooled_token": sum(map(last_block_at_pooled_token, forwards)),
    }


def scoring_seconds(engine: str, report: dict) -> float:
    """In-process time of the scoring itself: rewardbench's pipeline loops (tokenize + forward);
    ours: encode (template + tokenize + shared-prompt marks) + the batch loop (with shard writes)."""
    if engine == "baseline":
        return report["loop_wall_s"]
    cold = report["cold"]
    return report["cold_timers_s"].get("encode", 0.0) + cold["n_scored"] / cold["responses_per_s"]


def compare_scores(pairs, work: dict, ours_scores: dict) -> dict:
    """Per-response scores of rewardbench (batches as run) against ours on the same weights: over every
    response, and over those rewardbench ran unpadded (its left padding without position ids shifts a
    GPT-2's positions, so its padded rows' scores are not the model's: see parity above). Also the
    pairs whose outcome (chosen > rejected) is the same."""
    all_deltas, unpadded_deltas, same = [], [], 0
    for i, (row, b) in enumerate(zip(pairs.iter_rows(named=True), work["pair_rows"], strict=True)):
        ours_c, ours_r = ours_scores[row["chosen_id"]], ours_scores[row["rejected_id"]]
        for score, mine, key in (
            (b["scores_chosen"], ours_c, "text_chosen"),
            (b["scores_rejected"], ours_r, "text_rejected"),
        ):
            all_deltas.append(abs(score - mine))
            if work["unpadded"][key][i]:
                unpadded_deltas.append(abs(score - mine))
        same += (b["scores_chosen"] > b["scores_rejected"]) == (ours_c > ours_r)
    for i, b in enumerate(work["bon_rows"]):
        delta = abs(b["results"] - ours_scores[b["response_id"]])
        all_deltas.append(delta)
        if work["unpadded"]["text"][i]:
            unpadded_deltas.append(delta)
    return {
        "responses": len(all_deltas),
        "max_abs_delta_all": max(all_deltas),
        "share_within_1e-4_all": sum(d <= 1e-4 for d in all_deltas) / len(all_deltas),
        "unpadded_responses": len(unpadded_deltas),
        "max_abs_delta_unpadded": max(unpadded_deltas) if unpadded_deltas else None,
        "pairs_with_same_outcome": same,
        "pairs": pairs.height,
    }


def prompt_share(model_dir: Path, max_lengths: list[int]) -> dict:
    """Token accounting only (no model run), on every distinct RMB pairwise and best-of-N response:
    the tokens scored whole, and with shared prompts as the engine marks them (`mark_shared_prompts`:
    the prompt's tokens an exact prefix of the kept sequence, another response of the same prompt),
    each distinct prompt counted once: the most that shared prompts can save, per max_length."""
    from transformers import AutoTokenizer

    from rb_pipeline.models.classifier import mark_shared_prompts, tokenize_truncated
    from rb_pipeline.models.registry import Encoded
    from rb_pipeline.models.templates import resolve_template

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    template = resolve_template(None, tokenizer.chat_template)
    out = {}
    for name, (examples, responses) in {
        "rmb-pairwise": load_rmb_pairwise(),
        "rmb-bon": load_rmb_bon(),
    }.items():
        rows = responses.join(examples.select("example_id", "prompt"), on="example_id").unique(
            "response_id", keep="first", maintain_order=True
        )
        prompts = rows["prompt"].to_list()
        conversations = [
            [*p, {"role": "assistant", "content": t}] for p, t in zip(prompts, rows["text"], strict=True)
        ]
        rendered = tokenizer.apply_chat_template(conversations, chat_template=template, tokenize=False)
        for max_length in max_lengths:
            encoded = [
                Encoded(rid, ids, cut)
                for rid, (ids, cut) in zip(
                    rows["response_id"], tokenize_truncated(tokenizer, rendered, max_length), strict=True
                )
            ]
            mark_shared_prompts(encoded, prompts, tokenizer, template)
            whole = sum(len(item.input_ids) for item in encoded)
            prefixes = {item.group() for item in encoded if item.prefix_length}
            shared = sum(len(item.input_ids) - item.prefix_length for item in encoded) + sum(
                map(len, prefixes)
            )
            out[f"{name}@{max_length}"] = {
                "responses": len(encoded),
                "truncated": sum(1 for item in encoded if item.truncated_tokens),
                "continued_from_a_shared_prompt": sum(1 for item in encoded if item.prefix_length),
                "tokens_whole": whole,
                "tokens_with_shared_prompts": shared,
                "share_saved": 1 - shared / whole,
            }
    return out


def paired_ratios(repeats: list[dict]) -> dict:
    """Whole-process wall and CPU (user + system) ratios, taken within each repeat (the engines of one
    repeat ran back to back, under the same load), as min / median / max over repeats. `repeats`: per
    repeat, engine -> {"wall_s", "cpu_s", ...} (as in the results file's `repeats`)."""
    out = {}
    for name, (a, b) in {
        "baseline_over_ours": ("baseline", "ours"),
        "baseline_over_ours_shared": ("baseline", "ours_shared"),
        "shared_off_over_on": ("ours", "ours_shared"),
    }.items():
        if all(a in rep and b in rep for rep in repeats):
            for figure in ("wall_s", "cpu_s"):
                out[f"whole_process_{figure[:-2]}_{name}"] = spread(
                    [rep[a][figure] / rep[b][figure] for rep in repeats]
                )
    return out


def spread(values: list[float]) -> dict:
    return {"min": min(values), "median": median(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--bon-lists", type=int, default=300, help="RMB best-of-N lists (0: none)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (then --dtype bfloat16)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument(
        "--engines",
        nargs="+",
        default=list(ENGINES),
        choices=ENGINES,
        help="which processes each repeat runs",
    )
    parser.add_argument(
        "--agreement-batch-size",
        type=int,
        default=0,
        help="also run rewardbench once (untimed) at this batch size for the score agreement (1: no padding)",
    )
    parser.add_argument(
        "--prompt-share",
        action="store_true",
        help="only count, on all of RMB, the tokens shared prompts save at max_length 512 and 1024 (no model run)",
    )
    parser.add_argument("--output", default=None, help="default: bench/results/throughput-<size>.json")
    args = parser.parse_args()
    set_offline_env()
    if args.prompt_share:
        model_dir = CACHE / "models" / f"gpt2-{args.size}-rm"
        share = prompt_share(model_dir, [512, 1024])
        out = Path(args.output or RESULTS / "prompt-share.json")
        out.write_text(json.dumps(share, indent=2) + "\n")
        print(json.dumps(share, indent=2))
        return
    if not RB_VENV_PYTHON.exists():
        sys.exit("bench/.venv-rewardbench is missing: run bench/setup_rewardbench_venv.sh first")
    import polars as pl
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    machine = machine_info()
    folder, model_dir, data_info = prepare(args)
    pairs = pl.read_parquet(folder / "pairs.parquet")
    fm = flop_model(model_dir)
    eprint(f"data: {data_info}\nmodel: {fm}")

    def reference() -> float:
        return matmul_flops(device=args.device, dtype=args.dtype)

    for engine in args.engines:  # warm-up, untimed
        eprint(f"warm-up: {engine} ...")
        run_process(
            *command(engine, folder / "warmup", model_dir, args, tag="-warmup"),
            CACHE / "logs" / f"warmup-{engine}.log",
        )
    matmul = [reference()]
    repeats = []
    out = Path(args.output or RESULTS / f"throughput-{args.size}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial.json")
    for r in range(args.repeats):
        order = args.engines[r % len(args.engines) :] + args.engines[: r % len(args.engines)]
        runs = {}
        for engine in order:
            eprint(f"repeat {r + 1}/{args.repeats}: {engine} ...")
            runs[engine] = run_process(
                *command(engine, folder, model_dir, args), CACHE / "logs" / f"throughput-{engine}-r{r}.log"
            )
            eprint(f"  {engine}: {runs[engine]['wall_s']:.1f} s whole process")
        matmul.append(reference())
        repeats.append({"order": order, "runs": runs})
        # the raw repeats so far, in case a long run is stopped before the summary
        partial.write_text(json.dumps({"args": vars(args), "matmul": matmul, "repeats": repeats}) + "\n")

    # what each engine ran (the same in every repeat: same data, same batching)
    last = repeats[-1]["runs"]
    work = {}
    if "baseline" in last:
        work["baseline"] = baseline_work(model_dir, args, fm, tag="")
    for engine in ("ours", "ours_shared"):
        if engine in last:
            work[engine] = ours_work(last[engine]["report"], fm)

    matmul_median = median(matmul)
    per_engine = {}
    for engine in args.engines:
        runs = [rep["runs"][engine] for rep in repeats]
        scoring = [scoring_seconds(engine, run["report"]) for run in runs]
        w = work[engine]
        per_engine[engine] = {
            "whole_process_s": spread([run["wall_s"] for run in runs]),
            "cpu_s": spread([run["cpu_s"] for run in runs]),
            "peak_rss_mib": spread([run["peak_rss_mib"] for run in runs]),
            "scoring_s": spread(scoring),
            "work": {k: v for k, v in w.items() if not isinstance(v, (dict, list))},
            "flops_real_per_s_of_scoring": w["flops_real"] / median(scoring),
            "flops_executed_per_s_of_scoring": w["flops_executed"] / median(scoring),
            "fraction_of_matmul_real": w["flops_real"] / median(scoring) / matmul_median,
            "fraction_of_matmul_executed": w["flops_executed"] / median(scoring) / matmul_median,
        }
    ratios = paired_ratios(
        [
            {e: {k: v for k, v in run.items() if k != "report"} for e, run in rep["runs"].items()}
            for rep in repeats
        ]
    )
    if "baseline" in args.engines and "ours" in args.engines:
        ratios["scoring_baseline_over_ours"] = spread(
            [
                scoring_seconds("baseline", rep["runs"]["baseline"]["report"])
                / scoring_seconds("ours", rep["runs"]["ours"]["report"])
                for rep in repeats
            ]
        )
    if "ours_shared" in args.engines and "ours" in args.engines:
        ratios["scoring_shared_off_over_on"] = spread(
            [
                scoring_seconds("ours", rep["runs"]["ours"]["report"])
                / scoring_seconds("ours_shared", rep["runs"]["ours_shared"]["report"])
                for rep in repeats
            ]
        )
        on, off = work["ours_shared"], work["ours"]
        ratios["token_work_saved_by_shared_prompts"] = {
            "real_tokens": 1 - on["real_tokens"] / off["real_tokens"],
            "padded_tokens": 1 - on["padded_tokens"] / off["padded_tokens"],
            "flops_executed": 1 - on["flops_executed"] / off["flops_executed"],
        }
        on_scores = last["ours_shared"]["report"]["scores"]
        off_scores = last["ours"]["report"]["scores"]
        ratios["max_abs_score_delta_shared_on_vs_off"] = max(
            abs(on_scores[k] - off_scores[k]) for k in off_scores
        )
    if "baseline" in args.engines:
        b = work["baseline"]
        ratios["tokens_baseline_over_ours"] = {
            engine: {
                "real": b["real_tokens"] / work[engine]["real_tokens"],
                "padded": b["padded_tokens"] / work[engine]["padded_tokens"],
            }
            for engine in ("ours", "ours_shared")
            if engine in work
        }
    agreement = None
    if "baseline" in work and "ours" in last:
        agreement = {
            "batch_as_run": compare_scores(pairs, work["baseline"], last["ours"]["report"]["scores"])
        }
        if args.agreement_batch_size:
            eprint(f"agreement: rewardbench at batch size {args.agreement_batch_size} ...")
            agree_args = argparse.Namespace(**{**vars(args), "batch_size": args.agreement_batch_size})
            run_process(
                *command("baseline", folder, model_dir, agree_args, tag="-agreement"),
                CACHE / "logs" / "throughput-agreement.log",
            )
            agreement[f"rewardbench_batch_{args.agreement_batch_size}"] = compare_scores(
                pairs,
                baseline_work(model_dir, agree_args, fm, tag="-agreement"),
                last["ours"]["report"]["scores"],
            )

    ours_split = None
    if "ours" in last:
        rep = last["ours"]["report"]
        ours_split = {
            "whole_process_s": last["ours"]["wall_s"],
            "score_model_s": rep["cold_wall_s"],
            "load_model_s": rep["cold_timers_s"].get("load_model", 0.0),
            "encode_s (template + tokenize + shared-prompt marks)": rep["cold_timers_s"].get("encode", 0.0),
            "trunk_forward_s": work["ours"]["forward_s"],
            "pad_batch_s": rep["cold_timers_s"].get("pad_batch", 0.0),
            "write_parquet_s": rep["cold_timers_s"].get("write_parquet", 0.0),
        }
    result = {
        "what": "rewardbench 0.1.4 classifier CLI path vs rb_pipeline.engine.scoring.score_model, whole processes, paired repeats",
        "machine": machine,
        "load_avg_at_end": os.getloadavg(),
        "model": {"size": args.size, **SIZES[args.size], "dtype": args.dtype, "device": args.device, **fm},
        "settings": {k: getattr(args, k) for k in ("max_length", "batch_size", "threads", "repeats", "seed")},
        "data": data_info,
        "matmul_flops_per_s": {"median": matmul_median, "all": matmul},
        "engines": per_engine,
        "ratios": ratios,
        "score_agreement_same_weights": agreement,
        "ours_time_split_last_repeat": ours_split,
        "repeats": [
            {
                "order": rep["order"],
                **{e: {k: v for k, v in run.items() if k != "report"} for e, run in rep["runs"].items()},
            }
            for rep in repeats
        ],
        "total_bench_wall_s": time.perf_counter() - started,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    partial.unlink(missing_ok=True)
    print(json.dumps({"ratios": ratios, "agreement": agreement, "ours_split": ours_split}, indent=2))
    eprint(f"wrote {out} in {result['total_bench_wall_s']:.0f} s")


if __name__ == "__main__":
    main()
