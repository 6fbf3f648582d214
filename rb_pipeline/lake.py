"""The Parquet lake: every write goes to a temporary name and is renamed into place."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rb_pipeline.paths import atomic_path, encode_model_id, lake_dir
from rb_pipeline.storage import read_parquet

DATASET_TABLES = ("examples", "responses", "rejects")


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame so that no reader ever sees half a file."""
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp, compression="zstd")
    return path


def dataset_path(table: str, benchmark: str) -> Path:
    """`lake/<table>/benchmark=<name>/part-0.parquet` for examples, responses and rejects."""
    return lake_dir(table, f"benchmark={benchmark}", "part-0.parquet")


def read_dataset(table: str, benchmark: str) -> pl.DataFrame:
    """One benchmark's normalized table."""
    path = dataset_path(table, benchmark)
    if not path.exists():
        raise FileNotFoundError(f"{path}: benchmark {benchmark!r} is not materialized yet")
    return read_parquet(path)


def scores_dir(model_id: str, run_id: str | None = None) -> Path:
    """`lake/scores/model=<org--name>[/run=<id>]`."""
    base = lake_dir("scores", f"model={encode_model_id(model_id)}")
    return base if run_id is None else base / f"run={run_id}"


def run_path(run_id: str) -> Path:
    """One Parquet row per run, rewritten (atomically) when its status changes."""
    return lake_dir("runs", f"{run_id}.parquet")
