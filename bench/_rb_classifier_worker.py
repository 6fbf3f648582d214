"""Baseline worker: the real `rewardbench` CLI code path (rewardbench 0.1.4, `rewardbench.rewardbench.rewardbench`)
on a sequence classifier, run inside `bench/.venv-rewardbench` (transformers 4.51, see setup_rewardbench_venv.sh).

Nothing of rewardbench's logic is reimplemented here. Only what CPU requires is changed, from outside:
- `BatchEncoding.to("cuda")` (hard-coded in `RewardBenchPipeline.__call__`) is redirected to the CPU;
- `--not_quantized` (bitsandbytes 8-bit needs CUDA) and `--torch_dtype float32`;
- `--force_truncation`, so that `--max_length` is applied (rewardbench then truncates on the left).
`RewardBenchPipeline.__call__` is wrapped with a timer (tokenization + forward of one fixed batch).

Prints one JSON line: timings, token/padding counts of the batches it ran, peak RSS and per-pair scores.
"""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--skip-matmul", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from common import matmul_flops

    matmul = None if args.skip_matmul else matmul_flops()

    import transformers
    from transformers.tokenization_utils_base import BatchEncoding

    original_to = BatchEncoding.to

    def to_cpu(self, device, *a, **k):  # rewardbench hard-codes .to("cuda")
        if isinstance(device, str) and device.startswith("cuda"):
            device = "cpu"
        return original_to(self, device, *a, **k)

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

    rb_args = Args(
        dataset=args.dataset,
        load_json=True,
        model=args.model,
        batch_size=args.batch_size,
        max_length=args.max_length,
        torch_dtype="float32",
        not_quantized=True,
        force_truncation=not args.no_force_truncation,
        output_dir=args.output_dir,
    )
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    rewardbench(rb_args)
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # rewardbench's per-example output (same order as the dataset)
    out_path = os.path.join(args.output_dir, f"{args.model}_outputs.jsonl")
    rows = [json.loads(line) for line in Path(out_path).read_text(encoding="utf-8").splitlines()]

    # Token accounting of exactly the batches it ran (outside the timed region): same tokenizer
    # settings as the CLI (left padding; left truncation at max_length under --force_truncation).
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    tokenizer.truncation_side = "left"
    real = padded = n_inputs = n_truncated = 0
    for key in ("text_chosen", "text_rejected"):
        texts = [row[key] for row in rows]
        lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
        n_truncated += sum(1 for n in lengths if n > args.max_length)
        kept = [min(n, args.max_length) for n in lengths]
        for i in range(0, len(kept), args.batch_size):
            chunk = kept[i : i + args.batch_size]
            real += sum(chunk)
            padded += max(chunk) * len(chunk)
            n_inputs += len(chunk)

    loop_wall = calls[-1][1] - calls[0][0] if calls else 0.0
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
                "n_inputs": n_inputs,
                "n_truncated": n_truncated,
                "real_tokens": real,
                "padded_tokens": padded,
                "peak_rss_mib": peak_rss_mib,
                "scores": [
                    {
                        "example_id": row["example_id"],
                        "chosen": row["scores_chosen"],
                        "rejected": row["scores_rejected"],
                    }
                    for row in rows
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
