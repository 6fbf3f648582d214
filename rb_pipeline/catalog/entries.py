"""The declarative catalog: benchmarks (catalog/benchmarks/*.yaml) and models (catalog/models.yaml).

YAML is parsed into frozen pydantic models; any error names the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from filelock import FileLock
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_serializer,
    model_validator,
)

from rb_pipeline.catalog.steps import PrmHead, StepScoring
from rb_pipeline.core.ids import check_model_id
from rb_pipeline.core.kinds import KINDS, model_kind
from rb_pipeline.core.paths import atomic_path, mirror_root, rb_home, shipped_dir, source_mode
from rb_pipeline.core.settings import DTYPES, ScorerSettings
from rb_pipeline.core.text import first_line, validation_problem

CATALOG_DIR = shipped_dir("catalog")  # the built-in catalog; a user's own entries live under $RB_HOME
SAMPLES_DIR = shipped_dir("samples")


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


# The per-example rules: how one example earns its credit (subset accuracy = mean credit). A rule is
# this entry (its prose, here only: the warehouse's `scoring_rules` table shows it) plus one branch of
# the `credit(rule)` macro in sql/macros/rules.sql (rb2-ties' subset score: `rb2_ties_score`). A subset
# names its rule (`rule`, default the benchmark's); a judge (pairwise-judge, generative) scoring a
# `strict` subset follows `judge-tie-credit`, which no subset names (JUDGE_RULES).
RULES: dict[str, str] = {
    "strict": "every chosen scores strictly above every rejected: 1, else 0; a tie is wrong "
    "(RewardBench utils.py, RMB my_run_rm.py)",
    "rb2-top-share": "RewardBench 2's best-of-4: 0 when a rejected beats the chosen, else 1 / k when the "
    "chosen shares the top with k - 1 rejected (reroll_and_score_dataset; judges, run_generative_v2.py: "
    "ratings 1-10 with an unparseable one at -1, so 0.25 when all are; four-way or pairwise: an "
    "unparseable verdict shares the top with all three, 0.25)",
    "rb2-ties": "RewardBench 2's Ties score from the per-response scores (process_single_model); a "
    "generative judge's are its ratings (Ties prompt, -1 when unparseable); a pairwise judge gives "
    "none, so its Ties score is left empty",
    "judgebench-both-orders": "JudgeBench's metrics.py: a judge judges both orders, +1 per order the "
    "chosen wins, -1 per order it loses; right when the sum is > 0, else 0 (a pointwise model: strict)",
    "judge-tie-credit": "RewardBench's run_generative.py, for judges on strict subsets: 1 when the chosen "
    "wins every comparison (one order drawn per pair), 0 when it loses any, else 0.5",
}
JUDGE_RULES = ("judge-tie-credit",)  # chosen by the views for judges, never named by a subset
# The rules whose subset score is not an accuracy (a fraction in [0, 1]), with the range it lies in:
# RewardBench 2's Ties, 0.30 + 0.30 + 0.20 + 0.20 of shares + 0.01 x mean(tanh), in [-0.01, 1.01].
# subset_accuracy keeps it in `score` (accuracy NULL); an import checks it against its range.
SCORE_RULES: dict[str, tuple[float, float]] = {"rb2-ties": (-0.01, 1.01)}


def subset_rules() -> list[str]:
    """The rules a subset (or a benchmark) may name: every declared rule but the judges' own."""
    return [name for name in RULES if name not in JUDGE_RULES]


def _declared_rule(name: str) -> str:
    if name not in subset_rules():
        raise ValueError(f"unknown rule {name!r}: expected one of {', '.join(map(repr, subset_rules()))}")
    return name


# a rule name, checked against RULES when a catalog file is read (so a rule declared later counts)
SubsetRule = Annotated[str, AfterValidator(_declared_rule)]

# How a section combines its subsets' accuracies; named here once, written once in SQL
# (sql/macros/rules.sql `section_score`). item_level_score is reported beside every section.
AGGREGATIONS: dict[str, str] = {
    "weighted-mean": "sum(accuracy x weight) / sum(weight): RewardBench's prompt-weighted sections "
    "(weight = the subset's example count, math-prm 984)",
    "scenario-mean": "the unweighted mean over subsets: RMB's per-scenario mean, RewardBench's Prior Sets",
    "item-level": "sum(accuracy x n) / sum(n): every item counts once (the other RMB reading)",
}
Aggregation = Literal[tuple(AGGREGATIONS)]


class Section(Frozen):
    title: str
    column: str  # its column in the `leaderboard` view
    overall_weight: float = Field(default=1.0, gt=0)  # its weight in the benchmark's overall score
    required: bool = True  # the overall is NULL until every required section is scored
    # all: shown only when every subset was scored in full (expected rows); any: the mean of the
    # subsets that were run, each in full (RewardBench's Prior Sets: nanmean over the four sets)
    needs: Literal["all", "any"] = "all"
    aggregation: Aggregation = "weighted-mean"


class Subset(Frozen):
    section: str | None = None  # None: scored and shown, but in no section
    # default: the expected row count (RewardBench's prompt weighting)
    weight: float | None = Field(default=None, gt=0)
    expected_rows: int | None = Field(default=None, ge=0)
    rule: SubsetRule | None = None  # default: the benchmark's rule


class Overall(Frozen):
    name: str
    column: str


class TreeSubsets(Frozen):
    """Generate subsets from folder trees: `Goal/task/scenario.json` -> subset `Goal/task/scenario`."""

    roots: tuple[str, ...]
    weight: float = Field(default=1.0, gt=0)
    # `{benchmark: {subset: rows}}` written by scripts/count_expected_rows.py, relative to the YAML file
    expected_rows_file: str | None = None


class Benchmark(Frozen):
    benchmark: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    kind: Literal["preference", "best-of-n", "messages", "steps"]  # steps: solutions scored per step (PRMs)
    overall: Overall | None = None
    hub: HubSource | None = None
    local: tuple[LocalSource, ...] = ()
    sections: dict[str, Section] = {}
    subsets: dict[str, Subset] = {}
    subsets_from_tree: TreeSubsets | None = None
    rule: SubsetRule = "strict"  # the scoring rule of its subsets, unless a subset says otherwise
    steps: StepScoring | None = None  # kind `steps`: its step-level rule (catalog/steps.py)
    # where its columns sit in the leaderboard (smaller first; ties by benchmark name)
    leaderboard_position: int = 100
    # sql/suspect_labels.sql: an example's label is questioned only once this many models scored it
    suspect_min_models: int = Field(default=5, ge=1)
    source_file: str = ""

    @model_validator(mode="after")
    def _sections_exist(self) -> Benchmark:
        for name, subset in self.subsets.items():
            if subset.section is not None and subset.section not in self.sections:
                raise ValueError(f"subsets.{name}.section: unknown section {subset.section!r}")
        if not self.hub and not self.local:
            raise ValueError("needs a `hub` or a `local` source")
        if (self.kind == "steps") != (self.steps is not None):
            raise ValueError("steps: a benchmark of kind `steps` needs a `steps` block, and only it")
        unknown = sorted(self.steps.subsets_named() - set(self.subsets)) if self.steps else []
        if unknown:
            raise ValueError(f"steps: names undeclared subsets {unknown}")
        if self.subsets_from_tree is None:  # generated subsets come from the data: nothing to check here
            self._check_declared_subsets()
        _ = self.tree_expected_rows  # a broken counts file fails here, naming it
        return self

    def _check_declared_subsets(self) -> None:
        """A required section needs a subset (else its overall stays empty forever), and a local file
        given a subset must name a declared one (else its rows count nowhere)."""
        for name, section in self.sections.items():
            if section.required and not any(s.section == name for s in self.subsets.values()):
                raise ValueError(f"sections.{name}: a required section with no subset in it")
        if not self.subsets:
            return
        for index, source in enumerate(self.local):
            # a format may split a file's subset further (RM-Bench: `chat` -> `chat/hard`)
            declared = source.subset is None or any(
                name == source.subset or name.startswith(f"{source.subset}/") for name in self.subsets
            )
            if not declared:
                raise ValueError(f"local.{index}.subset: {source.subset!r} is not a declared subset")

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


def path_tag(path: Path) -> str:
    """8 hex digits of a resolved path: what tells apart user files (or folders) of the same name."""
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:8]


def local_model_id(folder: Path, models: dict[str, ModelEntry] | None = None) -> str:
    """A local model folder's id, one scheme for the CLI and the UI: its absolute path (its partition
    key and lake folder are that path's encoding, each `/` as `--`: /data/my-rm -> --data--my-rm),
    unless the folder was registered before under another id (lakes before this scheme:
    `local/<name>-<8 hex>`), which it keeps. A path the encoding cannot hold (`--`, a control
    character) is a ValueError naming the folder."""
    folder = folder.expanduser().resolve()
    models = load_models() if models is None else models
    known = next((entry.id for entry in models.values() if entry.local_folder == folder), None)
    if known is not None:
        return known
    try:
        return check_model_id(str(folder))
    except ValueError as exc:
        raise ValueError(
            f"model folder {str(folder)!r}: its path is its id, and {first_line(exc).removeprefix('model ')}"
            ": rename the folder, or link it under another name"
        ) from None


def names_a_folder(model: str) -> bool:
    """Whether a model name is meant as a local folder: a Hub id is `name` or `org/name`; anything else
    (absolute, `./`, `~`, deeper) is a folder."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1


def asset_name(benchmark: str) -> str:
    """A benchmark's name in Dagster asset keys, which allow no `-` or `.`."""
    return re.sub(r"[-.]", "_", benchmark)


PINNED_REVISION = re.compile(r"[0-9a-f]{40}")  # a Hub commit sha


def _declared_kind(name: str) -> str:
    return model_kind(name).name  # an unknown one: a ValueError listing the declared kinds


# a model type, checked against the kinds declared in core.kinds when an entry is read (so a kind
# declared later, by a plugin or a test module, counts)
KindName = Annotated[str, AfterValidator(_declared_kind)]


class ModelEntry(Frozen):
    id: str
    source: str | None = None  # a local path or a Hub id; default: `id`
    revision: str = "main"
    type: KindName = "classifier"
    prm: PrmHead | None = None  # type prm: where its step scores are read (catalog/steps.py)
    # the scorer settings a model entry gives (core.settings: `from_entry`), with their defaults there
    chat_template: str | None = ScorerSettings.chat_template  # None: the tokenizer's own template
    dtype: Literal[DTYPES] = ScorerSettings.dtype
    max_length: int = ScorerSettings.max_length
    batch_size: int = ScorerSettings.batch_size
    ref_model: str | None = None
    trust_remote_code: bool = False
    # a model larger than one GPU: "auto" shards its layers over every visible GPU (accelerate), or
    # an explicit {module: device} map (a GPU index, "cpu", or "disk": offloaded under $RB_HOME)
    device_map: str | dict[str, int | str] | None = None
    gpus: int = Field(default=1, ge=0)  # GPUs one scores run of this model asks a cluster for (k8s)
    # judges (pairwise-judge | generative)
    judges: tuple[str, ...] = ()  # an ensemble: ids of an odd number of judge entries; majority verdict
    judge_prompt: Literal["pair-v2", "pair-v2-tie"] = "pair-v2"  # rewardbench's; -tie adds "[[C]]"
    # RewardBench 2 (rb2-top-share subsets), for a single generative judge: ratings (the default, the
    # leaderboard's), four-way (run_generative_v2.py's 4-way prompt) or pairwise (chosen against each
    # rejected, both orders). A pairwise-judge or an ensemble judges pairwise (it cannot rate; upstream
    # runs no ensemble with ratings). Ties is always rated, as upstream. See engine/judging.py.
    protocol: Literal["ratings", "four-way", "pairwise"] = "ratings"
    max_new_tokens: int = Field(default=2048, ge=1)  # generative: reply length (rewardbench: 2048)
    api_base: str | None = None  # generative over an OpenAI-compatible server, e.g. http://host:8000/v1
    api_model: str | None = None  # the `model` sent to that server; default: source, else id
    api_key_env: str | None = None  # the environment variable holding its key (the key is never stored)
    request_timeout: float = Field(default=120.0, gt=0)  # seconds per HTTP request
    max_retries: int = Field(default=3, ge=0)  # retries of a failed request (connection, 429, 5xx)
    # a kind declared with entry fields of its own (core.kinds, `options`): those fields (flat in YAML)
    options: SerializeAsAny[BaseModel] | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_options(cls, data: object) -> object:
        """The fields that are not ModelEntry's go to the kind's own `options` model, validated there."""
        if not isinstance(data, dict):
            return data
        kind = KINDS.get(data.get("type", "classifier"))
        if kind is None or kind.options is None:  # an unknown type or field is reported as such
            return data
        given = data.get("options")
        own = (given.model_dump() if isinstance(given, BaseModel) else dict(given or {})) | {
            name: value for name, value in data.items() if name not in cls.model_fields
        }
        try:
            options = kind.options.model_validate(own)
        except ValidationError as exc:
            raise ValueError(validation_problem(exc)) from None
        return {name: value for name, value in data.items() if name in cls.model_fields} | {
            "options": options
        }

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> ModelEntry:
        """A field that some kinds declare as theirs is set only on an entry of one of those kinds, and
        a kind's required fields are given (core.kinds)."""
        kind = model_kind(self.type)
        for name in kind.required:
            if getattr(self, name) is None:
                raise ValueError(f"{name}: a model of type {self.type!r} needs it")
        for name, info in type(self).model_fields.items():
            owners = [other.name for other in KINDS.values() if name in other.fields]
            if owners and self.type not in owners and getattr(self, name) != info.default:
                raise ValueError(f"{name}: only a model of type {' or '.join(owners)} takes it")
        if self.options is not None and kind.options is None:
            raise ValueError(f"options: a model of type {self.type!r} takes none")
        return self

    @model_validator(mode="after")
    def _remote_code_is_pinned(self) -> ModelEntry:
        # custom code runs with the user's rights: only the exact commit that was reviewed (a local
        # folder is pinned by its content hash, see local_revision)
        if (
            self.trust_remote_code
            and self.local_folder is None
            and not PINNED_REVISION.fullmatch(self.revision)
        ):
            raise ValueError(
                f"revision: trust_remote_code needs a pinned commit (40 hex digits), not {self.revision!r}"
            )
        return self

    @model_validator(mode="after")
    def _judge_fields(self) -> ModelEntry:
        if self.judges and len(self.judges) % 2 == 0:
            raise ValueError(f"judges: an ensemble needs an odd number of judges, got {len(self.judges)}")
        if self.protocol == "four-way" and (self.type != "generative" or self.judges):
            raise ValueError("protocol: four-way needs a single generative judge; use protocol: pairwise")
        return self

    @property
    def rb2_protocol(self) -> str:
        """The protocol on RewardBench 2's best-of-4 subsets: the entry's for a single generative
        judge, pairwise for the rest."""
        return self.protocol if self.type == "generative" and not self.judges else "pairwise"

    @field_serializer("judges")
    def _judges_as_list(self, judges: tuple[str, ...]) -> list[str]:
        return list(judges)  # models.yaml is written with yaml.safe_dump, which has no tuples

    @property
    def location(self) -> str:
        """Path or Hub id to load from, with `$RB_HOME` expanded."""
        source = self.source or self.id
        return source.replace("$RB_HOME", str(rb_home()))

    @property
    def local_folder(self) -> Path | None:
        """The folder it loads from, when that is a local folder (as transformers decides: it exists)."""
        path = Path(self.location)
        return path.resolve() if path.is_dir() else None


class Ensemble(Frozen):
    """An offline ensemble (rewardbench's run_ensemble_offline.py): the stored per-response scores of
    its members combined in SQL (sql/ensemble_scores.sql), scored by the same rules as any model."""

    members: tuple[str, ...] = Field(min_length=2)
    # mean | min | max of the members' scores, or zmean: the mean of per-member z-scores
    combine: Literal["mean", "min", "max", "zmean"] = "mean"

    @property
    def id(self) -> str:
        """`ensemble:a+b` (mean) or `ensemble:a+b:<combine>`: its model id in every view."""
        suffix = "" if self.combine == "mean" else f":{self.combine}"
        return f"ensemble:{'+'.join(self.members)}{suffix}"


def load_ensembles(catalog_dir: Path | None = None) -> dict[str, Ensemble]:
    """Ensembles from `catalog/ensembles.yaml` plus `$RB_HOME/ensembles.yaml` (`ensembles: [...]`)."""
    ensembles: dict[str, Ensemble] = {}
    for path in ((catalog_dir or CATALOG_DIR) / "ensembles.yaml", rb_home() / "ensembles.yaml"):
        if not path.exists():
            continue
        document = _read_yaml(path) or {}
        if not isinstance(document, dict) or not isinstance(document.get("ensembles", []), list):
            raise CatalogError(f"{path}: expected `ensembles: [...]`")
        for index, raw in enumerate(document.get("ensembles") or []):
            try:
                ensemble = Ensemble.model_validate(raw)
            except ValidationError as exc:
                raise CatalogError(_format_validation_error(path, f"ensembles.{index}", exc)) from None
            ensembles[ensemble.id] = ensemble
    return ensembles


def _format_validation_error(file: Path, prefix: str, error: ValidationError) -> str:
    return f"{file}: {validation_problem(error, prefix)}"


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader (libyaml's parser where PyYAML has it: the catalog is read several times a
    run), except that a key given twice in one mapping is an error (YAML forbids it; PyYAML would keep
    the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be repeated
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:  # an unhashable key fails below, named
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise CatalogError(f"{path}: invalid YAML{where}: {problem}") from None


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
            name = benchmark.benchmark
            # one Dagster asset per benchmark: names that differ only in '-', '_' or '.' would be one
            clash = next(
                (b for b in benchmarks.values() if asset_name(b.benchmark) == asset_name(name)), None
            )
            if clash is not None:
                what = "is defined twice" if clash.benchmark == name else f"clashes with {clash.benchmark!r}"
                raise CatalogError(f"{path}: benchmark {name!r} {what} (first in {clash.source_file})")
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
        first_index: dict[str, int] = {}
        for index, raw in enumerate(document.get("models", [])):
            try:
                entry = ModelEntry.model_validate(raw)
            except ValidationError as exc:
                raise CatalogError(_format_validation_error(path, f"models.{index}", exc)) from None
            if entry.id in first_index:  # across files, $RB_HOME/models.yaml overrides the catalog's
                raise CatalogError(
                    f"{path}: models.{index}.id: {entry.id!r} is defined twice (first at models.{first_index[entry.id]})"
                )
            first_index[entry.id] = index
            folder = entry.local_folder
            if folder is not None:  # a folder has no revisions: its content is its revision
                entry = entry.model_copy(update={"revision": local_revision(folder)})
            models[entry.id] = entry
    return models


def local_revision(folder: Path) -> str:
    """`sha256:<16 hex>` over a local model folder's files (weights, tokenizer, config, code: every
    file at its top level, which is what `from_pretrained` reads), so scores computed from other
    weights are never reused. A file is hashed again only when its size, mtime or ctime changed;
    the file hashes are cached in `$RB_HOME/cache/model_files.json`."""
    cache_path = rb_home() / "cache" / "model_files.json"
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    known = cache.get(str(folder), {}) if isinstance(cache, dict) else {}
    hashes: dict[str, list] = {}
    for file in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        stat = file.stat()
        fingerprint = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]
        cached = known.get(file.name)
        hashes[file.name] = cached if cached and cached[0] == fingerprint else [fingerprint, _sha256(file)]
    if hashes != known:
        cache = (cache if isinstance(cache, dict) else {}) | {str(folder): hashes}
        with atomic_path(cache_path) as tmp:  # concurrent writers: the last wins, the others re-hash later
            tmp.write_text(json.dumps(cache), encoding="utf-8")
    digest = hashlib.sha256("".join(f"{name}\0{sha}\n" for name, (_, sha) in hashes.items()).encode())
    return f"sha256:{digest.hexdigest()[:16]}"


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_model(entry: ModelEntry) -> None:
    """Add or replace a model in `$RB_HOME/models.yaml`. Processes registering at once each read,
    change and write the file in turn (a lock file), through their own temporary file."""
    path = user_models_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(path.name + ".lock")):
        document = (_read_yaml(path) or {}) if path.exists() else {}
        kept = [m for m in document.get("models", []) if m.get("id") != entry.id]
        # a local folder's revision is its content hash, computed afresh by load_models: never recorded
        derived = {"revision"} if entry.local_folder is not None else set()
        record = entry.model_dump(exclude_defaults=True, exclude=derived | {"options"}) | {"id": entry.id}
        kept.append(record | (entry.options.model_dump() if entry.options else {}))  # flat, as read
        with atomic_path(path) as tmp:
            tmp.write_text(yaml.safe_dump({"models": kept}, sort_keys=False), encoding="utf-8")
