"""The declarative catalog: benchmarks (catalog/benchmarks/*.yaml) and models (catalog/models.yaml).

YAML is parsed into frozen pydantic models; any error names the file and the key.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, model_validator

from rb_pipeline.paths import REPO_ROOT, mirror_root, rb_home, source_mode

CATALOG_DIR = REPO_ROOT / "catalog"
SAMPLES_DIR = REPO_ROOT / "data" / "samples"


class CatalogError(ValueError):
    """A catalog file is wrong; the message names the file and the key."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HubSource(Frozen):
    repo: str
    split: str | None = None  # one split whose rows name their subset
    splits: tuple[str, ...] = ()  # or several splits, each one subset named after it
    revision: str = "main"
    config: str | None = None
    format: str

    @model_validator(mode="after")
    def _one_split_field(self) -> HubSource:
        if (self.split is None) == (not self.splits):
            raise ValueError("give either `split` or `splits`")
        return self


class LocalSource(Frozen):
    """A file or folder, relative to `$RB_MIRROR` when present there, else to `data/samples/`
    (always `data/samples/` with `RB_SOURCE=sample`)."""

    format: str
    path: str
    subset: str | None = None  # every row of this file belongs to this subset
    tree: bool = False  # a folder: each `<sub/path>.json` below it is subset `<sub/path>`
    sample: bool = False  # a few rows of a larger source: origin `sample` even in the mirror

    def resolve(self) -> tuple[Path, str]:
        """The path to read and where it comes from: 'mirror' or 'sample' ('local': a user's file)."""
        if Path(self.path).is_absolute():
            return Path(self.path), "local"
        mirror = mirror_root() if source_mode() != "sample" else None
        if mirror is not None and (mirror / self.path).exists():
            return mirror / self.path, "mirror"
        return SAMPLES_DIR / self.path, "sample"


class Section(Frozen):
    title: str
    column: str  # its column in the `leaderboard` view
    overall_weight: float = 1.0  # weight of this section in the benchmark's overall score
    required: bool = True  # the overall is NULL until every required section is scored


# How a subset's examples become its accuracy (sql/example_outcomes_history.sql, sql/rb2_ties_history.sql):
# strict: every chosen strictly above every rejected, accuracy = correct / scored (RewardBench v1, RMB);
# rb2-top-share: RewardBench 2's best-of-4: 1 when the chosen alone has the top score, 1/k when it
#   shares it with k - 1 rejected, else 0; rb2-ties: RewardBench 2's Ties score (accuracy and margins).
SubsetRule = Literal["strict", "rb2-top-share", "rb2-ties"]


class Subset(Frozen):
    section: str | None = None  # None: scored and shown, but in no section
    weight: float | None = None  # default: the expected row count (RewardBench's prompt weighting)
    expected_rows: int | None = None
    rule: SubsetRule | None = None  # default: the benchmark's rule


class Overall(Frozen):
    name: str
    column: str


class TreeSubsets(Frozen):
    """Generate subsets from folder trees: `Goal/task/scenario.json` -> subset `Goal/task/scenario`."""

    roots: tuple[str, ...]
    weight: float = 1.0
    # `{benchmark: {subset: rows}}` written by scripts/count_expected_rows.py, relative to the YAML file
    expected_rows_file: str | None = None


class Benchmark(Frozen):
    benchmark: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    kind: Literal["preference", "best-of-n", "messages"]
    overall: Overall | None = None
    hub: HubSource | None = None
    local: tuple[LocalSource, ...] = ()
    sections: dict[str, Section] = {}
    subsets: dict[str, Subset] = {}
    subsets_from_tree: TreeSubsets | None = None
    rule: SubsetRule = "strict"  # the scoring rule of its subsets, unless a subset says otherwise
    source_file: str = ""

    @model_validator(mode="after")
    def _sections_exist(self) -> Benchmark:
        for name, subset in self.subsets.items():
            if subset.section is not None and subset.section not in self.sections:
                raise ValueError(f"subsets.{name}.section: unknown section {subset.section!r}")
        if not self.hub and not self.local:
            raise ValueError("needs a `hub` or a `local` source")
        _ = self.tree_expected_rows  # a broken counts file fails here, naming it
        return self

    @cached_property
    def tree_expected_rows(self) -> dict[str, int]:
        """Expected rows of generated subsets, from `subsets_from_tree.expected_rows_file`."""
        if self.subsets_from_tree is None or self.subsets_from_tree.expected_rows_file is None:
            return {}
        path = Path(self.source_file).parent / self.subsets_from_tree.expected_rows_file
        if not path.is_file():
            raise ValueError(f"subsets_from_tree.expected_rows_file: {path}: not found")
        counts = _read_yaml(path)
        counts = counts.get(self.benchmark) if isinstance(counts, dict) else None
        if not isinstance(counts, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in counts.items()
        ):
            raise ValueError(
                f"subsets_from_tree.expected_rows_file: {path}: needs `{self.benchmark}: {{subset: rows}}`"
            )
        return counts

    @cached_property
    def all_subsets(self) -> dict[str, Subset]:
        """Declared subsets plus those generated from the data's folder tree."""
        if self.subsets_from_tree is None:
            return dict(self.subsets)
        generated: dict[str, Subset] = {}
        for name in tree_subset_names(self.subsets_from_tree.roots):
            goal = name.split("/", 1)[0].lower()
            section = goal if goal in self.sections else None
            generated[name] = Subset(
                section=section,
                weight=self.subsets_from_tree.weight,
                expected_rows=self.tree_expected_rows.get(name),
            )
        return {**generated, **self.subsets}

    def rule_of(self, subset: str) -> str:
        """The subset's scoring rule (its own, else the benchmark's)."""
        entry = self.all_subsets.get(subset)
        return entry.rule if entry is not None and entry.rule is not None else self.rule

    def weight_of(self, subset: str) -> float | None:
        """The subset's weight within its section (None when it is in no section)."""
        entry = self.all_subsets.get(subset)
        if entry is None or entry.section is None:
            return None
        if entry.weight is not None:
            return entry.weight
        if entry.expected_rows is None:
            raise CatalogError(f"{self.source_file}: subsets.{subset}: needs a weight or expected_rows")
        return float(entry.expected_rows)


def tree_subset_names(roots: tuple[str, ...]) -> list[str]:
    """Every `<relative path without .json>` under any of the roots (mirror first, else samples)."""
    names: set[str] = set()
    for root in roots:
        base, _ = LocalSource(format="tree", path=root, tree=True).resolve()
        if base.is_dir():
            names.update(str(p.relative_to(base).with_suffix("")) for p in base.rglob("*.json"))
    return sorted(names)


def dataset_benchmark(path: Path, format: str | None = None) -> Benchmark:
    """A user's local json/jsonl/parquet file as a benchmark named after the file (`rb-pipeline score
    --dataset PATH`). The format is read from the first record unless given: prompt + chosen +
    rejected (`preference`) or `messages` only (kind `messages`: scored, no accuracy). Subset: the
    row's `subset` field, else the file's stem."""
    from rb_pipeline.formats import detect_format, file_stem  # formats never imports the catalog

    path = Path(path).resolve()
    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    format = format or detect_format(path)
    name = re.sub(r"[^a-z0-9_.-]+", "-", file_stem(path).lower()).strip("-._") or "dataset"
    kind = {"messages": "messages", "rmb-bon": "best-of-n"}.get(format, "preference")
    return Benchmark(
        benchmark=name,
        title=f"{path.name} (local dataset)",
        kind=kind,
        local=(LocalSource(format=format, path=str(path)),),
        source_file=str(path),
    )


class ModelEntry(Frozen):
    id: str
    source: str | None = None  # a local path or a Hub id; default: `id`
    revision: str = "main"
    type: Literal["classifier", "dpo", "pairwise-judge", "generative"] = "classifier"
    chat_template: str | None = None  # None: the tokenizer's own template
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_length: int = 2048
    batch_size: int = 8
    ref_model: str | None = None
    trust_remote_code: bool = False
    # a model larger than one GPU: "auto" shards its layers over every visible GPU (accelerate), or
    # an explicit {module: device} map (a GPU index, "cpu", or "disk": offloaded under $RB_HOME)
    device_map: str | dict[str, int | str] | None = None
    gpus: int = Field(default=1, ge=0)  # GPUs one scores run of this model asks a cluster for (k8s)
    # judges (pairwise-judge | generative)
    judges: tuple[str, ...] = ()  # an ensemble: ids of an odd number of judge entries; majority verdict
    judge_prompt: Literal["pair-v2", "pair-v2-tie"] = "pair-v2"  # rewardbench's; -tie adds "[[C]]"
    max_new_tokens: int = Field(default=2048, ge=1)  # generative: reply length (rewardbench: 2048)
    api_base: str | None = None  # generative over an OpenAI-compatible server, e.g. http://host:8000/v1
    api_model: str | None = None  # the `model` sent to that server; default: source, else id
    api_key_env: str | None = None  # the environment variable holding its key (the key is never stored)
    request_timeout: float = Field(default=120.0, gt=0)  # seconds per HTTP request
    max_retries: int = Field(default=3, ge=0)  # retries of a failed request (connection, 429, 5xx)

    @model_validator(mode="after")
    def _judge_fields(self) -> ModelEntry:
        if self.judges and self.type not in ("pairwise-judge", "generative"):
            raise ValueError("judges: only a pairwise-judge or generative entry can be an ensemble")
        if self.judges and len(self.judges) % 2 == 0:
            raise ValueError(f"judges: an ensemble needs an odd number of judges, got {len(self.judges)}")
        if self.api_base is not None and self.type != "generative":
            raise ValueError("api_base: only a generative model is served over HTTP")
        return self

    @field_serializer("judges")
    def _judges_as_list(self, judges: tuple[str, ...]) -> list[str]:
        return list(judges)  # models.yaml is written with yaml.safe_dump, which has no tuples

    @property
    def location(self) -> str:
        """Path or Hub id to load from, with `$RB_HOME` expanded."""
        source = self.source or self.id
        return source.replace("$RB_HOME", str(rb_home()))


def _format_validation_error(file: Path, prefix: str, error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    return f"{file}: {key}: {first['msg']}"


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: invalid YAML: {exc}") from exc


def load_benchmarks(catalog_dir: Path | None = None) -> dict[str, Benchmark]:
    """Every benchmark in `catalog/benchmarks/*.yaml` (a file holds one entry or `benchmarks: [...]`)."""
    folders = [(catalog_dir or CATALOG_DIR) / "benchmarks", user_benchmarks_dir()]
    benchmarks: dict[str, Benchmark] = {}
    for path in [p for folder in folders for p in sorted(folder.glob("*.yaml"))]:
        document = _read_yaml(path)
        if not isinstance(document, dict):
            raise CatalogError(f"{path}: expected a mapping at the top level")
        entries = document.get("benchmarks", [document])
        for index, raw in enumerate(entries):
            prefix = f"benchmarks.{index}" if "benchmarks" in document else ""
            try:
                benchmark = Benchmark.model_validate({**raw, "source_file": str(path)})
            except ValidationError as exc:
                raise CatalogError(_format_validation_error(path, prefix, exc)) from None
            if benchmark.benchmark in benchmarks:
                raise CatalogError(f"{path}: benchmark {benchmark.benchmark!r} is defined twice")
            benchmarks[benchmark.benchmark] = benchmark
    return benchmarks


def user_benchmarks_dir() -> Path:
    """Benchmarks registered from the CLI (`rb-pipeline score --dataset PATH`) live in the lake."""
    return rb_home() / "catalog" / "benchmarks"


def user_models_path() -> Path:
    """Models registered from the CLI (`rb-pipeline score --model PATH`) live in the lake."""
    return rb_home() / "models.yaml"


def load_models(catalog_dir: Path | None = None) -> dict[str, ModelEntry]:
    """Models from `catalog/models.yaml` plus those registered in `$RB_HOME/models.yaml`."""
    models: dict[str, ModelEntry] = {}
    for path in ((catalog_dir or CATALOG_DIR) / "models.yaml", user_models_path()):
        if not path.exists():
            continue
        document = _read_yaml(path) or {}
        if not isinstance(document, dict) or not isinstance(document.get("models", []), list):
            raise CatalogError(f"{path}: expected `models: [...]`")
        for index, raw in enumerate(document.get("models", [])):
            try:
                entry = ModelEntry.model_validate(raw)
            except ValidationError as exc:
                raise CatalogError(_format_validation_error(path, f"models.{index}", exc)) from None
            models[entry.id] = entry
    return models


def register_model(entry: ModelEntry) -> None:
    """Add or replace a model in `$RB_HOME/models.yaml`."""
    path = user_models_path()
    document = (_read_yaml(path) or {}) if path.exists() else {}
    kept = [m for m in document.get("models", []) if m.get("id") != entry.id]
    kept.append(entry.model_dump(exclude_defaults=True) | {"id": entry.id})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump({"models": kept}, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)
