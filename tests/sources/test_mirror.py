"""Every locally available benchmark, normalized from the full copies in ../shared/data.

`RB_MIRROR` points at `../shared/data` (relative to the repository root). Where that folder is
absent (a public clone) every test here skips with one stated reason (the `mirror` marker, conftest.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.catalog.entries import SAMPLES_DIR, Benchmark, load_benchmarks
from rb_pipeline.sources.inventory import ABSENT, HUB_ONLY, PRESENT, catalog_summary
from rb_pipeline.sources.normalize import NormalizedBenchmark, local_source_files, normalize
from tests.conftest import MIRROR

pytestmark = pytest.mark.mirror
ABSENT_RMB_PAIRWISE = {
    "Harmlessness/S11",
    "Helpfulness/Brainstorming/Idea Development",
    "Helpfulness/Generation/Creative Writing",
}


@pytest.fixture(scope="module")
def mirror_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RB_MIRROR", str(MIRROR))
        patch.delenv("RB_SOURCE", raising=False)
        patch.setenv("RB_HOME", str(tmp_path_factory.mktemp("home")))
        yield MIRROR


@pytest.fixture(scope="module")
def catalog(mirror_env: Path) -> dict[str, Benchmark]:
    return load_benchmarks()


@pytest.fixture(scope="module")
def normalized(catalog: dict[str, Benchmark]) -> dict[str, NormalizedBenchmark]:
    # the local files themselves (`rewardbench` as a whole is read from the Hub: its mirror copy is partial)
    return {
        name: normalize(bench, local_source_files(bench)) for name, bench in catalog.items() if bench.local
    }


def per_subset(data: NormalizedBenchmark) -> dict[str, int]:
    return dict(Counter(data.examples["subset"].to_list()))


def test_every_local_file_comes_from_the_mirror(normalized: dict[str, NormalizedBenchmark]) -> None:
    for name, data in normalized.items():
        # the 4 verbatim RewardBench rows are a sample of the Hub split even in the mirror
        expected = {
            "sample" if s.path.name == "rewardbench_sample_4rows.jsonl" else "mirror" for s in data.sources
        }
        assert {s.origin for s in data.sources} == expected, name
        assert all(str(s.path).startswith(str(MIRROR.resolve())) for s in data.sources), name
        assert data.accepted_rows + data.rejects.height == data.source_rows, name


def test_rmb_pairwise(normalized: dict[str, NormalizedBenchmark]) -> None:
    data = normalized["rmb-pairwise"]
    assert len(data.sources) == 46
    assert data.source_rows == 14543
    # RMB's official denominator: every pair is scored, none quarantined (issue 12, fix 5); 2 pairs with
    # an empty rejected answer and 5 whose last user turn is empty are kept (RMB's scripts score them)
    assert data.rejects.height == 0
    assert data.examples.height == 14543
    assert data.examples["example_id"].n_unique() == data.examples.height
    empty_answers = data.responses.filter(pl.col("text").str.strip_chars() == "")
    assert empty_answers["label"].to_list() == ["rejected", "rejected"]
    last_turn = data.examples["prompt"].list.last().struct.field("content").str.strip_chars()
    assert (last_turn == "").sum() == 5
    # kept: 11 pairs whose chosen and rejected texts are identical (always wrong under the strict rule)
    texts = data.responses.pivot(on="label", index="example_id", values="text")
    assert texts.filter(pl.col("chosen") == pl.col("rejected")).height == 11
    # kept: answers holding U+FFFD, as published (and scored in RMB's own numbers)
    with_fffd = data.responses.filter(pl.col("text").str.contains("\ufffd"))["example_id"].n_unique()
    assert with_fffd == 31


def test_rmb_bon(normalized: dict[str, NormalizedBenchmark]) -> None:
    data = normalized["rmb-bon"]
    assert (len(data.sources), data.source_rows, data.examples.height, data.rejects.height) == (
        49,
        3786,
        3786,
        0,
    )
    per_example = data.responses.group_by("example_id").agg(
        chosen=(pl.col("label") == "chosen").sum(), rejected=(pl.col("label") == "rejected").sum()
    )
    assert per_example["chosen"].unique().to_list() == [1]
    assert per_example["rejected"].min() >= 1


def test_rewardbench_local_sources(normalized: dict[str, NormalizedBenchmark]) -> None:
    counts = per_subset(normalized["rewardbench"])
    llmbar = {k: v for k, v in counts.items() if k.startswith("llmbar")}
    assert llmbar == {
        "llmbar-natural": 100,
        "llmbar-adver-neighbor": 134,
        "llmbar-adver-GPTInst": 92,
        "llmbar-adver-GPTOut": 47,
        "llmbar-adver-manual": 46,
    }
    assert sum(counts.values()) - sum(llmbar.values()) == 4  # the 4 verbatim rows of the Hub split


def test_anthropic_hhh(normalized: dict[str, NormalizedBenchmark]) -> None:
    data = normalized["rewardbench-prior"]
    assert per_subset(data) == {"anthropic_hhh": 221}
    rows_per_file = Counter(Path(f).stem for f in data.examples["source_file"].to_list())
    assert rows_per_file == {"harmless": 58, "helpful": 59, "honest": 61, "other": 43}
    assert data.rejects.height == 0


def test_rm_bench(normalized: dict[str, NormalizedBenchmark], catalog: dict[str, Benchmark]) -> None:
    data = normalized["rm-bench"]
    rows = {"chat": 129, "code": 228, "safety-refuse": 284, "safety-response": 157}
    assert data.source_rows == sum(rows.values()) == 798
    assert data.examples.height == 9 * 798 and data.rejects.height == 0
    expected = {
        f"{domain}/{level}": 3 * n for domain, n in rows.items() for level in ("easy", "normal", "hard")
    }
    assert per_subset(data) == expected
    declared = {n: s.expected_rows for n, s in catalog["rm-bench"].all_subsets.items() if s.expected_rows}
    assert declared == expected


def test_judgebench(normalized: dict[str, NormalizedBenchmark], catalog: dict[str, Benchmark]) -> None:
    data = normalized["judgebench"]
    assert (data.source_rows, data.examples.height, data.rejects.height) == (620, 620, 0)
    counts = per_subset(data)
    assert sum(v for k, v in counts.items() if k.startswith("gpt-4o")) == 350
    assert sum(v for k, v in counts.items() if k.startswith("claude")) == 270
    declared = {n: s.expected_rows for n, s in catalog["judgebench"].all_subsets.items()}
    assert counts == declared


def test_expected_rows_match_every_full_local_subset(
    normalized: dict[str, NormalizedBenchmark], catalog: dict[str, Benchmark]
) -> None:
    """Expected = source rows: examples plus the rows quarantined from that subset."""
    full = ("rmb-pairwise", "rmb-bon", "rm-bench", "judgebench", "rewardbench-prior")
    for name in full:
        data = normalized[name]
        rejected = Counter(s for s in data.rejects["subset"].to_list() if s)
        for subset, n in per_subset(data).items():
            expected = catalog[name].all_subsets[subset].expected_rows
            assert n + rejected[subset] == expected, (name, subset)


def test_samples_are_the_first_rows_of_the_mirror(catalog: dict[str, Benchmark]) -> None:
    for bench in catalog.values():
        for source in bench.local:
            sample_root = SAMPLES_DIR / source.path
            samples = sorted(sample_root.rglob("*.json")) if source.tree else [sample_root]
            for sample in samples:
                full = MIRROR / sample.relative_to(SAMPLES_DIR)
                assert _records(sample) == _records(full)[: len(_records(sample))], sample
                assert 0 < len(_records(sample)) <= 4


def _records(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_catalog_summary_reports_what_is_here(catalog: dict[str, Benchmark]) -> None:
    summary = {entry["benchmark"]: entry for entry in catalog_summary(catalog)}
    pairwise = {s["subset"]: s for s in summary["rmb-pairwise"]["subsets"]}
    assert {n for n, s in pairwise.items() if s["availability"] == ABSENT} == ABSENT_RMB_PAIRWISE
    assert all(pairwise[n]["actual_rows"] == 0 for n in ABSENT_RMB_PAIRWISE)
    assert pairwise["Harmlessness/S5"] | {"section": None, "weight": None} == {
        "subset": "Harmlessness/S5",
        "section": None,
        "weight": None,
        "expected_rows": 561,
        "actual_rows": 561,
        "rejects": 0,
        "availability": PRESENT,
    }
    assert summary["rmb-pairwise"]["local_origin"] == "mirror"
    assert (summary["rmb-pairwise"]["examples"], summary["rmb-pairwise"]["rejects"]) == (14543, 0)
    assert (summary["rmb-bon"]["examples"], summary["rmb-bon"]["rejects"]) == (3786, 0)
    assert {s["availability"] for s in summary["rmb-bon"]["subsets"]} == {PRESENT}
    assert {s["availability"] for s in summary["reward-bench-2"]["subsets"]} == {HUB_ONLY}
    rm_bench_absent = {s["subset"] for s in summary["rm-bench"]["subsets"] if s["availability"] == ABSENT}
    assert rm_bench_absent == {"math/easy", "math/normal", "math/hard"}
