"""Issue 24's answer views at scale, over a warehouse `bench/warehouse_bench.py --keep DIR` left behind.

Reuses that build (its materialized history tables: 500 models = 11M score rows, 5.5M outcomes) instead
of building again: re-creates the SQL views from the current `sql/` (the materialized tables stay),
computes the rank groups (warehouse/ranks.py, 1,000 paired resamples) and times each answer view, best
of 3, on a copy of the file. Results go to `bench/results/answers.json`.

    .venv/bin/python bench/answers_bench.py --home DIR [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, eprint  # noqa: E402
from warehouse_bench import best_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a warehouse_bench --keep folder")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-ranks", action="store_true", help="keep the build's rank groups (computing them: minutes)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "answers.json")
    args = parser.parse_args()
    os.environ["RB_HOME"] = str(args.home)
    from warehouse_bench import SUBSETS, former_suspect_labels, synthetic_catalog

    from rb_pipeline.catalog.entries import Benchmark
    from rb_pipeline.core.paths import lake_dir
    from rb_pipeline.core.storage import attach_lake
    from rb_pipeline.warehouse.ranks import add_rank_groups, create_rank_table
    from rb_pipeline.warehouse.views import (
        MATERIALIZED,
        WHOLE_TABLES,
        refresh_whole_tables,
        render_sql,
        sql_context,
        view_order,
    )

    load_at_start = os.getloadavg()
    path = args.home / "answers-bench.duckdb"
    shutil.copyfile(args.home / "warehouse.duckdb", path)
    with duckdb.connect(str(path)) as con:
        attach_lake(con, lake_dir())
        expected = {
            row[0]: row[1] for row in con.sql("select subset, expected_rows from subset_weights").fetchall()
        }
        catalog = {
            "synth": Benchmark.model_validate(
                synthetic_catalog({name: expected[name] for name in SUBSETS})["synth"]
            )
        }
        bodies = render_sql(Path(__file__).resolve().parents[1] / "sql", sql_context(catalog))
        if not args.skip_ranks:
            create_rank_table(con)
        for name in view_order(bodies):
            if name not in MATERIALIZED + WHOLE_TABLES:
                con.execute(f"create or replace view {name} as {bodies[name]}")
        timings, sizes = {}, {}
        # the tables computed whole at each build and update (suspect_labels), as the update computes them
        timings["whole_tables_compute"], _ = best_of(1, lambda: refresh_whole_tables(con, catalog))
        eprint(f"whole tables {WHOLE_TABLES}: {timings['whole_tables_compute']:.2f} s")
        if not args.skip_ranks:
            timings["rank_groups_compute"], sizes["rank_groups_compute"] = best_of(
                1, lambda: add_rank_groups(con)
            )
            eprint(
                f"rank groups: {timings['rank_groups_compute']:.2f} s ({sizes['rank_groups_compute']} rows)"
            )
        latest, older = (
            con.sql(
                f"select run_id from runs_history where model = 'org/model-0000' order by ended_at {order}"
            ).fetchall()[0][0]
            for order in ("desc", "asc")
        )
        two = [
            con.sql(f"select run_id from latest_runs where model = '{m}'").fetchall()[0][0]
            for m in ("org/model-0001", "org/model-0002")
        ]
        queries = {
            "leaderboard (with rank_groups, judge_flags, below_null)": "select * from leaderboard",
            "reproduction_diff, one model's two runs": f"select * from reproduction_diff where run_a = '{latest}' and run_b = '{older}'",
            "flips, one model's two runs": f"select * from flips where run_a = '{latest}' and run_b = '{older}'",
            "reproduction_diff, two models' latest runs": f"select * from reproduction_diff where run_a = '{two[0]}' and run_b = '{two[1]}'",
            "suspect_labels (suspects)": "select * from suspect_labels where suspect",
            # what the query cost while suspect_labels was a view: its SQL (with its contributions') run
            # at query time
            "suspect_labels's SQL at query time (the former view)": "select * from ("
            + former_suspect_labels(bodies)
            + ") where suspect",
            "judge_health (no judges in this lake)": "select * from judge_health",
            "paired_comparison, one model pair (macros)": "select * from paired_comparison where model_a = 'org/model-0001' and model_b = 'org/model-0002'",
        }
        for name, sql in queries.items():
            timings[name], frame = best_of(args.repeats, lambda sql=sql: con.sql(sql).pl())
            sizes[name] = frame.height
            eprint(f"{name}: {timings[name]:.3f} s ({frame.height} rows)")
    path.unlink()
    result = {
        "seconds": timings,
        "rows": sizes,
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
