"""Baseline worker: the real `rewardbench` CLI code path (rewardbench 0.1.4, `rewardbench.rewardbench.rewardbench`)
on a sequence classifier, run inside `bench/.venv-rewardbench` (transformers 4.51, see setup_rewardbench_venv.sh).

Nothing of rewardbench's logic is reimplemented here. Only what CPU requires is changed, from outside:
- `BatchEncoding.to("cuda")` (hard-coded in `RewardBenchPipeline.__call__`) is redirected to the CPU
  (not with `--device cuda`);
- `--not_quantized` (bitsandbytes 8-bit needs CUDA) and `--torch_dtype` (float32, or bfloat16 on a GPU);
- `--force_truncation`, so that `--max_length` is applied (rewardbench then truncates on the left).
`RewardBenchPipeline.__call__` is wrapped with a timer (tokenization + forward of one fixed batch).

`--bon-dataset` (instruction format, one row per best-of-N response) runs a second `rewardbench()`
call in the same process after the pairs, as a user would run the CLI once per format.
`--bare` (the timed runs) does only that: no matmul reference and no token accounting afterwards.

Prints one JSON line: timings, token/padding counts of the batches it ran, peak RSS and the scores.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="model folder, relative to the working directory")
    parser.add_argument("--dataset", required=True, help="JSON lines with chosen/rejected message lists")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-force-truncation", action="store_true")
    parser.add_argument("--bon-dataset", help="JSON lines in the instruction format (`messages`)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--skip-matmul", action="store_true")
    parser.add_argument("--bare", action="store_true", help="no matmul reference, no token accounting")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from common import matmul_flops

    matmul = None if args.bare or args.skip_matmul or args.device != "cpu" else matmul_flops()

    import transformers
    from transformers.tokenization_utils_base import BatchEncoding

    original_to = BatchEncoding.to

    def to_cpu(self, device, *a, **k):  # rewardbench hard-codes .to("cuda")
        if isinstance(device, str) and device.startswith("cuda"):
            device = "cpu"
        return original_to(self, device, *a, **k)

    if args.device == "cpu":
        BatchEncoding.to = to_cpu

    from rewardbench.models.pipeline import RewardBenchPipeline
    from rewardbench.rewardbench import Args, rewardbench

    calls: list[tuple[float, float, int]] = []
    original_call = RewardBenchPipeline.__call__

    def timed_call(self, samples, *a, **k):
        start = time.perf_counter()
        out = original_call(self, samples, *a, **k)
        calls.append((start, time.perf_counter(), len(samples)))
        return out

    RewardBenchPipeline.__call__ = timed_call

    def run(dataset: str, output_dir: str) -> None:
        rewardbench(
            Args(
                dataset=dataset,
                load_json=True,
                model=args.model,
                batch_size=args.batch_size,
                max_length=args.max_length,
                torch_dtype=args.dtype,
                not_quantized=True,
                force_truncation=not args.no_force_truncation,
                output_dir=output_dir,
            )
        )

    bon_dir = args.output_dir.rstrip("/") + "-bon/"
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    run(args.dataset, args.output_dir)
    n_pair_calls = len(calls)
    if args.bon_dataset:
        run(args.bon_dataset, bon_dir)
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # rewardbench's per-example output (same order as the dataset)
    def outputs(output_dir: str) -> list[dict]:
        path = Path(output_dir) / f"{args.model}_outputs.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    rows = outputs(args.output_dir)
    bon_rows = outputs(bon_dir) if args.bon_dataset else []

    # Token accounting of exactly the batches it ran (outside the timed region): same tokenizer
    # settings as the CLI (left padding; left truncation at max_length under --force_truncation).
    # Per text: its length as kept and whether it ran unpadded (the longest of its batch).
    accounting = {"real_tokens": None, "padded_tokens": None, "n_inputs": None, "n_truncated": None}
    unpadded: dict[str, list[bool]] = {}
    if not args.bare:
        tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
        tokenizer.truncation_side = "left"
        real = padded = n_inputs = n_truncated = 0
        columns = {"text_chosen": rows, "text_rejected": rows, "text": bon_rows}
        for key, source in columns.items():
            texts = [row[key] for row in source]
            lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]] if texts else []
            n_truncated += sum(1 for n in lengths if n > args.max_length)
            kept = [min(n, args.max_length) for n in lengths]
            unpadded[key] = []
            for i in range(0, len(kept), args.batch_size):
                chunk = kept[i : i + args.batch_size]
                real += sum(chunk)
                padded += max(chunk) * len(chunk)
                n_inputs += len(chunk)
                unpadded[key] += [n == max(chunk) for n in chunk]
        accounting = {
            "real_tokens": real,
            "padded_tokens": padded,
            "n_inputs": n_inputs,
            "n_truncated": n_truncated,
        }

    # the scoring loops: first to last pipeline call of each rewardbench() call (tokenize + forward)
    loops = [calls[:n_pair_calls], calls[n_pair_calls:]]
    loop_wall = sum(part[-1][1] - part[0][0] for part in loops if part)
    print(
        json.dumps(
            {
                "engine": "rewardbench",
                "rewardbench_version": _version("rewardbench"),
                "transformers": transformers.__version__,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "matmul_flops": matmul,
                "wall_s": wall,
                "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
                "loop_wall_s": loop_wall,
                "pipeline_calls_s": sum(end - begin for begin, end, _ in calls),
                "n_calls": len(calls),
                **accounting,
                "peak_rss_mib": peak_rss_mib,
                "scores": [
                    {
                        "example_id": row["example_id"],
                        "chosen": row["scores_chosen"],
                        "rejected": row["scores_rejected"],
                        "chosen_unpadded": (unpadded.get("text_chosen") or [None] * len(rows))[i],
                        "rejected_unpadded": (unpadded.get("text_rejected") or [None] * len(rows))[i],
                    }
                    for i, row in enumerate(rows)
                ],
                "bon_scores": [
                    {
                        "response_id": row["response_id"],
                        "score": row["results"],
                        "unpadded": (unpadded.get("text") or [None] * len(bon_rows))[i],
                    }
                    for i, row in enumerate(bon_rows)
                ],
            }
        )
    )
    sys.stdout.flush()


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


if __name__ == "__main__":
    main()
