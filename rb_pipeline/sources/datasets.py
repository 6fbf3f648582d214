"""Materialize one benchmark's normalized tables into the lake, with its quality verdict; register a
user's data file as a catalog entry (`register_dataset`)."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from rb_pipeline.catalog.entries import (
    Benchmark,
    CatalogError,
    LocalSource,
    asset_name,
    load_benchmarks,
    path_tag,
    user_benchmarks_dir,
)
from rb_pipeline.core.errors import UserError
from rb_pipeline.core.lake import dataset_path, write_parquet
from rb_pipeline.core.paths import atomic_path, lake_dir
from rb_pipeline.sources.formats.registry import detect_format
from rb_pipeline.sources.normalize import (
    NormalizedBenchmark,
    local_source_files,
    normalize,
    planned_origin,
    source_problem,
)
from rb_pipeline.sources.records import file_stem
from rb_pipeline.sources.steps import run_step_checks, step_tables, write_step_tables

# Real benchmark data has these defects and the official numbers score such examples: RMB pairwise
# holds 11 pairs whose chosen and rejected texts are identical (a tie: wrong), 31 answers with
# U+FFFD, 2 empty rejected answers and 5 empty user turns. Reported by the check, not blocking.
WARN_ONLY = frozenset(
    {"chosen_differs_from_rejected", "text_no_replacement_char", "text_not_blank", "prompt_content_not_blank"}
)


@dataclass(frozen=True)
class QualityVerdict:
    passed: bool
    summary: str
    metadata: dict


def quality_path(benchmark: str):
    """The quality verdict of a benchmark's latest materialization (read before scoring it)."""
    return lake_dir("quality", f"{benchmark}.json")


def run_quality(benchmark: Benchmark, data: NormalizedBenchmark) -> tuple[QualityVerdict, QualityVerdict]:
    """The great-expectations suites over examples and over responses."""
    from rb_pipeline.sources.quality import check_examples, check_responses  # GX is slow to import

    # A quarantined row still counts towards its subset's expected rows (examples + rejects = source).
    rejected = data.rejects.group_by("subset").len() if "subset" in data.rejects.columns else None
    rejected_in = dict(rejected.iter_rows()) if rejected is not None else {}
    # Only subsets the sources were read for (a source naming no subset covers every subset): the
    # catalog also declares sizes of Hub-only subsets that a local copy lacks (rewardbench-prior).
    read = {source.subset for source in data.sources}
    expected = {
        name: s.expected_rows - rejected_in.get(name, 0)
        for name, s in benchmark.all_subsets.items()
        if s.expected_rows and (None in read or name in read)
    }
    # A messages-only dataset has no rejected responses by design, nor has a step-level one (one
    # solution per example).
    warn_only = WARN_ONLY | ({"has_rejected"} if benchmark.kind in ("messages", "steps") else set())
    # Expected counts hold for full data only; shipped samples are a few rows per file.
    full_data = all(source.origin != "sample" for source in data.sources)
    reports = (
        check_examples(data.examples, expected if full_data else None),
        check_responses(data.responses, data.examples),
    )
    return tuple(
        QualityVerdict(
            passed=all(o.success or o.name in warn_only for o in report.outcomes),
            summary=report.summary(),
            metadata=report.metadata(),
        )
        for report in reports
    )


# The code that turns source files into normalized tables and judges them: a change to it is a new
# data version (every module of this package: readers, adapters, normalization, quality suites).
NORMALIZATION_CODE = Path(__file__).parent


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def input_version(benchmark: Benchmark) -> str:
    """The data version of a benchmark's normalized tables, computed from their inputs without
    normalizing: where the data is read from (`planned_origin`, which names a Hub revision), the
    catalog entry, each local source file's bytes, and the normalization code. Equal versions mean
    normalizing again would write the same tables and the quality suites would say the same."""
    origin = planned_origin(benchmark)
    parts = [origin, benchmark.model_dump_json()]
    if not origin.startswith("hub@"):  # a Hub snapshot is pinned by the revision in `origin`
        parts += [
            f"{f.path}|{f.origin}|{f.subset}|{f.format}|{_file_digest(f.path)}"
            for f in sorted(local_source_files(benchmark), key=lambda f: str(f.path))
        ]
    parts += [
        f"{p.relative_to(NORMALIZATION_CODE)}|{_file_digest(p)}"
        for p in sorted(NORMALIZATION_CODE.rglob("*.py"))
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DatasetPlan:
    """What a run does with one benchmark's normalized data: `normalize` it (missing or stale),
    `reuse` it (its recorded data version equals `input_version`), or `skip` it (its data cannot be
    had now: `reason`)."""

    action: Literal["normalize", "reuse", "skip"]
    reason: str
    version: str | None = None


def plan_dataset(benchmark: Benchmark) -> DatasetPlan:
    """Whether the benchmark's normalized data is to be made, reused or skipped (see `DatasetPlan`)."""
    problem = source_problem(benchmark)
    if problem is not None:
        return DatasetPlan("skip", problem)
    version = input_version(benchmark)
    path = quality_path(benchmark.benchmark)
    recorded = json.loads(path.read_text()).get("data_version") if path.exists() else None
    if recorded == version:
        return DatasetPlan("reuse", f"inputs unchanged (data version {version})", version)
    return DatasetPlan("normalize", "not materialized yet" if recorded is None else "inputs changed", version)


def recorded_verdict(benchmark: str) -> dict:
    """The quality verdict written by the benchmark's last materialization (`materialize_benchmark`)."""
    return json.loads(quality_path(benchmark).read_text())


def record_data_version(benchmark: str, version: str, checks: dict[str, dict]) -> None:
    """Add the data version and every check's outcome (name -> passed, description) to the verdict
    of a materialization, once it is whole: a run that finds the same version reuses the tables and
    reports these outcomes instead of running the suites again."""
    verdict = recorded_verdict(benchmark) | {"data_version": version, "checks": checks}
    with atomic_path(quality_path(benchmark)) as tmp:
        tmp.write_text(json.dumps(verdict))


def materialize_benchmark(benchmark: Benchmark) -> tuple[NormalizedBenchmark, list[QualityVerdict]]:
    """Normalize, check, and write examples/responses/rejects plus the quality verdict (which also
    records where the data came from and how many examples it holds, for the runs that score it)."""
    origin = planned_origin(benchmark)
    data = normalize(benchmark)
    verdicts = list(run_quality(benchmark, data))
    if benchmark.kind == "steps":  # its steps and their labels too, under their own checks
        verdicts.append(_step_verdict(benchmark, data))
    for table in ("examples", "responses", "rejects"):
        write_parquet(getattr(data, table), dataset_path(table, benchmark.benchmark))
    with atomic_path(quality_path(benchmark.benchmark)) as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "passed": all(v.passed for v in verdicts),
                    "summary": " | ".join(v.summary for v in verdicts if not v.passed),
                    "rejects": data.rejects.height,
                    "source": origin,
                    "examples": data.examples.height,
                    "responses": data.responses.height,
                    "source_rows": data.source_rows,
                }
            )
        )
    return data, verdicts


def _step_verdict(benchmark: Benchmark, data: NormalizedBenchmark) -> QualityVerdict:
    """Write a step benchmark's step tables and check them (`sources.steps.STEP_CHECKS`)."""
    tables = step_tables(benchmark, data)
    write_step_tables(benchmark.benchmark, tables)
    passed, summary, metadata = run_step_checks(tables)
    return QualityVerdict(passed=passed, summary=summary, metadata=metadata)


def run_sources(benchmarks: list[str]) -> dict:
    """What a run over these materialized benchmarks covers, for its record (`RUNS_SCHEMA`):
    `data_sources` (benchmark, source, examples) and `n_examples` in all."""
    sources = []
    for name in sorted(benchmarks):
        path = quality_path(name)
        verdict = json.loads(path.read_text()) if path.exists() else {}
        sources.append(
            {"benchmark": name, "source": verdict.get("source"), "examples": verdict.get("examples")}
        )
    return {"data_sources": sources, "n_examples": sum(s["examples"] or 0 for s in sources)}


def quality_failure(benchmark: str) -> str | None:
    """Why a benchmark must not be scored (None when its last quality check passed)."""
    path = quality_path(benchmark)
    if not path.exists():
        return "not materialized yet"
    verdict = json.loads(path.read_text())
    return None if verdict["passed"] else f"quality check failed: {verdict['summary']}"


def dataset_benchmark(path: Path, format: str | None = None) -> Benchmark:
    """A user's local json/jsonl/parquet file as a benchmark (`rb-pipeline score --dataset PATH`),
    named `<file stem>-<8 hex of its full path>`: named after the file, yet two files never share a
    name (nor one with a catalog benchmark), while the same file keeps its name when its rows change.
    The title shows the file's name. The format is read from the first record unless given: prompt +
    chosen + rejected (`preference`) or `messages` only (kind `messages`: scored, no accuracy).
    Subset: the row's `subset` field, else the file's stem."""
    path = Path(path).resolve()
    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    format = format or detect_format(path)
    stem = re.sub(r"[^a-z0-9]+", "-", file_stem(path).lower()).strip("-") or "dataset"
    kind = {"messages": "messages", "rmb-bon": "best-of-n"}.get(format, "preference")
    return Benchmark(
        benchmark=f"{stem}-{path_tag(path)}",
        title=f"{path.name} (local dataset)",
        kind=kind,
        local=(LocalSource(format=format, path=str(path)),),
        source_file=str(path),
    )


def register_dataset(path: Path) -> str:
    """Register a user's preference file as a benchmark named after the file (see dataset_benchmark);
    return its name. The file is read first: nothing is registered when it cannot be read, when no row
    is left after the rejects, or when its name would clash with another benchmark."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if not path.is_file():  # read whole, /dev/zero would never end; a FIFO would wait for a writer
        raise UserError(f"{path}: not a regular file (a folder, a FIFO or a device): give a preference file")
    bench = dataset_benchmark(path)
    target = user_benchmarks_dir() / f"{bench.benchmark}.yaml"
    for other in load_benchmarks().values():
        if asset_name(other.benchmark) == asset_name(bench.benchmark) and other.source_file != str(target):
            raise UserError(f"{path}: its name {bench.benchmark!r} is taken by {other.source_file}")
    data = normalize(bench)
    if data.rejects.height:
        first = data.rejects.row(0, named=True)
        counts = (
            f"{data.rejects.height} of {data.source_rows} rows rejected"
            f" (first: row {first['source_row']}: {first['reason']})"
        )
        if data.examples.is_empty():
            raise UserError(f"{bench.local[0].path}: {counts}; no row left to score")
        print(f"{bench.local[0].path}: {counts}; see the `rejects` table", file=sys.stderr)
    document = bench.model_dump(mode="json", exclude={"source_file"}, exclude_defaults=True)
    with atomic_path(target) as tmp:  # a reader sees the whole entry or none
        tmp.write_text(
            yaml.safe_dump(document | {"benchmark": bench.benchmark, "kind": bench.kind}, sort_keys=False),
            encoding="utf-8",
        )
    return bench.benchmark
