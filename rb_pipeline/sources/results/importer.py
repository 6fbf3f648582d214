"""Import result files written by other tools into the lake as runs (`provenance = 'imported'`).

Recognised shapes, detected from the content, not the file name: one module of this package each,
registered in `RESULT_FORMATS` (rewardbench's per-subset metrics `rewardbench_metrics`, the
`rewardbench` CLI's metrics `rewardbench_cli_metrics`, rewardbench per-example scores
`rewardbench_scores`, RMB's result files `rmb_results`). Every file is read as all inbound JSON is
(`sources.records.read_json`). The underscored helpers below are shared with those modules only.

Metrics go to `lake/imported_metrics/<run_id>.parquet` (model, run_id, benchmark, subset, n,
accuracy, score): for a metrics file n is NULL, as its counts are unknown (the files carry none: a run
on 200 examples writes the same keys as a full one; the leaderboard's coverage then says "published
metrics"); for a per-example file n is its row count and accuracy the mean of its `results` /
`is_correct` (any share in [0, 1]: a judge's tie 0.5, RewardBench 2's 1/k). A subset whose score is
not an accuracy (rule rb2-ties: RewardBench 2's Ties score, in [-0.01, 1.01]: 0.30 + 0.30 + 0.20 +
0.20 of shares plus 0.01 x a mean of tanh) goes to `score`, its accuracy NULL. RewardBench 2
per-example files (`scores` lists with `num_correct` correct answers first, each score a number or
wrapped in a one-element list, `[[x], ...]`, as reroll_and_score_dataset and the judges write them)
are read too; on Ties the file's `results` are not used (run_v2.py keeps reroll's shares there, the
judges' script writes null): the warehouse computes the Ties score by the rb2-ties rule
(sql/rb2_ties_history.sql) from each row's margin and chosen_spread. Per-example rows also go to
`lake/imported_outcomes/<run_id>.parquet` (model, run_id, benchmark, subset, example_id, correct,
margin, credit, chosen_spread). The run's row is written last, with status `complete`: views only read imported rows of
complete runs, so an import that dies leaves nothing a view would read.

A folder in the layout of the public results repositories imports every model in it (`import_source`
also takes a Hub dataset id, e.g. allenai/reward-bench-results, fetched with snapshot_download); files
of one model and format with disjoint subsets (RMB's one file per scenario) become one run.

Subsets are looked up in the catalog (`load_benchmarks()`); subset keys the catalog does not know
are reported (returned, logged, and kept in the run's `settings`), never silently dropped. Every file
is read and checked before anything is written: one bad file fails the whole import, naming it.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import polars as pl
from pydantic import AfterValidator, BeforeValidator

from rb_pipeline.catalog.entries import SCORE_RULES, Benchmark, load_benchmarks
from rb_pipeline.core.ids import check_model_id, content_hash
from rb_pipeline.core.lake import write_parquet
from rb_pipeline.core.paths import lake_dir
from rb_pipeline.core.runs import new_run_id, run_record, write_run
from rb_pipeline.core.schemas import IMPORTED_METRICS_SCHEMA, IMPORTED_OUTCOMES_SCHEMA
from rb_pipeline.core.storage import scan_parquet
from rb_pipeline.core.text import first_line
from rb_pipeline.sources.records import SourceError, read_json
from rb_pipeline.sources.rows import RowError, SourceRow, validate_row

# Folders of rewardbench's results layout: the path below one of them is `<org>/<model>`.
LAYOUT_ROOTS = ("eval-set", "eval-set-scores", "pref-sets", "pref-sets-scores", "results")
# Name endings that are not part of the model name (`<model>_outputs.jsonl`, `<model>_result.json`).
NAME_SUFFIXES = ("_outputs", "_results", "_result")
RESULT_SUFFIXES = (".json", ".jsonl")
# Non-numeric fields of a metrics file (kept as metadata, never read as subsets).
METADATA_KEYS = ("model", "model_type", "chat_template", "ref_model", "tokenizer", "revision")
MAX_LISTED = 20  # ids / keys named in a message before "..."
SCORE_RANGES = SCORE_RULES  # scores that are not accuracies, by subset rule, and each one's range
ACCURACY_RANGE = (0.0, 1.0)
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")  # a Hub repository id, org/name


class ResultFileError(ValueError):
    """A result file cannot be imported; the message names the file (and the row or key)."""


@dataclass
class ImportedRun:
    """What one imported file became."""

    run_id: str
    model: str
    source: Path
    format: str
    benchmarks: list[str]
    n_subsets: int
    n_examples: int  # per-example rows written to imported_outcomes (0 for metrics files)
    unknown_subsets: dict[str, float | int] = field(default_factory=dict)  # key -> accuracy or rows
    mismatches: list[str] = field(default_factory=list)  # ids where results != (chosen > rejected)
    notes: list[str] = field(default_factory=list)
    already_imported: bool = False  # the same file was imported for this model before: not re-written

    def summary(self) -> str:
        """One line for the user."""
        what = f"{self.n_subsets} subsets" + (f", {self.n_examples} examples" if self.n_examples else "")
        state = "already imported as run" if self.already_imported else "run"
        line = f"{self.source}: {self.model} -> {state} {self.run_id} ({self.format}; {', '.join(self.benchmarks)}; {what})"
        if self.unknown_subsets:
            line += f"; {len(self.unknown_subsets)} subset keys not in the catalog: {_listing(self.unknown_subsets)}"
        if self.mismatches:
            line += f"; {len(self.mismatches)} rows where results != (chosen > rejected)"
        return line

    __str__ = summary


@dataclass
class _Parsed:
    path: Path
    format: str
    model: str
    metadata: dict
    metrics: list[dict]  # benchmark, subset, n, accuracy
    outcomes: list[dict]  # benchmark, subset, example_id, correct, margin
    unknown: dict[str, float | int]
    mismatches: list[str]
    notes: list[str]
    digest: str


# ---------------------------------------------------------------- result formats

Body = list[dict] | dict  # a per-example file's rows, or a metrics file's object
Parse = Callable[[_Parsed, Body, dict[str, Benchmark]], None]


@dataclass(frozen=True)
class ResultFormat:
    """A result file's shape: `reads` answers whether a JSON document has it (its rows or metrics object
    and its metadata, else None); `parse` fills a `_Parsed` from them (metrics, outcomes, notes)."""

    name: str
    shape: str  # what its files hold, in words, for the message naming what was expected
    reads: Callable[[Path, object], tuple[Body, dict] | None]
    parse: Parse


# The formats of this package's modules, in the order a document is tried (sources.results.__init__)
RESULT_FORMATS: dict[str, ResultFormat] = {}


def register_result_format(
    name: str, shape: str, reads: Callable[[Path, object], tuple[Body, dict] | None]
) -> Callable[[Parse], Parse]:
    """Register a result format: `reads` recognises its documents, the decorated function parses them."""

    def decorator(parse: Parse) -> Parse:
        RESULT_FORMATS[name] = ResultFormat(name, shape, reads, parse)
        return parse

    return decorator


# ---------------------------------------------------------------- entry point


def import_source(source: str) -> Path:
    """What `rb-pipeline import` reads: a local file or folder, else a Hub dataset id (`org/name`, or
    `org/name@revision`) in the public results layout (e.g. allenai/reward-bench-results), downloaded
    once with `huggingface_hub.snapshot_download` (its .json/.jsonl files only) into the lake."""
    path = Path(source)
    if path.exists():
        return path
    repo_id, _, revision = source.partition("@")
    if not HUB_ID.fullmatch(repo_id):
        raise FileNotFoundError(f"{source}: no such file or folder (and not a Hub dataset id `org/name`)")
    from huggingface_hub import snapshot_download  # only when a Hub id is given

    target = lake_dir("imports", repo_id.replace("/", "--"), revision or "main")
    try:
        return Path(
            snapshot_download(
                repo_id,
                repo_type="dataset",
                revision=revision or None,
                allow_patterns=["*.json", "*.jsonl"],
                local_dir=target,
            )
        )
    except Exception as exc:  # offline, unknown repo or revision: one clear line
        reason = first_line(exc)
        offline = (
            " (HF_HUB_OFFLINE is set: download it elsewhere and import the folder)"
            if os.environ.get("HF_HUB_OFFLINE")
            else ""
        )
        raise ResultFileError(
            f"{source}: cannot fetch this dataset from the Hub: {reason}{offline}"
        ) from None


def import_path(
    path: Path,
    log: Callable[[str], None] = print,
    model: str | None = None,
    benchmarks: dict[str, Benchmark] | None = None,
) -> list[ImportedRun]:
    """Import one result file, or every `.json` / `.jsonl` file under a folder, as runs.

    `model` overrides the model id (default: the file's `model` field, else `<org>/<model>` of its
    path below a rewardbench layout folder, else the file name)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    benchmarks = benchmarks if benchmarks is not None else load_benchmarks()
    files = _result_files(path, log)
    # all checked before any write
    parsed = _merge_parts([_parse_file(file, benchmarks, model) for file in files])
    imported = [_write(item) for item in parsed]
    for run in imported:
        log(run.summary())
        for note in run.notes:
            log(f"  note: {note}")
    return imported


def _merge_parts(parsed: list[_Parsed]) -> list[_Parsed]:
    """Files of one model, format and benchmarks that hold disjoint subsets are parts of one run (RMB's
    scripts write one result file per scenario): they become one run, so the latest-run views see them
    all. Files that overlap (a metrics file and a per-example file of the same subsets) stay apart."""
    groups: dict[tuple, list[_Parsed]] = {}
    for item in parsed:
        key = (item.model, item.format, tuple(sorted({row["benchmark"] for row in item.metrics})))
        groups.setdefault(key, []).append(item)
    merged = []
    for items in groups.values():
        subsets = [(row["benchmark"], row["subset"]) for item in items for row in item.metrics]
        if len(items) == 1 or len(subsets) != len(set(subsets)):
            merged.extend(items)
            continue
        first = items[0]
        merged.append(
            _Parsed(
                path=Path(os.path.commonpath([item.path for item in items])),
                format=first.format,
                model=first.model,
                metadata=first.metadata,
                metrics=[row for item in items for row in item.metrics],
                outcomes=[row for item in items for row in item.outcomes],
                unknown={key: value for item in items for key, value in item.unknown.items()},
                mismatches=[example for item in items for example in item.mismatches],
                notes=[f"{len(items)} files merged into one run"] + [n for item in items for n in item.notes],
                digest=hashlib.sha256("".join(sorted(item.digest for item in items)).encode()).hexdigest(),
            )
        )
    return merged


def _result_files(path: Path, log: Callable[[str], None]) -> list[Path]:
    if path.is_file():
        return [path]
    files, ignored = [], []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if not file.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        (files if file.name.lower().endswith(RESULT_SUFFIXES) else ignored).append(file)
    if ignored:
        log(
            f"{path}: ignored {len(ignored)} files that are not .json/.jsonl: {_listing([str(f) for f in ignored])}"
        )
    if not files:
        raise ResultFileError(f"{path}: no .json or .jsonl result files in this folder")
    return files


# ---------------------------------------------------------------- reading


def _read_json(path: Path) -> object:
    """The file's JSON, read as every inbound file is (`sources.records.read_json`)."""
    try:
        return read_json(path)
    except SourceError as exc:
        raise ResultFileError(str(exc)) from None


def _detect(path: Path, document: object) -> tuple[str, list[dict] | dict, dict]:
    """(format, rows or metrics object, metadata) of a result document: the first registered format
    that reads it."""
    for result_format in RESULT_FORMATS.values():
        read = result_format.reads(path, document)
        if read is not None:
            return result_format.name, *read
    keys = sorted(document)[:12] if isinstance(document, dict) else None
    got = f"an object with keys {keys}" if keys is not None else f"a {type(document).__name__}"
    if isinstance(document, list) and document:
        got += f" whose first item is {_describe(document[0])}"
    *shapes, last = [result_format.shape for result_format in RESULT_FORMATS.values()]
    raise ResultFileError(
        f"{path}: unrecognised result file (got {got}); expected {', '.join(shapes)} or {last}"
    )


def _rows(document: object) -> list[dict] | None:
    """A per-example document's rows: a non-empty JSON list of objects (else None)."""
    if isinstance(document, list) and document and all(isinstance(row, dict) for row in document):
        return document
    return None


def _describe(value: object) -> str:
    return f"an object with keys {sorted(value)[:12]}" if isinstance(value, dict) else type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: object) -> float | int | None:
    """A number, or a string holding a finite one (`"0.75"`: some writers quote them); else None."""
    if _is_number(value):
        return value
    try:
        number = float(value) if isinstance(value, str) else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------- parsing


def _parse_file(path: Path, benchmarks: dict[str, Benchmark], model: str | None) -> _Parsed:
    """`_parse`, with a file nested deeper than Python can follow named in one line."""
    try:
        return _parse(path, benchmarks, model)
    except RecursionError:
        raise ResultFileError(f"{path}: nested too deeply to read (not a result file?)") from None


def _parse(path: Path, benchmarks: dict[str, Benchmark], model: str | None) -> _Parsed:
    document = _read_json(path)
    fmt, body, metadata = _detect(path, document)
    if isinstance(body, dict):
        metadata = {key: value for key, value in body.items() if key in METADATA_KEYS}
    elif "model" not in metadata:
        row_models = {row.get("model") for row in body if isinstance(row.get("model"), str)}
        if len(row_models) == 1:
            metadata["model"] = row_models.pop()
    try:
        model_id = check_model_id(_model_id(path, model, metadata))
    except ValueError as exc:  # a newline or '--' in the file's model name: nothing is imported
        raise ResultFileError(f"{path}: {exc}") from None
    parsed = _Parsed(
        path=path,
        format=fmt,
        model=model_id,
        metadata={key: value for key, value in metadata.items() if not isinstance(value, (list, dict))},
        metrics=[],
        outcomes=[],
        unknown={},
        mismatches=[],
        notes=[],
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    RESULT_FORMATS[fmt].parse(parsed, body, benchmarks)
    if not parsed.metrics:
        raise ResultFileError(
            f"{path}: none of its subsets is in the catalog (unknown: {_listing(parsed.unknown)}); nothing imported"
        )
    return parsed


def _model_id(path: Path, override: str | None, metadata: dict) -> str:
    if override:
        return override
    named = metadata.get("model")
    if isinstance(named, str) and named.strip():
        return named.strip()
    name = path.name
    for suffix in RESULT_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    for suffix in NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    parts = path.parent.parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in LAYOUT_ROOTS:
            return "/".join((*parts[index + 1 :], name))
    if name.count("__") == 1:  # a flattened `<org>__<model>` file name
        return name.replace("__", "/")
    return name


def _subset_index(benchmarks: dict[str, Benchmark]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for bench in benchmarks.values():
        for subset in bench.all_subsets:
            index.setdefault(subset, []).append(bench.benchmark)
    return index


def _benchmark_of(path: Path, subset: str, index: dict[str, list[str]]) -> str | None:
    owners = index.get(subset, [])
    if len(owners) > 1:
        raise ResultFileError(
            f"{path}: subset {subset!r} is in several catalog benchmarks ({', '.join(owners)}); "
            "cannot tell which one this file is for"
        )
    return owners[0] if owners else None


def _parse_metrics(parsed: _Parsed, accuracies: dict, benchmarks: dict[str, Benchmark]) -> None:
    """Per-subset numbers: n NULL (a metrics file holds no counts); an accuracy, or for a subset whose
    rule gives another score (SCORE_RANGES) that score."""
    index = _subset_index(benchmarks)
    for subset, value in accuracies.items():
        value = float(value)
        bench_name = _benchmark_of(parsed.path, subset, index)
        rule = benchmarks[bench_name].rule_of(subset) if bench_name is not None else None
        low, high = SCORE_RANGES.get(rule, ACCURACY_RANGE)
        if not low <= value <= high:
            what = f"{rule} score" if rule in SCORE_RANGES else "accuracy"
            raise ResultFileError(f"{parsed.path}: {subset}: {what} {value} is not in [{low}, {high}]")
        if bench_name is None:
            parsed.unknown[subset] = value
            continue
        is_score = rule in SCORE_RANGES
        expected = benchmarks[bench_name].all_subsets[subset].expected_rows
        if not is_score and expected is not None and abs(value * expected - round(value * expected)) > 1e-6:
            parsed.notes.append(
                f"{bench_name}/{subset}: accuracy {value} x {expected} rows is not a whole count "
                "(was it run on a different number of rows?)"
            )
        parsed.metrics.append(
            {
                "benchmark": bench_name,
                "subset": subset,
                "n": None,
                "accuracy": None if is_score else value,
                "score": value if is_score else None,
            }
        )
    if parsed.metrics:
        parsed.notes.append(
            "a metrics file holds no example counts: n is NULL and the leaderboard's coverage says"
            " 'published metrics' (import the per-example file to know them)"
        )
    _note_missing_subsets(parsed, benchmarks)


def _note_missing_subsets(parsed: _Parsed, benchmarks: dict[str, Benchmark]) -> None:
    seen: dict[str, set[str]] = {}
    for row in parsed.metrics:
        seen.setdefault(row["benchmark"], set()).add(row["subset"])
    for bench_name, subsets in seen.items():
        missing = sorted(set(benchmarks[bench_name].subsets) - subsets)  # declared (not generated) subsets
        if missing:
            parsed.notes.append(
                f"{bench_name}: the file has no result for {len(missing)} subsets: {_listing(missing)}"
            )


def _unwrapped(value: object) -> object:
    """rewardbench writes some scores wrapped in one-element lists ([[0.3]])."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _share(value: bool | float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a number in [0, 1], got {value!r}")
    return float(value)


# A score: a number (NaN or infinite: None, not scored), None when absent
Score = Annotated[float | None, BeforeValidator(_unwrapped), AfterValidator(_finite_or_none)]
# The example's credit: 1 (correct), 0 (wrong) or a share in between (a judge's tie 0.5, RewardBench 2's
# 1/k for a top score shared with k - 1 rejected, 0.25 for a judge's error); true / false as 1 / 0
Credit = Annotated[bool | float, AfterValidator(_share)]


_Shape = TypeVar("_Shape", bound=SourceRow)


def _validated(parsed: _Parsed, number: int, shape: type[_Shape], row: object) -> _Shape:
    try:
        return validate_row(shape, row)
    except RowError as exc:
        raise ResultFileError(f"{parsed.path}: row {number}: {exc}") from None


def _add_outcome(
    parsed: _Parsed,
    row: int,
    bench_name: str,
    subset: str,
    example_id: str,
    result: float | None,
    chosen: float | None,
    rejected: float | None,
    seen: dict[tuple[str, str], int],
    margin: float | None = None,
    chosen_spread: float | None = None,
) -> None:
    key = (bench_name, example_id)
    if key in seen:
        raise ResultFileError(
            f"{parsed.path}: row {row}: duplicate id {example_id!r} (first at row {seen[key]})"
        )
    seen[key] = row
    if margin is None and chosen is not None and rejected is not None:
        margin = chosen - rejected
    if margin is not None and result in (0.0, 1.0) and (result == 1.0) != (margin > 0):
        parsed.mismatches.append(example_id)
    if result is None:  # RewardBench 2 Ties: correct from the scores, credit from the subset's rule
        correct = margin > 0 if margin is not None else None
    else:
        correct = None if result not in (0.0, 1.0) else result == 1.0
    parsed.outcomes.append(
        {
            "benchmark": bench_name,
            "subset": subset,
            "example_id": example_id,
            "correct": correct,
            "margin": margin,
            "credit": result,
            "chosen_spread": chosen_spread,
        }
    )


def _aggregate_outcomes(parsed: _Parsed, benchmarks: dict[str, Benchmark]) -> None:
    """Per subset: n = rows, accuracy = mean(results); notes on ties, unscored rows, row counts."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for outcome in parsed.outcomes:
        groups.setdefault((outcome["benchmark"], outcome["subset"]), []).append(outcome)
    for (bench_name, subset), outcomes in groups.items():
        results = [outcome["credit"] for outcome in outcomes]
        from_rule = any(result is None for result in results)  # rb2-ties: scored in the warehouse
        parsed.metrics.append(
            {
                "benchmark": bench_name,
                "subset": subset,
                "n": len(results),
                "accuracy": None if from_rule else sum(results) / len(results),
                "score": None,  # rb2-ties: computed in the warehouse from the rows
            }
        )
        expected = benchmarks[bench_name].all_subsets[subset].expected_rows
        if expected is not None and expected != len(results):
            parsed.notes.append(f"{bench_name}/{subset}: {len(results)} rows, the catalog expects {expected}")
    shares = sum(1 for outcome in parsed.outcomes if outcome["credit"] not in (None, 0.0, 1.0))
    if shares:
        parsed.notes.append(
            f"{shares} rows scored between 0 and 1 (ties, shared top scores): counted as such in accuracy, "
            "correct = NULL in imported_outcomes"
        )
    unscored = sum(1 for outcome in parsed.outcomes if outcome["margin"] is None)
    if unscored:
        parsed.notes.append(
            f"{unscored} rows carry no scores: their results could not be checked against the scores"
        )
    if parsed.mismatches:
        parsed.notes.append(
            f"{len(parsed.mismatches)} rows where results != (chosen > rejected) (the file's results are kept): "
            f"ids {_listing(parsed.mismatches)}"
        )
    _note_missing_subsets(parsed, benchmarks)


# ---------------------------------------------------------------- writing


def _settings_key(parsed: _Parsed) -> str:
    return "imported-" + content_hash("imported", parsed.format, parsed.model, parsed.digest)


def _previous_import(model: str, settings_key: str) -> str | None:
    """The run id of a complete import of the same file for the same model, if any."""
    files = sorted(lake_dir("runs").glob("*.parquet"))
    if not files:
        return None
    runs = (
        scan_parquet(files)
        .filter(
            (pl.col("model") == model)
            & (pl.col("settings_key") == settings_key)
            & (pl.col("provenance") == "imported")
            & (pl.col("status") == "complete")
        )
        .select("run_id")
        .collect()
    )
    return runs["run_id"].max() if runs.height else None


def _write(parsed: _Parsed) -> ImportedRun:
    settings_key = _settings_key(parsed)
    bench_names = sorted({row["benchmark"] for row in parsed.metrics})
    previous = _previous_import(parsed.model, settings_key)
    run = ImportedRun(
        run_id=previous or new_run_id(),
        model=parsed.model,
        source=parsed.path,
        format=parsed.format,
        benchmarks=bench_names,
        n_subsets=len(parsed.metrics),
        n_examples=len(parsed.outcomes),
        unknown_subsets=dict(parsed.unknown),
        mismatches=list(parsed.mismatches),
        notes=list(parsed.notes),
        already_imported=previous is not None,
    )
    if previous is not None:
        return run
    started = datetime.now(UTC)
    metrics = pl.DataFrame(
        [{"model": parsed.model, "run_id": run.run_id, **row} for row in parsed.metrics],
        schema=IMPORTED_METRICS_SCHEMA,
    )
    if parsed.outcomes:
        outcomes = pl.DataFrame(
            [
                {
                    "model": parsed.model,
                    "run_id": run.run_id,
                    **row,
                }
                for row in parsed.outcomes
            ],
            schema=IMPORTED_OUTCOMES_SCHEMA,
        )
        write_parquet(outcomes, lake_dir("imported_outcomes", f"{run.run_id}.parquet"))
    write_parquet(metrics, lake_dir("imported_metrics", f"{run.run_id}.parquet"))
    settings = {
        "source_file": str(parsed.path.resolve()),
        "sha256": parsed.digest,
        "format": parsed.format,
        "metadata": parsed.metadata,
        "unknown_subsets": parsed.unknown,
        "n_mismatches": len(parsed.mismatches),
        "mismatch_ids": parsed.mismatches[:MAX_LISTED],
        "notes": parsed.notes,
    }
    model_type = parsed.metadata.get("model_type")
    record = run_record(
        run.run_id,
        parsed.model,
        settings,
        settings_key,
        bench_names,
        status="complete",
        provenance="imported",
        started_at=started,
        model_type=model_type if isinstance(model_type, str) else None,
    )
    write_run(record)  # last: until this row exists, no view reads the tables written above
    return run


def _listing(items: object) -> str:
    names = [str(item) for item in items]
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names) - MAX_LISTED} more)" if len(names) > MAX_LISTED else "")
