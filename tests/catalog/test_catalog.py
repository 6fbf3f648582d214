"""The benchmark catalog: entries, section weights, generated counts, samples, user datasets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rb_pipeline.catalog.entries import SAMPLES_DIR, Benchmark, CatalogError, load_benchmarks, load_models
from rb_pipeline.sources.datasets import dataset_benchmark
from rb_pipeline.sources.inventory import ABSENT, HUB_ONLY, PRESENT, catalog_summary

PRIOR_SETS_IN_MEAN = {"anthropic_helpful", "anthropic_hhh", "shp", "summarize"}
PRIOR_SETS_SHOWN_ONLY = {"anthropic_harmless", "mtbench_gpt4", "mtbench_human"}
ABSENT_RMB_PAIRWISE = {
    "Harmlessness/S11",
    "Helpfulness/Brainstorming/Idea Development",
    "Helpfulness/Generation/Creative Writing",
}


@pytest.fixture(autouse=True)
def _samples_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Read the shipped samples, and no user-registered benchmarks."""
    monkeypatch.delenv("RB_MIRROR", raising=False)
    monkeypatch.setenv("RB_SOURCE", "sample")
    monkeypatch.setenv("RB_HOME", str(tmp_path / "home"))


@pytest.fixture
def catalog() -> dict[str, Benchmark]:
    return load_benchmarks()


def overall(catalog: dict[str, Benchmark], name: str, section_scores: dict[str, float]) -> float | None:
    """The overall rule of sql/overall_scores.sql, over the catalog's sections (None when a
    required section has no score)."""
    sections = [
        (key, section)
        for bench in catalog.values()
        if bench.overall and bench.overall.name == name
        for key, section in bench.sections.items()
    ]
    if any(section.required and key not in section_scores for key, section in sections):
        return None
    scored = [
        (section_scores[key], section.overall_weight) for key, section in sections if key in section_scores
    ]
    return sum(score * weight for score, weight in scored) / sum(weight for _, weight in scored)


def test_catalog_lists_every_benchmark(catalog: dict[str, Benchmark]) -> None:
    assert set(catalog) >= {
        "rewardbench",
        "rewardbench-prior",
        "reward-bench-2",
        "rmb-pairwise",
        "rmb-bon",
        "rm-bench",
        "judgebench",
    }


def test_rewardbench_overall_adds_half_weighted_prior_sets(catalog: dict[str, Benchmark]) -> None:
    core = {"chat": 0.9, "chat_hard": 0.6, "safety": 0.8, "reasoning": 0.7}
    assert {k: s.overall_weight for k, s in catalog["rewardbench"].sections.items()} == dict.fromkeys(
        core, 1.0
    )
    prior = catalog["rewardbench-prior"].sections["prior_sets"]
    assert (prior.column, prior.overall_weight, prior.required) == ("prior_sets", 0.5, False)
    assert overall(catalog, "rewardbench", core) == pytest.approx(sum(core.values()) / 4)
    with_prior = overall(catalog, "rewardbench", core | {"prior_sets": 0.5})
    assert with_prior == pytest.approx((0.9 + 0.6 + 0.8 + 0.7 + 0.5 * 0.5) / 4.5)
    assert overall(catalog, "rewardbench", {"chat": 0.9, "prior_sets": 0.5}) is None


def test_prior_sets_section_is_the_unweighted_mean_of_four_sets(catalog: dict[str, Benchmark]) -> None:
    prior = catalog["rewardbench-prior"]
    assert prior.hub is not None and set(prior.hub.splits) == PRIOR_SETS_IN_MEAN | PRIOR_SETS_SHOWN_ONLY
    in_section = {name for name, s in prior.all_subsets.items() if s.section == "prior_sets"}
    assert in_section == PRIOR_SETS_IN_MEAN
    assert {prior.weight_of(name) for name in in_section} == {1.0}
    assert all(prior.weight_of(name) is None for name in PRIOR_SETS_SHOWN_ONLY)
    assert prior.all_subsets["anthropic_hhh"].expected_rows == 221


def test_rewardbench2_overall_is_the_mean_of_six_subsets(catalog: dict[str, Benchmark]) -> None:
    rb2 = catalog["reward-bench-2"]
    assert rb2.hub is not None and (rb2.hub.repo, rb2.hub.split) == ("allenai/reward-bench-2", "test")
    assert not rb2.local
    assert sorted(rb2.all_subsets) == sorted(["Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties"])
    assert sum(s.expected_rows for s in rb2.all_subsets.values()) == 1865
    scores = {key: 0.1 * (i + 1) for i, key in enumerate(rb2.sections)}
    assert overall(catalog, "reward-bench-2", scores) == pytest.approx(sum(scores.values()) / 6)


def test_rmb_expected_rows_are_generated_per_scenario(catalog: dict[str, Benchmark]) -> None:
    pairwise, bon = catalog["rmb-pairwise"].all_subsets, catalog["rmb-bon"].all_subsets
    assert len(pairwise) == len(bon) == 49
    assert {n for n, s in pairwise.items() if s.expected_rows is None} == ABSENT_RMB_PAIRWISE
    assert sum(s.expected_rows or 0 for s in pairwise.values()) == 14543
    assert all(s.expected_rows for s in bon.values())
    assert sum(s.expected_rows for s in bon.values()) == 3786


def test_every_subset_in_a_section_has_a_weight(catalog: dict[str, Benchmark]) -> None:
    for bench in catalog.values():
        for name, subset in bench.all_subsets.items():
            weight = bench.weight_of(name)
            assert (weight is None) == (subset.section is None), (bench.benchmark, name)


def test_every_local_source_has_a_shipped_sample(catalog: dict[str, Benchmark]) -> None:
    for bench in catalog.values():
        for source in bench.local:
            path, origin = source.resolve()
            assert origin == "sample" and path.exists(), (bench.benchmark, source.path)
            assert path.is_relative_to(SAMPLES_DIR)


def write_catalog(tmp_path: Path, entry: dict) -> Path:
    folder = tmp_path / "catalog"
    (folder / "benchmarks").mkdir(parents=True)
    (folder / "benchmarks" / "bad.yaml").write_text(yaml.safe_dump(entry))
    return folder


BASE = {"benchmark": "bad", "title": "Bad", "kind": "preference"}


@pytest.mark.parametrize(
    "hub",
    [
        {"repo": "a/b", "format": "preference"},
        {"repo": "a/b", "split": "test", "splits": ["x"], "format": "preference"},
    ],
)
def test_hub_source_needs_split_or_splits(tmp_path: Path, hub: dict) -> None:
    with pytest.raises(CatalogError, match=r"bad\.yaml: hub: .*give either `split` or `splits`"):
        load_benchmarks(write_catalog(tmp_path, BASE | {"hub": hub}))


def test_missing_expected_rows_file_names_it(tmp_path: Path) -> None:
    entry = BASE | {
        "local": [{"format": "rmb-pairwise", "path": "rmb/RMB_dataset/Pairwise_set", "tree": True}],
        "subsets_from_tree": {"roots": ["rmb/RMB_dataset/Pairwise_set"], "expected_rows_file": "nope.yaml"},
    }
    with pytest.raises(CatalogError, match=r"bad\.yaml: .*expected_rows_file: .*nope\.yaml: not found"):
        load_benchmarks(write_catalog(tmp_path, entry))


def test_dataset_benchmark_is_named_after_the_file_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "My Prefs (v2).jsonl"
    path.write_text('{"prompt": "Q?", "chosen": "A.", "rejected": "B."}\n')
    bench = dataset_benchmark(path)
    assert (bench.kind, bench.local[0].path, bench.title) == (
        "preference",
        str(path),
        f"{path.name} (local dataset)",
    )
    assert re.fullmatch(r"my-prefs-v2-[0-9a-f]{8}", bench.benchmark)  # the stem, then its path's hash
    document = bench.model_dump(mode="json", exclude={"source_file"}, exclude_defaults=True)
    assert Benchmark.model_validate(yaml.safe_load(yaml.safe_dump(document))) == bench.model_copy(
        update={"source_file": ""}
    )
    with pytest.raises(CatalogError, match="no such file"):
        dataset_benchmark(tmp_path / "missing.jsonl")


def test_catalog_summary_on_samples(catalog: dict[str, Benchmark]) -> None:
    summary = {entry["benchmark"]: entry for entry in catalog_summary(catalog)}
    assert set(summary) == set(catalog)
    for entry in summary.values():
        assert entry["error"] is None
        assert {s["availability"] for s in entry["subsets"]} <= {PRESENT, HUB_ONLY, ABSENT}
        assert entry["examples"] == sum(s["actual_rows"] for s in entry["subsets"])
    assert summary["reward-bench-2"]["hub"] == "allenai/reward-bench-2@main"
    assert summary["reward-bench-2"]["local_origin"] == "absent"
    assert {s["availability"] for s in summary["reward-bench-2"]["subsets"]} == {HUB_ONLY}
    assert summary["rmb-pairwise"]["local_origin"] == "sample"
    absent = {s["subset"] for s in summary["rmb-pairwise"]["subsets"] if s["availability"] == ABSENT}
    assert absent == ABSENT_RMB_PAIRWISE
    prior = {s["subset"]: s for s in summary["rewardbench-prior"]["subsets"]}
    assert prior["anthropic_hhh"]["availability"] == PRESENT
    assert {n for n, s in prior.items() if s["availability"] == HUB_ONLY} == set(prior) - {"anthropic_hhh"}
    rm_bench = {s["subset"]: s for s in summary["rm-bench"]["subsets"]}
    assert rm_bench["chat/hard"]["actual_rows"] == 3 * 2  # 2 sample rows x 3 hard cells
    assert rm_bench["math/hard"]["availability"] == ABSENT


# ---------------------------------------------------------------- catalog errors: each one line, naming file and key

SECTIONED = BASE | {
    "local": [{"format": "preference", "path": "x.jsonl"}],
    "sections": {"s": {"title": "S", "column": "s"}},
    "subsets": {"a": {"section": "s", "weight": 1}},
}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (SECTIONED | {"subsets": {"a": {"section": "s", "weight": -984}}}, "subsets.a.weight: Input should be greater than 0"),
        (SECTIONED | {"subsets": {"a": {"section": "s", "weight": 0}}}, "subsets.a.weight: Input should be greater than 0"),
        (SECTIONED | {"subsets": {"a": {"section": "s", "expected_rows": -1}}}, "subsets.a.expected_rows: .*greater than or equal to 0"),
        (SECTIONED | {"sections": {"s": {"title": "S", "column": "s", "overall_weight": 0}}}, "sections.s.overall_weight: .*greater than 0"),
        (SECTIONED | {"sections": {"s": {"title": "S", "column": "s"}, "t": {"title": "T", "column": "t"}}},
         "sections.t: a required section with no subset in it"),
        (SECTIONED | {"local": [{"format": "preference", "path": "x.jsonl", "subset": "typo"}]},
         "local.0.subset: 'typo' is not a declared subset"),
    ],
)  # fmt: skip
def test_catalog_values_are_checked(tmp_path: Path, entry: dict, message: str) -> None:
    with pytest.raises(CatalogError) as raised:
        load_benchmarks(write_catalog(tmp_path, entry))
    text = str(raised.value)
    assert re.fullmatch(rf"{re.escape(str(tmp_path))}/catalog/benchmarks/bad\.yaml: {message}", text), text


def test_an_optional_section_may_be_empty_and_a_domain_may_prefix_subsets(tmp_path: Path) -> None:
    entry = SECTIONED | {
        "sections": {
            "s": {"title": "S", "column": "s"},
            "later": {"title": "L", "column": "l", "required": False},
        },
        "local": [{"format": "rm-bench", "path": "x.json", "subset": "chat"}],  # rows become chat/<level>
        "subsets": {"chat/hard": {"section": "s", "weight": 1}},
    }
    assert "bad" in load_benchmarks(write_catalog(tmp_path, entry))


def test_a_duplicate_yaml_key_is_refused_naming_line_and_key(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path, SECTIONED)
    path = folder / "benchmarks" / "bad.yaml"
    path.write_text(
        "benchmark: bad\ntitle: Bad\nkind: preference\nlocal: [{format: preference, path: x.jsonl}]\n"
        "subsets:\n  a: {weight: 1}\n  a: {weight: 2}\n"
    )
    with pytest.raises(CatalogError) as raised:
        load_benchmarks(folder)
    assert str(raised.value) == f"{path}: invalid YAML at line 7 column 3: duplicate key 'a'"


def write_models(tmp_path: Path, models: list[dict]) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir(exist_ok=True)
    (folder / "models.yaml").write_text(yaml.safe_dump({"models": models}))
    return folder


def test_a_duplicate_model_id_is_refused(tmp_path: Path) -> None:
    folder = write_models(tmp_path, [{"id": "a/b"}, {"id": "c/d"}, {"id": "a/b", "dtype": "float16"}])
    with pytest.raises(CatalogError) as raised:
        load_models(folder)
    assert (
        str(raised.value) == f"{folder}/models.yaml: models.2.id: 'a/b' is defined twice (first at models.0)"
    )


def test_remote_code_needs_a_pinned_commit(tmp_path: Path) -> None:
    folder = write_models(tmp_path, [{"id": "a/b", "trust_remote_code": True}])
    with pytest.raises(CatalogError) as raised:
        load_models(folder)
    assert str(raised.value) == (
        f"{folder}/models.yaml: models.0: revision: trust_remote_code needs a pinned commit (40 hex digits),"
        " not 'main'"
    )
    sha = "eb2676d20da2f2d41082289d23c59b9f7427f955"
    for revision in ("v1.0", sha.upper(), sha[:12]):  # a tag, upper case, a short sha: not pinned
        write_models(tmp_path, [{"id": "a/b", "trust_remote_code": True, "revision": revision}])
        with pytest.raises(CatalogError, match="needs a pinned commit"):
            load_models(folder)
    write_models(tmp_path, [{"id": "a/b", "trust_remote_code": True, "revision": sha}])
    assert load_models(folder)["a/b"].revision == sha
    model = tmp_path / "model"  # a local folder is pinned by its content hash
    model.mkdir()
    (model / "modeling_x.py").write_text("# custom code\n")
    write_models(tmp_path, [{"id": "local/x", "source": str(model), "trust_remote_code": True}])
    assert load_models(folder)["local/x"].revision.startswith("sha256:")


def test_shipped_remote_code_models_are_pinned() -> None:
    remote = [m for m in load_models().values() if m.trust_remote_code]
    assert [m.id for m in remote] == ["RLHFlow/ArmoRM-Llama3-8B-v0.1"]
    assert all(re.fullmatch(r"[0-9a-f]{40}", m.revision) for m in remote)
