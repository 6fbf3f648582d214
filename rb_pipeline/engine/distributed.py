"""Data-parallel scoring across the GPUs (or CPU processes) of one node, with torchrun.

    torchrun --standalone --nproc-per-node N -m rb_pipeline.engine.distributed --model ID [--benchmark B ...]

Each process scores every N-th new response (`scoring.data_parallel_share`) on its own device
(`cuda:LOCAL_RANK`, NCCL; else the CPU, gloo) and writes its own shards into the one run; rank 0
writes the run's record. Scores do not depend on how responses are batched, so they equal a
single-process run's. `launch` starts torchrun from the scores asset and the CLI (`nproc_per_node`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rb_pipeline.engine.runs import RunResult


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rb_pipeline.engine.distributed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model", required=True, help="a model id of the model catalog")
    parser.add_argument("--benchmark", action="append", default=[], help="repeatable; default: all")
    parser.add_argument("--overrides", default="{}", help="scorer settings as JSON (batch_size, dtype, ...)")
    parser.add_argument("--result", type=Path, help="rank 0 writes the evaluation here as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """One torchrun worker: join the group, score this rank's share, leave."""
    import torch
    import torch.distributed as dist

    from rb_pipeline.catalog.entries import load_benchmarks, load_models
    from rb_pipeline.core.settings import settings_for
    from rb_pipeline.engine.evaluation import evaluate

    args = _parse(argv)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device, backend = f"cuda:{local_rank}", "nccl"
    else:
        device, backend = "cpu", "gloo"
    dist.init_process_group(backend)
    try:
        entry = load_models()[args.model]
        catalog = load_benchmarks()
        chosen = {k: v for k, v in catalog.items() if not args.benchmark or k in args.benchmark}
        settings = settings_for(entry, **json.loads(args.overrides))
        log = print if dist.get_rank() == 0 else (lambda _: None)
        evaluation = evaluate(entry, chosen, settings, device, log=log)
        if dist.get_rank() == 0 and args.result:
            args.result.write_text(
                json.dumps(
                    {
                        "run": asdict(evaluation.run),
                        "scored_benchmarks": evaluation.scored_benchmarks,
                        "skipped": evaluation.skipped,
                    }
                )
            )
    finally:
        dist.destroy_process_group()


def launch(
    model_id: str,
    benchmarks: list[str],
    overrides: dict,
    nproc: int,
    log: Callable[[str], None] = print,
) -> tuple[RunResult, list[str], dict[str, str]]:
    """Score one model with `nproc` torchrun workers; return rank 0's run, scored and skipped benchmarks."""
    with tempfile.TemporaryDirectory(prefix="rb-dp-") as scratch:
        result = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
        command += ["-m", "rb_pipeline.engine.distributed", "--model", model_id, "--result", str(result)]
        command += [arg for name in benchmarks for arg in ("--benchmark", name)]
        command += ["--overrides", json.dumps({k: v for k, v in overrides.items() if v is not None})]
        log(f"data parallel: {nproc} processes ({' '.join(command[2:6])})")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not result.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(
                f"model {model_id}: torchrun failed (exit {done.returncode}): " + " | ".join(tail)
            )
        report = json.loads(result.read_text())
    return RunResult(**report["run"]), report["scored_benchmarks"], report["skipped"]


if __name__ == "__main__":
    main()
