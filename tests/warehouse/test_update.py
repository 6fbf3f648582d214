"""The incremental warehouse update (rb_pipeline.warehouse.update) against the full rebuild, on
test_views' hand-made lake: after each new run the updated file must hold exactly the rows a full
rebuild of the same lake holds, having recomputed only the models the run touched."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.core.lake import SET_ASIDE_SUFFIX, dataset_path, publish_parquet, scores_dir, write_parquet
from rb_pipeline.core.paths import lake_dir, warehouse_path
from rb_pipeline.core.runs import write_run
from rb_pipeline.warehouse import update as update_module
from rb_pipeline.warehouse.update import PER_MODEL_TABLES, STATE_TABLE, rebuild_warehouse, update_warehouse
from rb_pipeline.warehouse.views import build_warehouse
from tests.hand_made import HAND_MADE_CATALOG, write_hand_made_lake, write_hand_made_run

ENSEMBLE = "ensemble:m1+m2"


@pytest.fixture
def catalog(rb_home) -> dict[str, Benchmark]:
    """The hand-made lake with one run of m1 (scores flipped), an ensemble of m1 and m2 in the
    catalog, and the warehouse built whole."""
    (rb_home / "ensembles.yaml").write_text("ensembles:\n  - members: [m1, m2]\n")
    write_hand_made_lake({"m1": {"r1-old": ("complete", ["hm", "hm-prior"], True)}})
    benchmarks = {name: Benchmark.model_validate(raw) for name, raw in HAND_MADE_CATALOG.items()}
    rebuild_warehouse(benchmarks)
    return benchmarks


def contents(path) -> dict[str, pl.DataFrame]:
    """Every per-model table and the leaderboard, rows sorted."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            name: con.sql(f"select * from {name} order by all").pl()
            for name in (*PER_MODEL_TABLES, "leaderboard", "section_scores")
        }


def write_imported_run(model: str, run_id: str) -> None:
    """An imported run of `model` on `hm` (subset a1 at 0.9), as `rb-pipeline import` writes it."""
    metrics = pl.DataFrame(
        [{"model": model, "run_id": run_id, "benchmark": "hm", "subset": "a1", "n": 10, "accuracy": 0.9}]
    )
    write_parquet(metrics, lake_dir("imported_metrics", f"{run_id}.parquet"))
    ended = datetime(2026, 2, 1, tzinfo=UTC)
    write_run(
        {
            "run_id": run_id,
            "model": model,
            "benchmarks": ["hm"],
            "status": "complete",
            "ended_at": ended,
            "provenance": "imported",
        }
    )


def test_each_incremental_update_equals_the_full_rebuild(catalog, rb_home):
    steps = [
        # a new model: its rows, and the ensemble's (both members now scored), computed with m1's
        (lambda: write_hand_made_run("m2", "r4", "complete", ["hm"], False, day=5), {"m1", "m2", ENSEMBLE}),
        # a newer run of m1: its latest run moves (and so does the ensemble's run id)
        (
            lambda: write_hand_made_run("m1", "r2", "complete", ["hm", "hm-prior"], False, day=6),
            {"m1", "m2", ENSEMBLE},
        ),
        # an imported model, in no ensemble: only its rows are computed
        (lambda: write_imported_run("m9", "imp-9"), {"m9"}),
        # a re-run of m1 that reproduces r2's every outcome (a warm re-run): the run moves, the outcome
        # digests do not, so the intervals, rank groups and suspect labels are kept, not recomputed
        (
            lambda: write_hand_made_run("m1", "r3", "complete", ["hm", "hm-prior"], False, day=7),
            {"m1", "m2", ENSEMBLE},
        ),
    ]
    full = rb_home / "full.duckdb"
    for number, (write, touched) in enumerate(steps):
        write()
        update = update_warehouse(catalog)
        assert (update.mode, set(update.models)) == ("incremental", touched), update
        assert update.outcomes_changed == (number < 3), update
        build_warehouse(catalog, full)
        incremental, rebuilt = contents(warehouse_path()), contents(full)
        for name, frame in rebuilt.items():
            assert incremental[name].equals(frame), (name, incremental[name], frame)
    # every model is there once: m1's two runs, m2's, the ensemble's (one per benchmark), m9's
    runs = rebuilt["runs_history"].select("model", "run_id").unique().sort(pl.all())
    assert runs["model"].to_list() == [ENSEMBLE, "m1", "m1", "m1", "m2", "m9"]
    assert rebuilt["leaderboard"].height == 4  # ensemble, m1, m2, m9


def test_nothing_new_leaves_the_file_as_it_was(catalog):
    path = warehouse_path()
    before = path.stat()
    update = update_warehouse(catalog)
    assert update.mode == "unchanged"
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )


def test_a_reader_keeps_its_file_while_the_update_swaps_in_the_new_one(catalog):
    path = warehouse_path()
    with duckdb.connect(str(path), read_only=True) as reader:  # open during the whole update
        write_hand_made_run("m2", "r4", "complete", ["hm"], False, day=5)
        assert update_warehouse(catalog).mode == "incremental"
        assert reader.sql("select count(*) from runs_history where model = 'm2'").fetchall() == [(0,)]
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.sql("select count(*) from runs_history where model = 'm2'").fetchall() == [(1,)]
        (state,) = con.sql(f"select mode, models from {STATE_TABLE}").fetchall()
    assert state == ("incremental", sorted(["m1", "m2", ENSEMBLE]))
    assert not [name for name in os.listdir(path.parent) if name.endswith((".tmp", ".wal"))]


def test_changed_normalized_data_or_asking_rebuilds_whole(catalog):
    responses = pl.read_parquet(dataset_path("responses", "hm"))
    write_parquet(responses.with_columns(text=pl.col("text") + "!"), dataset_path("responses", "hm"))
    update = update_warehouse(catalog)
    assert (update.mode, update.reason) == ("full", "the normalized data, catalog, SQL or code changed")
    assert update_warehouse(catalog).mode == "unchanged"
    assert update_warehouse(catalog, rebuild=True).mode == "full"


def write_hashed_run(model: str, run_id: str, day: int) -> Path:
    """A run of the hand-made scores whose shard is named by the sha256 of its bytes, as the engine
    publishes it (`core.lake.publish_parquet`)."""
    write_hand_made_run(model, run_id, "complete", ["hm"], False, day=day)
    plain = scores_dir(model, run_id) / "part-00000.parquet"
    hashed = publish_parquet(pl.read_parquet(plain), plain.parent, "part-00000")
    plain.unlink()
    return hashed


def test_an_update_hashes_only_the_score_files_it_has_no_record_of(catalog, rb_home, monkeypatch):
    """Issue 28: the check cost an update that finds nothing new ~19% (it listed the lake a second
    time). It reads the update's own listing now, and only the files the warehouse has not recorded."""
    hashed: list[str] = []
    real = update_module.hash_differs
    monkeypatch.setattr(update_module, "hash_differs", lambda path: hashed.append(path.name) or real(path))
    first = write_hashed_run("m2", "r4", day=5)
    assert update_warehouse(catalog).mode == "incremental"
    assert hashed == [first.name]  # the new file alone (m1's is no hashed name: nothing to check)
    hashed.clear()
    assert update_warehouse(catalog).mode == "unchanged"
    assert hashed == []  # recorded unchanged (path, size, mtime) by the update that checked it
    second = write_hashed_run("m2", "r5", day=6)
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped in the checked file: its mtime changes
    first.write_bytes(bytes(data))
    done = update_warehouse(catalog)
    assert sorted(hashed) == sorted([first.name, second.name])
    assert done.set_aside == (str(first) + SET_ASIDE_SUFFIX,) and not first.exists()
    assert done.mode == "incremental" and "m2" in done.models
    full = build_warehouse(catalog, rb_home / "full.duckdb")  # the same rows as a rebuild without it
    incremental, rebuilt = contents(warehouse_path()), contents(full)
    for name, frame in rebuilt.items():
        assert incremental[name].equals(frame), (name, incremental[name], frame)
