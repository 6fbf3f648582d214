"""File modes follow the umask (core.paths.current_umask): 0666 less the umask for every file written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest

from rb_pipeline.core.lake import publish_parquet, write_parquet


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_lake_files_get_0666_less_the_umask_like_the_warehouse(tmp_path: Path, umask: int, mode: int) -> None:
    """Lake files were created 0600 (mkstemp) while the warehouse was 0644: a lake shared by a group
    was readable by its owner alone."""
    previous = os.umask(umask)
    try:
        frame = pl.DataFrame({"x": [1]})
        written = [
            write_parquet(frame, tmp_path / "a.parquet"),
            publish_parquet(frame, tmp_path, "part-00000"),
        ]
        with duckdb.connect(str(tmp_path / "w.duckdb")) as con:  # DuckDB's own file, as the warehouse is
            con.execute("create table t as select 1")
        written.append(tmp_path / "w.duckdb")
    finally:
        os.umask(previous)
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in written} == {
        path.name: mode for path in written
    }
