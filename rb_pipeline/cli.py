"""`rb-pipeline`: demo, catalog, score, sql, warehouse, import, push, compare, suspects, report.

Exit code 0 on success. On a failure, two lines on stderr: `rb-pipeline: error: <what failed, which
model/file/row, what to do>` and `rb-pipeline: log: <path>`, exit code 2. Everything a command writes
to stderr (Dagster's logs, warnings, progress bars, the full traceback) goes to that log file,
`$RB_HOME/logs/<UTC time>-<command>.log` (removed when a command succeeds and left it empty).
"""

from __future__ import annotations

import argparse
import atexit
import errno
import gc
import json
import os
import re
import signal
import sys
import tempfile
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, suppress
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from rb_pipeline.core.errors import UserError
from rb_pipeline.core.ids import check_model_id
from rb_pipeline.core.paths import rb_home
from rb_pipeline.core.settings import add_setting_flags, positive, user_settings
from rb_pipeline.core.text import first_line, table_cell

DEMO_MODEL_ID = "rb-demo/tiny-classifier"
COVERAGE_WIDTH = 100  # characters of the leaderboard's coverage text shown on the console


# ---------------------------------------------------------------- output


def render(frame: pl.DataFrame, fmt: str = "table") -> str:
    """A frame as an aligned text table, CSV or JSON records (nested cells as JSON text in table and CSV)."""
    if fmt != "json":
        frame = nested_as_json(frame)
    if fmt == "csv":
        return frame.write_csv().rstrip("\n")
    if fmt == "json":
        return json.dumps(finite(frame).to_dicts(), default=str, indent=1)
    cells = [[visible(table_cell(v)) for v in row] for row in frame.iter_rows()]
    names = [visible(name) for name in frame.columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(names)]
    line = "  ".join(c.ljust(w) for c, w in zip(names, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, rule, *body, f"({frame.height} rows)"])


def nested_as_json(frame: pl.DataFrame) -> pl.DataFrame:
    """List, array and struct columns as JSON text (CSV has no nested cells; a table shows them whole)."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    return frame.with_columns(
        pl.Series(
            name,
            [
                None if v is None else json.dumps(v, default=str, ensure_ascii=False)
                for v in frame[name].to_list()
            ],
            dtype=pl.String,
        )
        for name in nested
    )


def finite(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and infinite floats as null (JSON has no such numbers)."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    return frame.with_columns(
        pl.when(pl.col(name).is_finite()).then(pl.col(name)).alias(name) for name in floats
    )


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """Control characters (ESC, CR, newline, ...) escaped as `\\x1b`, `\\r`, `\\n`: a table cell
    stays on its line and the data cannot drive the terminal."""
    return CONTROL_CHARACTERS.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


def print_leaderboard(model_id: str | None = None) -> None:
    """The leaderboard (or one model's row), dropping columns that are empty for everyone."""
    from rb_pipeline.warehouse.sql_rules import query_sql
    from rb_pipeline.warehouse.views import query

    frame = query(query_sql("report/leaderboard"))
    if model_id is not None:
        frame = frame.filter(pl.col("model") == model_id)
    always = ("model", "rewardbench", "rmb")
    keep = [c for c in frame.columns if frame[c].null_count() < frame.height or c in always]
    # the whole coverage text can run to thousands of characters: the console gets its start
    brief = pl.col("coverage").str.slice(0, COVERAGE_WIDTH) + pl.when(
        pl.col("coverage").str.len_chars() > COVERAGE_WIDTH
    ).then(pl.lit(" … (select coverage from leaderboard)")).otherwise(pl.lit(""))
    frame = frame.select(keep)
    print(render(frame.with_columns(coverage=brief) if "coverage" in keep else frame))


def print_prm_scores(model_id: str) -> None:
    """A process reward model's numbers: PRMBench's PRMScore per category, overall and group, ProcessBench's
    F1 per subset with its threshold (sql/prm_*.sql), then its row of the PRM leaderboard."""
    from rb_pipeline.warehouse.sql_rules import query_sql
    from rb_pipeline.warehouse.views import queries

    names = ("cli/prmbench_scores", "cli/processbench_scores", "report/prm_leaderboard")
    *scores, board = (
        frame.filter(pl.col("model") == model_id) for frame in queries(list(map(query_sql, names)))
    )
    for frame in scores:
        if frame.height:
            print(render(frame.drop("model")))
    print(render(board.select([c for c in board.columns if board[c].null_count() < board.height])))


def print_partial_sections(model_id: str) -> None:
    """Each section's score over the subsets' rows that were scored (`section_scores.partial_score`),
    for runs on part of the data, whose leaderboard scores stay empty."""
    from rb_pipeline.warehouse.sql_rules import query_sql
    from rb_pipeline.warehouse.views import query

    frame = query(query_sql("report/partial_sections"))
    print(render(frame.filter(pl.col("model") == model_id).drop("model")))


# ---------------------------------------------------------------- commands


def cmd_demo(args: argparse.Namespace) -> None:
    """Build a tiny classifier offline, materialize everything on the shipped samples, print the leaderboard."""
    from assets.launch import materialize_datasets, materialize_scores, materialize_warehouse
    from rb_pipeline.catalog.entries import ModelEntry, load_benchmarks, register_model
    from rb_pipeline.models.tiny_models import build_tiny_classifier
    from rb_pipeline.sources.normalize import normalize

    os.environ["RB_SOURCE"] = "sample"  # the demo is the shipped samples, always
    print(f"RB_HOME={rb_home()}")
    texts = []
    for bench in load_benchmarks().values():
        if bench.local:  # Hub-only benchmarks need the network
            texts += normalize(bench).responses["text"].to_list()[:200]
    path = build_tiny_classifier(rb_home() / "models" / "tiny-classifier", texts=texts, seed=0)
    register_model(ModelEntry(id=DEMO_MODEL_ID, source="$RB_HOME/models/tiny-classifier", max_length=1024))
    print(f"built tiny classifier: {path}")
    materialize_datasets()
    materialize_scores(DEMO_MODEL_ID, {})
    materialize_warehouse()
    print_leaderboard()
    print(
        "The shipped samples hold a few rows of each subset, so every leaderboard score stays empty (a score"
        " is shown only on complete subsets; `coverage` says what is missing). On the samples, by section:"
    )
    print_partial_sections(DEMO_MODEL_ID)
    print(
        "For real numbers: `rb-pipeline score --model ORG/NAME` (the full data, from RB_MIRROR or the Hub)."
    )


def cmd_catalog(args: argparse.Namespace) -> None:
    """Benchmarks, subsets and counts."""
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.sources.inventory import catalog_summary

    benchmarks = load_benchmarks()
    summary = catalog_summary(benchmarks)
    reads = {name: _reads(bench) for name, bench in benchmarks.items()}
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return
    rows = [
        {
            "benchmark": b["benchmark"],
            "kind": b["kind"],
            "subsets": len(b["subsets"]),
            "expected": sum(s.get("expected_rows") or 0 for s in b["subsets"]) or None,
            "local": sum(s.get("actual_rows") or 0 for s in b["subsets"]),
            "absent": sum(1 for s in b["subsets"] if s.get("availability") != "present"),
            "source": b.get("local_origin"),
            "score_reads": reads[b["benchmark"]],  # where `score` reads it now (full data unless --sample)
        }
        for b in summary
    ]
    print(render(pl.DataFrame(rows)))


def _reads(benchmark) -> str:
    """`planned_origin`, or `unavailable` where the data cannot be had now."""
    from rb_pipeline.sources.normalize import planned_origin
    from rb_pipeline.sources.records import SourceError

    try:
        return planned_origin(benchmark)
    except SourceError:
        return "unavailable"


def resolve_model(name: str, ref_model: str | None):
    """A registered model id, a local folder (its id is its absolute path, `catalog.local_model_id`, as
    in the UI), or a Hub id."""
    from rb_pipeline.catalog.entries import (
        ModelEntry,
        load_models,
        local_model_id,
        names_a_folder,
        register_model,
    )

    if not name.strip():  # Path("") is the current folder: it would be scored and registered
        raise UserError("--model is empty: give a registered id, a model folder or a Hub id ORG/NAME")
    models = load_models()
    path = Path(name).expanduser()
    if name not in models and path.is_dir():  # a folder registered before keeps its id
        try:
            name = local_model_id(path, models)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if name in models:
        entry = models[name]
        if ref_model:
            entry = entry.model_copy(update={"ref_model": ref_model, "type": "dpo"})
            register_model(entry)
        return entry
    model_type = "dpo" if ref_model else "classifier"
    if path.exists() and not path.is_dir():
        raise UserError(f"model {name}: not a folder: give a model folder or a Hub id ORG/NAME")
    if not path.exists() and names_a_folder(name):
        raise UserError(f"model {name}: no such folder: give an existing model folder or a Hub id ORG/NAME")
    if not path.exists():
        try:  # checked before anything is registered
            check_model_id(name)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        _check_hub_reachable(name)
    entry = ModelEntry(id=name, type=model_type, ref_model=ref_model)  # a folder: `name` is its path
    register_model(entry)
    return entry


def _check_hub_reachable(repo_id: str) -> None:
    """A Hub model while offline is an error now, unless its files are already in the local Hub cache."""
    from assets.scores import hub_model_problem

    problem = hub_model_problem(repo_id)
    if problem:
        raise UserError(problem)


def cmd_score(args: argparse.Namespace) -> None:
    """Materialize one model's scores through Dagster and print its leaderboard row."""
    from dagster import AssetKey

    from assets.datasets import check_findings
    from assets.launch import last_metadata, materialize_scores, materialize_warehouse
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.catalog.steps import kind_mismatch
    from rb_pipeline.core.kinds import model_kind
    from rb_pipeline.sources.datasets import register_dataset
    from rb_pipeline.sources.normalize import planned_origin
    from rb_pipeline.sources.records import SourceError
    from rb_pipeline.warehouse.sql_rules import query_sql
    from rb_pipeline.warehouse.views import query

    if args.sample:
        # read by rb_pipeline.core.paths.source_mode, in this process's runs
        os.environ["RB_SOURCE"] = "sample"
    benchmarks = list(args.benchmark or [])
    if args.dataset:
        benchmarks.append(register_dataset(Path(args.dataset)))
    catalog = load_benchmarks()
    unknown = sorted(set(benchmarks) - set(catalog))
    if unknown:
        raise UserError(f"unknown benchmark(s) {unknown}; known: {', '.join(sorted(catalog))}")
    entry = resolve_model(args.model, args.ref_model)
    origins: dict[str, str] = {}  # benchmark -> where its data is read from (full data unless --sample)
    # by default, the benchmarks of the model's kind (step-level ones for a prm, the others else)
    for name in benchmarks or [n for n, b in catalog.items() if not kind_mismatch(entry.type, b.kind)]:
        try:
            origins[name] = planned_origin(catalog[name])
        except SourceError as exc:
            if benchmarks:  # asked for by name: its data must be had
                raise UserError(str(exc)) from exc
            print(f"skipped {exc}")
    if not origins:
        raise UserError("no benchmark's data can be had: set RB_MIRROR, go online, or pass --sample")
    args.entry = entry  # for the one-line error (main)
    # the scores run normalizes what is missing or changed (its data version) and reuses the rest
    config = {
        "benchmarks": list(origins),
        "nproc_per_node": args.nproc_per_node,
        **{setting.name: getattr(args, setting.name) for setting in user_settings()},
    }
    materialize_scores(entry.id, {k: v for k, v in config.items() if v not in (None, [])})
    run = {name: value.value for name, value in last_metadata(AssetKey("scores")).items()}
    print(
        f"{entry.id}: {run['responses']} responses, max_length {run['max_length']}, {run['truncated']} truncated"
    )
    for name in origins:  # what non-blocking checks found: the console has no check panel
        for line in check_findings(name):
            print(line)
    materialize_warehouse()
    if model_kind(entry.type).scores_steps:
        print_prm_scores(entry.id)
    elif not (args.dataset and len(benchmarks) == 1):  # a user's file alone has no leaderboard row
        print_leaderboard(entry.id)
    if args.dataset:  # the file's own accuracy per subset
        accuracy = query(query_sql("report/subset_accuracy")).filter(
            (pl.col("model") == entry.id) & (pl.col("benchmark") == benchmarks[-1])
        )
        print(render(accuracy.drop("model")))


def cmd_sql(args: argparse.Namespace) -> None:
    """Run a read-only query over the warehouse."""
    from rb_pipeline.warehouse.views import stream_query

    batches = stream_query(args.query, timeout=args.timeout, stop_requested=args.stop_requested)
    try:
        write_result(batches, args.format, args.max_rows)
    finally:
        batches.close()  # stops the query when fewer rows were wanted than it returns


def write_result(batches: Iterator[pl.DataFrame], fmt: str, max_rows: int) -> None:
    """A query's batches to stdout as they come (CSV and JSON: every row, as `render` writes them); a
    table needs every row's width first, so it shows at most `max_rows` and says how to get the rest."""
    if fmt == "table":
        kept: list[pl.DataFrame] = []
        for batch in batches:
            kept.append(batch)
            if sum(frame.height for frame in kept) > max_rows:
                break
        frame = pl.concat(kept)
        print(render(frame.head(max_rows)))
        if frame.height > max_rows:
            print(f"(only the first {max_rows} rows shown: --max-rows N, or --format csv or json for all)")
        return
    written = 0
    for index, batch in enumerate(batches):
        if fmt == "csv":
            sys.stdout.write(nested_as_json(batch).write_csv(include_header=index == 0))
            continue
        for record in finite(batch).to_dicts():
            text = textwrap.indent(json.dumps(record, default=str, indent=1), " ")
            sys.stdout.write(("[\n" if written == 0 else ",\n") + text)
            written += 1
    if fmt == "json":
        sys.stdout.write("[]\n" if written == 0 else "\n]\n")


def cmd_warehouse(args: argparse.Namespace) -> None:
    """Update the warehouse with the lake's new runs (--rebuild: rebuild it whole); say what was done."""
    from dagster import AssetKey

    from assets.launch import last_metadata, materialize_warehouse

    materialize_warehouse(rebuild=args.rebuild)
    done = {name: value.value for name, value in last_metadata(AssetKey("warehouse")).items()}
    reason = f" ({done['update_reason']})" if done["update_reason"] != "-" else ""
    models = f", models: {', '.join(done['models_updated'])}" if done["models_updated"] else ""
    print(f"{done['path']}: {done['update']}{reason} in {done['update_s']} s{models}")
    for moved in done["set_aside"]:  # a changed score file is never served; the next `score` redoes it
        print(f"{moved}: set aside: its content hash differs from the one recorded when it was written")


def cmd_import(args: argparse.Namespace) -> None:
    """Import rewardbench / RMB result files as runs, then rebuild the warehouse."""
    from assets.launch import materialize_warehouse
    from rb_pipeline.sources.results.importer import import_path, import_source

    runs = import_path(import_source(args.path))  # a path or a Hub dataset id; one summary line per run
    materialize_warehouse()
    print_leaderboard()
    for line in where_imports_show(runs):
        print(line)


def where_imports_show(runs: list) -> list[str]:
    """One line per imported run (`publish.importer.ImportedRun`) whose model has a local run: the
    local run stays the model's score in the latest-run views (the reproduction diff compares the
    two under one id), so the line says where the import is listed and how to compare them."""
    from rb_pipeline.warehouse.sql_rules import query_sql
    from rb_pipeline.warehouse.views import query

    if not runs:
        return []
    latest = query(query_sql("cli/latest_computed_runs"))
    lines = []
    for run in runs:
        local = latest.filter((pl.col("model") == run.model) & pl.col("benchmark").is_in(run.benchmarks))
        if local.is_empty():
            continue
        compare = f"; compare them: rb-pipeline compare {run.run_id} {run.model}" if run.n_examples else ""
        lines.append(
            f"{run.model}: its local run {', '.join(sorted(set(local['run_id'])))} stays the model's score"
            f" (leaderboard, subset_accuracy); imported run {run.run_id} is listed in runs_history and"
            f" subset_accuracy_history (provenance 'imported'){compare}"
        )
    return lines


def cmd_push(args: argparse.Namespace) -> None:
    """Upload (or, with --dry-run, write) the model's score dataset."""
    from rb_pipeline.publish.hub import push_score_dataset

    where = push_score_dataset(
        args.model,
        args.repo_id,
        private=args.private,
        dry_run_dir=Path(args.dry_run) if args.dry_run else None,
    )
    print(where)


def cmd_compare(args: argparse.Namespace) -> None:
    """Compare two runs (run ids, or model ids for their latest runs): agreement, accuracy difference with a
    paired interval and McNemar p-values per subset, then the disagreeing examples, largest margin change first."""
    from rb_pipeline.warehouse import answers
    from rb_pipeline.warehouse.views import connect

    with connect(read_only=True) as con:
        try:
            summary, flipped = answers.compare(con, args.a, args.b)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if summary.is_empty():
        raise UserError(f"{args.a} and {args.b}: no example decided by both runs")
    print(render(summary.select(answers.COMPARE_COLUMNS), args.format))
    agree, total = int(summary["n_agree"].sum()), int(summary["n_both"].sum())
    print(f"{agree}/{total} examples agree; {flipped.height} differ (largest margin change first):")
    shown = flipped.head(answers.DISAGREEMENTS_SHOWN)
    print(
        render(
            shown.select("benchmark", "subset", "example_id", "change", "margin_a", "margin_b"), args.format
        )
    )
    print(
        f'All of them: rb-pipeline sql "select * from flips where run_a in ({_quoted(summary["run_a"])}) '
        f'and run_b in ({_quoted(summary["run_b"])})"'
    )


def _quoted(values: pl.Series) -> str:
    return ", ".join(f"'{value}'" for value in values.unique().sort())


def cmd_suspects(args: argparse.Namespace) -> None:
    """List the suspect labels (examples most models get wrong), or export them with their texts."""
    from rb_pipeline.warehouse import answers
    from rb_pipeline.warehouse.views import connect

    with connect(read_only=True) as con:
        frame = answers.suspects(con, min_models=args.min_models, benchmark=args.benchmark)
    if args.out:
        print(f"{answers.export_suspects(frame, Path(args.out))}: {frame.height} examples")
    else:
        print(render(frame.drop("prompt", "chosen", "rejected")))


def cmd_audit(args: argparse.Namespace) -> None:
    """Score a sample of each benchmark under batch sizes 1/8/64, both padding sides, float32/bfloat16
    and eager/SDPA attention (one run each; only those the model reads) and list, per setting, the
    outcomes that flip against the baseline's and the largest score change; for a judge also, per
    setting and subset, the examples whose verdict changes with the answer order."""
    from assets.launch import materialize_datasets, run_audit
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.catalog.steps import kind_mismatch
    from rb_pipeline.engine.audit import DEFAULT_SAMPLE, audited_values
    from rb_pipeline.sources.datasets import quality_path

    entry = resolve_model(args.model, None)
    args.entry = entry  # for the one-line error (main)
    catalog = load_benchmarks()
    unknown = sorted(set(args.benchmark or []) - set(catalog))
    if unknown:
        raise UserError(f"unknown benchmark(s) {unknown}; known: {', '.join(sorted(catalog))}")
    chosen = args.benchmark or [n for n, b in catalog.items() if not kind_mismatch(entry.type, b.kind)]
    missing = [name for name in chosen if not quality_path(name).exists()]
    if missing:  # the audit reads normalized data: build what is not there yet
        materialize_datasets(missing)
    sample = args.sample or DEFAULT_SAMPLE
    report, orders = run_audit(
        {"model": entry.id, "sample": sample, "benchmarks": list(args.benchmark or [])}
    )
    # a judge behind a server or an ensemble varies no setting: its baseline is the entry's settings
    values = audited_values(entry).items()
    baseline = ", ".join(f"{name}={options[0]}" for name, options in values) or "the entry's settings"
    print(f"{entry.id}: {sample} examples per benchmark; each setting against the baseline ({baseline})")
    print(render(report, args.format))
    if orders.height:
        print(f"{entry.id}: answer order, per setting and subset: examples whose verdict changes with it")
        print(render(orders, args.format))


def cmd_report(args: argparse.Namespace) -> None:
    """Write the static report (leaderboard, a page per model, reproductions, flips, suspect labels)."""
    from rb_pipeline.publish.report import write_report

    out = Path(args.out) if args.out else rb_home() / "report"
    try:
        index = write_report(out, model=args.model)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(index)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rb-pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help=cmd_demo.__doc__).set_defaults(func=cmd_demo)
    catalog = sub.add_parser("catalog", help=cmd_catalog.__doc__)
    catalog.add_argument("--json", action="store_true")
    catalog.set_defaults(func=cmd_catalog)
    score = sub.add_parser("score", help=cmd_score.__doc__)
    score.add_argument("--model", required=True, help="registered id, local folder or Hub id")
    score.add_argument("--ref-model", help="reference model for DPO implicit rewards")
    score.add_argument("--benchmark", action="append", help="benchmark to score (repeatable); default all")
    score.add_argument("--dataset", help="a local preference file (json, jsonl, parquet)")
    add_setting_flags(score)  # --dtype, --max-length, --batch-size, ... (core.settings)
    score.add_argument(
        "--nproc-per-node", type=positive(int), help="data-parallel processes (one per GPU), torchrun"
    )
    score.add_argument(
        "--sample",
        action="store_true",
        help="the shipped sample rows instead of the full data (a smoke test)",
    )
    score.set_defaults(func=cmd_score)
    sql = sub.add_parser("sql", help=cmd_sql.__doc__)
    sql.add_argument("query")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.add_argument("--timeout", type=positive(float), help="stop the query after this many seconds")
    sql.add_argument(
        "--max-rows", type=positive(int), default=10_000, help="rows a table shows (csv and json: all)"
    )
    sql.set_defaults(func=cmd_sql)
    store = sub.add_parser("warehouse", help=cmd_warehouse.__doc__)
    store.add_argument("--rebuild", action="store_true", help="rebuild the file whole from the lake")
    store.set_defaults(func=cmd_warehouse)
    imp = sub.add_parser("import", help=cmd_import.__doc__)
    imp.add_argument("path", help="a result file, a folder in the public results layout, or a Hub dataset id")
    imp.set_defaults(func=cmd_import)
    push = sub.add_parser("push", help=cmd_push.__doc__)
    push.add_argument("--model", required=True)
    push.add_argument("--repo-id", required=True)
    push.add_argument("--private", action="store_true")
    push.add_argument("--dry-run", metavar="DIR")
    push.set_defaults(func=cmd_push)
    compare = sub.add_parser("compare", help=cmd_compare.__doc__)
    compare.add_argument("a", help="a run id, or a model id (its latest run on each benchmark)")
    compare.add_argument("b", help="the run to compare with (run id or model id)")
    compare.add_argument("--format", choices=["table", "csv", "json"], default="table")
    compare.set_defaults(func=cmd_compare)
    suspects = sub.add_parser("suspects", help=cmd_suspects.__doc__)
    suspects.add_argument("--benchmark", help="one benchmark (default: all)")
    suspects.add_argument(
        "--min-models", type=int, help="models that must have scored an example (default: the catalog's)"
    )
    suspects.add_argument("--out", help="write them with their texts: FILE.jsonl or FILE.csv")
    suspects.set_defaults(func=cmd_suspects)
    audit = sub.add_parser("audit", help=cmd_audit.__doc__)
    audit.add_argument("--model", required=True, help="registered id, local folder or Hub id")
    audit.add_argument("--sample", type=positive(int), help="examples per benchmark (default 50)")
    audit.add_argument("--benchmark", action="append", help="benchmark to sample (repeatable); default all")
    audit.add_argument("--format", choices=["table", "csv", "json"], default="table")
    audit.set_defaults(func=cmd_audit)
    report = sub.add_parser("report", help=cmd_report.__doc__)
    report.add_argument("--model", help="write only this model's page (the leaderboard lists every model)")
    report.add_argument("--out", help="folder to write into (default $RB_HOME/report)")
    report.set_defaults(func=cmd_report)
    return parser


@contextmanager
def stop_signals() -> Iterator[Callable[[], int]]:
    """SIGTERM stops the command as Ctrl-C (SIGINT) does: by an exception raised where it runs (a
    KeyboardInterrupt, or Dagster's DagsterExecutionInterruptedError inside a run, which marks the run
    `interrupted`). Dagster installs its own handlers for both signals during a run, so which signal
    came is read from a wakeup pipe (written by the interpreter for every handled signal, whichever
    handler runs); yields a function returning it (SIGTERM over SIGINT), or None if none came."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield lambda: None
        return
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)

    seen: set[int] = set()

    def received() -> int | None:
        with suppress(BlockingIOError):
            seen.update(os.read(read, 1024))
        return next((number for number in (signal.SIGTERM, signal.SIGINT) if number in seen), None)

    try:
        yield received
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGTERM, previous_term)
        os.close(read)
        os.close(write)


def interrupts() -> tuple[type[BaseException], ...]:
    """What a stop signal raises: KeyboardInterrupt, or inside a Dagster run Dagster's own (imported
    only if Dagster is: commands that never start a run do not pay for importing it)."""
    dagster = sys.modules.get("dagster")
    return (KeyboardInterrupt,) + ((dagster.DagsterExecutionInterruptedError,) if dagster else ())


def log_path(command: str) -> Path:
    """`$RB_HOME/logs/<UTC time>-<command>.log`: where a command's stderr and tracebacks go."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    folder = rb_home() / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only lake: the log goes to the temporary folder instead
        folder = Path(tempfile.gettempdir())
    return folder / f"{stamp}-{command}.log"


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send stderr to `path`: file descriptor 2 (C extensions', child processes') and `sys.stderr`
    (Dagster's console logger, warnings, progress bars), also where `sys.stderr` was replaced."""
    sys.stderr.flush()
    saved = os.dup(2)
    log = path.open("a", encoding="utf-8")
    try:
        with redirect_stderr(log):  # and Python's sys.stderr
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                with suppress(OSError):  # a full disk: what cannot be written is lost, never the console
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
    finally:
        with suppress(OSError):
            log.close()


def write_trace(log: Path) -> Path:
    """The exception being handled, with its traceback, into the command's log (where stderr points
    now); where the log cannot be written (a full disk), into a file of that name in the temporary
    folder instead. Returns the file that holds it."""
    trace = traceback.format_exc()
    try:
        sys.stderr.write(trace)
        sys.stderr.flush()
        return log
    except OSError:
        fallback = Path(tempfile.gettempdir()) / log.name
        with suppress(OSError):
            fallback.write_text(trace, encoding="utf-8")
            return fallback
        return log


def one_line(exc: BaseException, args: argparse.Namespace) -> str:
    """What failed and what to do, on one line, from an exception (Dagster's step error unwrapped)."""
    exc = getattr(exc, "user_exception", None) or exc
    torch = sys.modules.get("torch")  # not imported: it cannot have run out of memory
    if torch is not None and isinstance(exc, torch.OutOfMemoryError):
        entry = getattr(args, "entry", None)
        batch = getattr(args, "batch_size", None) or (entry.batch_size if entry is not None else 8)
        model = entry.id if entry is not None else getattr(args, "model", "the model")
        return (
            f"out of memory scoring model {model} at batch size {batch}: "
            f"try --batch-size {max(1, batch // 2)} or smaller (or a smaller --max-length)"
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "database or disk is full" in str(exc):
        where = getattr(exc, "filename", None) or rb_home()
        return f"no space left on the disk of {where}: free some space and run the command again"
    return first_line(exc)


def stopped(number: int, command: str, log: Path) -> int:
    """Say that a stop signal ended the command; its exit status, 128 + the signal (130 for SIGINT,
    143 for SIGTERM)."""
    resumes = "; the run is marked interrupted and the next run resumes where it stopped"
    print(
        f"rb-pipeline: stopped by {signal.Signals(number).name}"
        + ("" if command == "sql" else resumes),  # a query is stopped, not resumed
        file=sys.stderr,
    )
    print(f"rb-pipeline: log: {log}", file=sys.stderr)
    return 128 + number


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rb-pipeline` console script."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("RB_HOME", str(rb_home()))
    log = log_path(args.command)
    if argv is None and args.command == "sql":
        # The interpreter's last garbage collection would walk every object DuckDB, Arrow and polars made:
        # a sixth of a second after each query (so after its Ctrl-C), seconds on a loaded machine. `sql`
        # writes nothing that waits on a finalizer, so the console script leaves them to the exit.
        atexit.register(gc.freeze)
    with stop_signals() as received:
        args.stop_requested = lambda: received() is not None  # for work that must poll (cmd_sql)
        try:
            with stderr_to(log):
                try:
                    args.func(args)
                except BaseException:
                    log = write_trace(log)  # the full trace goes to the log, never to the console
                    raise
        except interrupts():
            return stopped(received() or signal.SIGINT, args.command, log)
        except Exception as exc:  # one clear line, never a traceback, for anything a user can cause
            if (number := received()) is not None:
                # DuckDB checks for signals in its calls on this thread and turns one into its own error
                # ("Query interrupted"): still a stop, not a failure
                return stopped(number, args.command, log)
            if os.environ.get("RB_DEBUG"):
                raise
            print(f"rb-pipeline: error: {one_line(exc, args)}", file=sys.stderr)
            print(f"rb-pipeline: log: {log}", file=sys.stderr)
            return 2
    if log.exists() and log.stat().st_size == 0:
        log.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
