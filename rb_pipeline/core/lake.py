"""The Parquet lake: every write goes to a temporary name and is renamed into place.

Published score shards carry the sha256 of their bytes in their name (`part-00000-<sha256>.parquet`):
the name is the record of what was written, renamed into place with the bytes, so a file changed
afterwards (by hand, a `COPY ... TO`, a bad disk) is detected before its scores are reused.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import polars as pl

from rb_pipeline.core.paths import atomic_path, encode_model_id, lake_dir
from rb_pipeline.core.storage import read_parquet

_HASHED_NAME = re.compile(r"-([0-9a-f]{64})\.parquet$")
SET_ASIDE_SUFFIX = ".unverified"  # a published file whose bytes no longer match its name


class UnverifiedFile(ValueError):
    """A published file whose content hash differs from the one recorded when it was written."""


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame so that no reader ever sees half a file."""
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp, compression="zstd")
    return path


def publish_parquet(frame: pl.DataFrame, folder: Path, stem: str) -> Path:
    """Write `folder/<stem>-<sha256 of the bytes>.parquet` atomically; return its path."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    data = buffer.getvalue()
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()}.parquet"
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def read_verified_parquet(path: Path) -> pl.DataFrame:
    """A published file, after checking its bytes against the hash in its name; files written before
    names carried a hash (`part-00000.parquet`) have nothing to check and are read as they are."""
    data = path.read_bytes()
    if _differs(path, hashlib.sha256(data).hexdigest()):
        raise UnverifiedFile(f"{path}: content hash differs from the one recorded when it was written")
    return pl.read_parquet(io.BytesIO(data))


def hash_differs(path: Path) -> bool:
    """True when a published file's bytes differ from the sha256 its name records (read in chunks;
    False for a name without one)."""
    if not _HASHED_NAME.search(path.name):
        return False
    with path.open("rb") as file:
        return _differs(path, hashlib.file_digest(file, "sha256").hexdigest())


def _differs(path: Path, sha256: str) -> bool:
    recorded = _HASHED_NAME.search(path.name)
    return recorded is not None and recorded.group(1) != sha256


def set_aside(path: Path) -> Path:
    """Rename a file out of every `*.parquet` glob (readers and views no longer see it)."""
    target = path.with_name(path.name + SET_ASIDE_SUFFIX)
    path.rename(target)
    return target


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
    """`lake/scores/model=<org--name>[/run=<id>]`: a run's folder holds the scores it computed (a
    score is stored once; later runs with the same settings refer to it, see `sql/run_scores.sql`)."""
    base = lake_dir("scores", f"model={encode_model_id(model_id)}")
    return base if run_id is None else base / f"run={run_id}"


def run_path(run_id: str) -> Path:
    """One Parquet row per run, rewritten (atomically) when its status changes."""
    return lake_dir("runs", f"{run_id}.parquet")
