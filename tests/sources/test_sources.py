"""Where benchmark data is read from (rb_pipeline.sources.normalize.planned_origin, the one place that decides):
the full data by default (`$RB_MIRROR`, else the pinned Hub revision), the shipped samples only with
`RB_SOURCE=sample` (demo, tests, `--sample`). Real catalog, a hand-made mirror folder, no network."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.catalog.entries import SAMPLES_DIR, load_benchmarks
from rb_pipeline.core.paths import source_mode
from rb_pipeline.sources.normalize import normalize, planned_origin, snapshot_path, source_problem
from rb_pipeline.sources.records import SourceError


@pytest.fixture
def full(rb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default mode (no RB_SOURCE), offline, no mirror."""
    monkeypatch.delenv("RB_SOURCE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return rb_home


def fake_mirror(tmp_path: Path, *paths: str) -> Path:
    """A mirror folder holding copies of the shipped samples at these catalog paths."""
    mirror = tmp_path / "mirror"
    for path in paths:
        source, target = SAMPLES_DIR / path, mirror / path
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    return mirror


def test_default_is_full_data_and_offline_says_what_to_do(full: Path) -> None:
    catalog = load_benchmarks()
    assert source_mode() == "full"
    assert source_problem(catalog["rewardbench"]) == (
        "rewardbench: RB_MIRROR is not set and the Hub is offline (HF_HUB_OFFLINE=1): set RB_MIRROR or go online"
    )
    with pytest.raises(
        SourceError, match=r"^rmb-bon: RB_MIRROR is not set and the catalog names no Hub source"
    ):
        normalize(catalog["rmb-bon"])  # never the shipped samples without asking


def test_samples_only_when_asked(full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RB_MIRROR", str(fake_mirror(tmp_path, "rmb/RMB_dataset/BoN_set")))
    monkeypatch.setenv("RB_SOURCE", "sample")
    catalog = load_benchmarks()
    assert planned_origin(catalog["rmb-bon"]) == "sample"  # even with a mirror there
    data = normalize(catalog["rmb-bon"])
    assert {s.origin for s in data.sources} == {"sample"}
    assert all(s.path.is_relative_to(SAMPLES_DIR) for s in data.sources)
    assert "no shipped sample" in source_problem(catalog["reward-bench-2"])  # Hub only: never downloaded
    monkeypatch.setenv("RB_SOURCE", "everything")
    with pytest.raises(ValueError, match="RB_SOURCE='everything'"):
        source_mode()


def test_mirror_where_every_file_is_there_else_the_hub(
    full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_benchmarks()
    rewardbench_files = [s.path for s in catalog["rewardbench"].local]
    mirror = fake_mirror(tmp_path, "rmb/RMB_dataset/BoN_set", *rewardbench_files)
    monkeypatch.setenv("RB_MIRROR", str(mirror))
    catalog = load_benchmarks()
    assert planned_origin(catalog["rmb-bon"]) == "mirror"
    data = normalize(catalog["rmb-bon"])
    assert {s.origin for s in data.sources} == {"mirror"} and data.examples.height == 98  # 49 files x 2
    # every rewardbench file is in the mirror, but one is a sample of the Hub split: the full set is the Hub's
    assert source_problem(catalog["rewardbench"]).startswith(
        "rewardbench: not in RB_MIRROR and the Hub is offline"
    )
    assert source_problem(catalog["rmb-pairwise"]).startswith(
        "rmb-pairwise: not in RB_MIRROR and the catalog"
    )
    # RB_SOURCE=hub prefers the Hub where the catalog names one; RMB has none
    monkeypatch.setenv("RB_SOURCE", "hub")
    assert planned_origin(catalog["rmb-bon"]) == "mirror"


def test_a_downloaded_hub_snapshot_is_read_offline(full: Path) -> None:
    """Downloaded once into the lake, a pinned Hub split is read from there, also offline."""
    bench = load_benchmarks()["rewardbench"]
    rows = pl.read_ndjson(SAMPLES_DIR / "rewardbench-sources" / "rewardbench_sample_4rows.jsonl")
    target = snapshot_path(bench, "filtered")
    target.parent.mkdir(parents=True)
    rows.write_parquet(target)
    assert planned_origin(bench) == "hub@allenai/reward-bench@main"
    data = normalize(bench)
    assert [s.origin for s in data.sources] == ["hub"] and data.examples.height == 4
