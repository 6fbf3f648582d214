"""Warehouse at scale: a synthetic score history of 1,000 models x 10,000 examples, queried.

Writes a synthetic lake (one benchmark of 8 subsets with catalog-like weights in 3 sections and an
overall; 10,000 pairwise examples, 20,000 responses; per model one complete run of 20,000 scores, and
for one model in ten an older complete run too, the history) into a temporary `$RB_HOME`, builds the
warehouse (`build_warehouse`: lake views, the materialized history tables, the bootstrap intervals),
then times, best of 3: `select * from leaderboard` (goal < 1 s), the bootstrap intervals
(`add_confidence_intervals`, 2,000 resamples; goal < 10 s) and a few other views. Results go to
`bench/results/warehouse.json`.

    .venv/bin/python bench/warehouse_bench.py [--models 1000] [--examples 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, eprint, peak_rss_mib  # noqa: E402

# subset: (section, share of the examples, explicit weight or None for the row count)
SUBSETS = {
    "chat-easy": ("chat", 0.15, None),
    "chat-med": ("chat", 0.10, None),
    "chat-hard": ("chat", 0.05, None),
    "refusals": ("safety", 0.20, None),
    "xstest": ("safety", 0.15, None),
    "math": ("reasoning", 0.10, 984.0),  # up-weighted, like math-prm
    "code": ("reasoning", 0.20, None),
    "unsectioned": (None, 0.05, None),
}


def synthetic_catalog(counts: dict[str, int]) -> dict:
    """A catalog entry shaped like RewardBench's: sections with leaderboard columns, an overall."""
    return {
        "synth": {
            "benchmark": "synth",
            "title": "synthetic",
            "kind": "preference",
            "overall": {"name": "synth-all", "column": "rewardbench"},
            "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
            "sections": {
                "chat": {"title": "Chat", "column": "chat"},
                "safety": {"title": "Safety", "column": "safety"},
                "reasoning": {"title": "Reasoning", "column": "reasoning"},
            },
            "subsets": {
                name: {
                    "section": section,
                    "expected_rows": counts[name],
                    **({"weight": weight} if weight is not None else {}),
                }
                for name, (section, _, weight) in SUBSETS.items()
            },
        }
    }


def write_lake(
    n_models: int, n_examples: int, history_every: int, seed: int = 0
) -> tuple[dict, int, Callable[[int], int]]:
    """The synthetic lake under `$RB_HOME/lake`; returns the catalog, the number of score rows and a
    function that adds model number i (one complete run) to it."""
    from rb_pipeline.core.lake import dataset_path
    from rb_pipeline.sources.normalize import EXAMPLES_SCHEMA, RESPONSES_SCHEMA

    rng = np.random.default_rng(seed)
    shares = np.array([share for _, share, _ in SUBSETS.values()])
    counts = np.floor(shares / shares.sum() * n_examples).astype(int)
    counts[0] += n_examples - counts.sum()
    subset_of = np.repeat(list(SUBSETS), counts)
    example_ids = np.array([f"ex{i:06d}" for i in range(n_examples)])
    examples = pa.table(
        {
            "benchmark": pa.array(["synth"] * n_examples),
            "subset": pa.array(subset_of),
            "example_id": pa.array(example_ids),
            "prompt": pa.array([[{"role": "user", "content": f"prompt {i}"}] for i in range(n_examples)]),
            "source_revision": pa.array(["synthetic"] * n_examples),
            "source_file": pa.array(["synthetic"] * n_examples),
            "source_row": pa.array(np.arange(n_examples, dtype=np.int64)),
        }
    )
    n_responses = 2 * n_examples
    response_ids = pa.array([f"{eid}-{pos}" for eid in example_ids for pos in (0, 1)])
    lengths = rng.integers(20, 400, n_responses)
    responses = pa.table(
        {
            "benchmark": pa.array(["synth"] * n_responses),
            "example_id": pa.array(np.repeat(example_ids, 2)),
            "response_id": response_ids,
            "position": pa.array(np.tile([0, 1], n_examples).astype(np.int32)),
            "text": pa.array(["x" * int(n) for n in lengths]),
            "label": pa.array(["chosen", "rejected"] * n_examples),
            "source_model": pa.nulls(n_responses, pa.string()),
        }
    )
    for table, frame, schema in (
        ("examples", examples, EXAMPLES_SCHEMA),
        ("responses", responses, RESPONSES_SCHEMA),
    ):
        path = dataset_path(table, "synth")
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.from_arrow(frame).cast(schema).write_parquet(path)

    score_rows = sum(
        write_model(index, n_models, response_ids, lengths, rng, index % history_every == 0)
        for index in range(n_models)
    )
    catalog = synthetic_catalog(dict(zip(SUBSETS, counts.tolist(), strict=True)))
    return catalog, score_rows, lambda index: write_model(index, n_models, response_ids, lengths, rng, False)


def write_model(
    index: int,
    n_models: int,
    response_ids: pa.Array,
    lengths: np.ndarray,
    rng: np.random.Generator,
    with_history: bool,
) -> int:
    """One model's complete run (and an older one with `with_history`); returns its score rows."""
    from rb_pipeline.core.lake import run_path, scores_dir
    from rb_pipeline.core.schemas import RUNS_SCHEMA

    start = datetime(2026, 1, 1, tzinfo=UTC)
    n_responses = len(response_ids)
    score_rows = 0
    chosen = np.tile([True, False], n_responses // 2)
    model = f"org/model-{index:04d}"
    skill = rng.uniform(0.0, 2.0)  # accuracies from ~0.5 to ~0.92
    runs = [("latest", start + timedelta(hours=index + n_models))]
    if with_history:
        runs.append(("older", start + timedelta(hours=index)))
    for tag, ended in runs:
        run_id = f"{ended:%Y%m%dT%H%M%S}-{tag}-{index:04d}"
        score = rng.normal(0.0, 1.0, n_responses) + np.where(chosen, skill if tag == "latest" else 0.5, 0.0)
        zeros = np.zeros(n_responses, np.int32)
        scores = pa.table(
            {
                "model": pa.DictionaryArray.from_arrays(zeros, pa.array([model])),
                "run_id": pa.DictionaryArray.from_arrays(zeros, pa.array([run_id])),
                "settings_key": pa.DictionaryArray.from_arrays(zeros, pa.array(["k"])),
                "response_id": response_ids,
                "score": pa.array(score),
                "score_vector": pa.nulls(n_responses, pa.list_(pa.float64())),
                "n_tokens": pa.array(lengths.astype(np.int32)),
                "truncated_tokens": pa.array(np.zeros(n_responses, np.int32)),
                "reused": pa.array(np.zeros(n_responses, bool)),
            }
        )
        # named as the engine names a shard (`core.lake.publish_parquet`): the sha256 of its bytes,
        # which the warehouse checks (set_aside_changed) and a query stats (views.unverified_files)
        out = scores_dir(model, run_id) / "part-00000.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(scores, out, compression="zstd")
        out.rename(out.with_name(f"part-00000-{hashlib.sha256(out.read_bytes()).hexdigest()}.parquet"))
        score_rows += n_responses
        record = {name: None for name in RUNS_SCHEMA} | {
            "run_id": run_id,
            "model": model,
            "model_type": "classifier",
            "benchmarks": ["synth"],
            "started_at": ended - timedelta(minutes=5),
            "ended_at": ended,
            "status": "complete",
            "provenance": "computed",
            "n_responses": n_responses,
        }
        run_path(run_id).parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame([record], schema=RUNS_SCHEMA).write_parquet(run_path(run_id))
    return score_rows


def best_of(repeats: int, action) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure_update(catalog, path, add_model, index, query) -> dict:
    """With and without the score files' sha256 check (issue 28; `update.set_aside_changed`, timed
    inside each call): an update after one new model's run (one new model each, checked then not),
    an update with nothing new (best of 5 each, in turn), and the full rebuild of the same lake into a
    second file (checked: every file hashed); the two files' leaderboards and materialized row counts
    must be identical."""
    from rb_pipeline.warehouse import update

    check = update.set_aside_changed
    check_s: list[float] = []

    def checked(*args):
        start = time.perf_counter()
        try:
            return check(*args)
        finally:
            check_s.append(time.perf_counter() - start)

    def unchecked(inputs, known):
        return inputs, ()

    def timed_update(verify: bool, **kwargs) -> tuple[float, float, object]:
        """(seconds, of which the check, the update) of one `update_warehouse`."""
        update.set_aside_changed = checked if verify else unchecked
        check_s.clear()
        try:
            start = time.perf_counter()
            done = update.update_warehouse(catalog, **kwargs)
            return time.perf_counter() - start, sum(check_s), done
        finally:
            update.set_aside_changed = check

    seconds: dict[str, float] = {}
    for verify, model in ((True, index), (False, index + 1)):
        add_model(model)
        total, part, done = timed_update(verify, path=path)
        assert done.mode == "incremental", done
        key = "with" if verify else "without"
        seconds[f"update_after_one_model_{key}_check"] = round(total, 3)
        if verify:
            seconds["update_after_one_model_check_part"] = round(part, 4)
        eprint(f"update after one new model, {key} the check: {total:.2f} s (check {part:.3f} s)")
    noop: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(5):
        for verify in (True, False):
            total, part, done = timed_update(verify, path=path)
            assert done.mode == "unchanged", done
            noop[verify].append((total, part))
    for verify, key in ((True, "with"), (False, "without")):
        total, part = min(noop[verify])
        seconds[f"update_with_nothing_new_{key}_check"] = round(total, 4)
        if verify:
            seconds["update_with_nothing_new_check_part"] = round(part, 4)
        eprint(f"update with nothing new, {key} the check: {total:.3f} s (check {part:.4f} s)")
    full = path.with_name("full-rebuild.duckdb")
    total, part, done = timed_update(True, path=full, rebuild=True)
    seconds["rebuild_with_check"], seconds["rebuild_check_part"] = round(total, 2), round(part, 3)
    eprint(f"full rebuild of the same lake, with the check: {total:.1f} s (check {part:.2f} s)")
    counts = (
        "select (select count(*) from runs_history) as runs, (select count(*) from example_outcomes_history)"
        " as outcomes, (select count(*) from subset_accuracy_history) as accuracies,"
        " (select count(*) from bootstrap_ci) as intervals"
    )
    # rank groups past `ranks.UPDATE_MAX_MODELS` models are left to the next rebuild (the column says so)
    board = "select * exclude (rank_groups) from leaderboard order by model"
    # suspect_labels re-sums the per-model contributions the update replaced (exact sums: bit for bit)
    labels, contributions = (
        f"select * from {name} order by all" for name in ("suspect_labels", "suspect_contributions")
    )
    identical = all(
        query(sql, path).equals(query(sql, full)) for sql in (board, counts, labels, contributions)
    )
    assert identical, "the incremental update differs from the full rebuild"
    verification = measure_verification(path)
    return {
        "verification": verification,
        "suspect_labels": measure_suspect_labels(path, catalog),
        "seconds": seconds,
        "identical_to_rebuild": identical,
        "update_after_one_model_met": seconds["update_after_one_model_with_check"] <= 1.0,
    }


def former_suspect_labels(bodies: dict[str, str]) -> str:
    """suspect_labels as it was computed before its per-model contributions were stored: their SQL in
    place of their table (a CTE shadows the table's name), over every model's outcomes."""
    contributions = bodies["suspect_contributions"]
    return f"with suspect_contributions as ({contributions}) select * from ({bodies['suspect_labels']})"


def measure_suspect_labels(path: Path, catalog) -> dict:
    """What an update spends on `suspect_labels` (views.WHOLE_TABLES), old and new way, same file and
    run (best of 3 each, into temporary tables): before, its SQL computed every model's outcomes and
    weights from run_outcomes; now it re-sums `suspect_contributions` (stored per model, computed for
    the touched models only by the update). The two tables must be equal."""
    from rb_pipeline.warehouse.sql_rules import SQL_DIR
    from rb_pipeline.warehouse.views import render_sql, sql_context

    bodies = render_sql(SQL_DIR, sql_context(catalog))
    new_sql, old_sql = bodies["suspect_labels"], former_suspect_labels(bodies)
    ordered = "select * from {} order by all"
    with duckdb.connect(str(path), read_only=True) as con:
        old_s, _ = best_of(3, lambda: con.execute(f"create or replace temp table old_labels as {old_sql}"))
        new_s, _ = best_of(3, lambda: con.execute(f"create or replace temp table new_labels as {new_sql}"))
        equal = con.sql(ordered.format("old_labels")).pl().equals(con.sql(ordered.format("new_labels")).pl())
        n_rows = con.sql("select count(*) from suspect_contributions").fetchall()[0][0]
    assert equal, "suspect_labels re-summed differs from its former SQL"
    eprint(
        f"suspect_labels: former SQL {old_s:.2f} s, re-sum of {n_rows:,} contributions {new_s:.3f} s"
        f" ({new_s / old_s:.3f} of it)"
    )
    return {
        "former_sql_s": round(old_s, 3),
        "re_sum_s": round(new_s, 4),
        "ratio_new_to_old": round(new_s / old_s, 4),
        "contribution_rows": n_rows,
        "equal_to_former": equal,
    }


def measure_verification(path: Path) -> dict:
    """What checking the score files' sha256 costs (issue 28): hashing every file (a rebuild does, as
    does an update for the files it has no record of) and the stat per file that an update and every
    read-only connection (`sql`, `push`) pay for the files the warehouse recorded."""
    from rb_pipeline.core.paths import lake_dir
    from rb_pipeline.warehouse.views import checked_files, unverified_files

    lake = lake_dir()
    with duckdb.connect(str(path), read_only=True) as con:
        checked = checked_files(con)
    hash_all_s, changed = best_of(1, lambda: unverified_files(lake))
    assert not changed
    stat_only_s, _ = best_of(3, lambda: unverified_files(lake, checked))
    files = list(lake.glob("scores/*/*/*.parquet"))
    eprint(f"verification: hash all {len(files)} files {hash_all_s:.2f} s, stat only {stat_only_s:.3f} s")
    return {
        "files": len(files),
        "mib": round(sum(f.stat().st_size for f in files) / 2**20, 1),
        "hash_every_file_s": round(hash_all_s, 3),
        "stat_recorded_files_s": round(stat_only_s, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--examples", type=int, default=10000)
    parser.add_argument("--history-every", type=int, default=10, help="one model in N has an older run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the lake here and keep it (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS / "warehouse.json")
    parser.add_argument(
        "--skip-queries", action="store_true", help="time only the build and the update (no query timings)"
    )
    args = parser.parse_args()

    load_at_start = os.getloadavg()
    home = args.keep or Path(tempfile.mkdtemp(prefix="rb-warehouse-bench-"))
    if args.keep and home.exists():
        shutil.rmtree(home)
    os.environ["RB_HOME"] = str(home)
    from rb_pipeline.catalog.entries import Benchmark
    from rb_pipeline.warehouse.stats import N_RESAMPLES, add_confidence_intervals
    from rb_pipeline.warehouse.update import rebuild_warehouse
    from rb_pipeline.warehouse.views import MATERIALIZED, query

    try:
        start = time.perf_counter()
        raw_catalog, score_rows, add_model = write_lake(args.models, args.examples, args.history_every)
        write_s = time.perf_counter() - start
        catalog = {name: Benchmark.model_validate(raw) for name, raw in raw_catalog.items()}
        eprint(f"lake: {score_rows:,} score rows in {write_s:.1f} s under {home}")

        start = time.perf_counter()
        path = rebuild_warehouse(catalog)  # the full build, recording its inputs for the update
        build_s = time.perf_counter() - start
        eprint(f"build_warehouse: {build_s:.1f} s")

        timings: dict[str, float] = {}
        sizes: dict[str, int] = {}
        queries = {
            "leaderboard": "select * from leaderboard",
            "leaderboard_history": "select * from leaderboard_history",
            "subset_accuracy": "select * from subset_accuracy",
            "overall_scores_ci": "select * from overall_scores_ci",
            "paired_comparison_one_pair": "select * from paired_comparison "
            "where model_a = 'org/model-0001' and model_b = 'org/model-0002'",
            "length_bias_one_model": "select * from length_bias where model = 'org/model-0001'",
            "example_outcomes_one_model": "select * from example_outcomes where model = 'org/model-0001'",
        }
        # issue 24's answer views: one model's latest run against its older one (model 0 has history)
        latest, older = (
            query(
                f"select run_id from runs_history where model = 'org/model-0000' order by ended_at {order}",
                path,
            ).item(0, 0)
            for order in ("desc", "asc")
        )
        pair = f"where run_a = '{latest}' and run_b = '{older}'"
        queries |= {
            "reproduction_diff_one_run_pair": f"select * from reproduction_diff {pair}",
            "flips_one_run_pair": f"select * from flips {pair}",
            "suspect_labels": "select * from suspect_labels where suspect",
            "judge_health": "select * from judge_health",
        }
        for name, sql in {} if args.skip_queries else queries.items():
            timings[name], frame = best_of(args.repeats, lambda sql=sql: query(sql, path))
            sizes[name] = frame.height
            eprint(f"{name}: {timings[name]:.3f} s ({frame.height} rows)")

        if not args.skip_queries:
            with duckdb.connect(str(path)) as con:
                timings["confidence_intervals"], n_rows = best_of(
                    args.repeats, lambda: add_confidence_intervals(con)
                )
            sizes["confidence_intervals"] = n_rows
            eprint(f"confidence_intervals: {timings['confidence_intervals']:.3f} s ({n_rows} rows)")

        update = measure_update(catalog, path, add_model, args.models, query)

        counts = query(
            "select (select count(*) from runs) as runs, (select count(*) from example_outcomes_history) as outcomes",
            path,
        ).row(0, named=True)
        result = {
            "command": "python bench/warehouse_bench.py "
            f"--models {args.models} --examples {args.examples} --history-every {args.history_every}",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cores": os.cpu_count(),
                "load_avg_at_start": load_at_start,
                "load_avg_at_end": os.getloadavg(),
                "duckdb": duckdb.__version__,
                "numpy": np.__version__,
            },
            "lake": {
                "models": args.models,
                "runs": counts["runs"],
                "examples": args.examples,
                "responses": 2 * args.examples,
                "score_rows": score_rows,
                "outcome_rows": counts["outcomes"],
                "warehouse_mib": round(path.stat().st_size / 2**20, 1),
                "materialized": list(MATERIALIZED),
            },
            "seconds": {
                "write_lake": round(write_s, 2),
                "build_warehouse": round(build_s, 2),
                **update.pop("seconds"),
                **{name: round(value, 4) for name, value in timings.items()},
            },
            "rows": sizes,
            "bootstrap_resamples": N_RESAMPLES,
            "update": update,
            "goals": {
                "leaderboard_s": 1.0,
                "leaderboard_met": timings["leaderboard"] < 1.0 if timings else None,
                "confidence_intervals_s": 10.0,
                "confidence_intervals_met": timings["confidence_intervals"] < 10.0 if timings else None,
                "update_after_one_model_s": 1.0,
                "update_after_one_model_met": update["update_after_one_model_met"],
            },
            "best_of": args.repeats,
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
