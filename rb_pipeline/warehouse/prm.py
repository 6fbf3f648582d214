"""What the PRM views (sql/prm_*.sql) read from the catalog: each step-level benchmark's rule and
threshold (`step_scoring`), its subsets (`step_subsets`) and groups (`step_groups`) as tables, and the
PRM leaderboard's columns as the templates' `prm_columns`. No SQL names a subset or a group."""

from __future__ import annotations

import polars as pl

from rb_pipeline.catalog.entries import Benchmark, asset_name
from rb_pipeline.catalog.steps import STEP_RULES


def step_benchmarks(benchmarks: dict[str, Benchmark]) -> list[Benchmark]:
    """The step-level benchmarks (kind `steps`), by leaderboard position then name."""
    chosen = [b for b in benchmarks.values() if b.steps is not None]
    return sorted(chosen, key=lambda b: (b.leaderboard_position, b.benchmark))


def prm_catalog_tables(benchmarks: dict[str, Benchmark]) -> dict[str, pl.DataFrame]:
    """`step_scoring`, `step_subsets` and `step_groups` from the catalog."""
    scoring, subsets, groups = [], [], []
    for bench in step_benchmarks(benchmarks):
        steps = bench.steps
        assert steps is not None
        scoring.append(
            {
                "benchmark": bench.benchmark,
                "rule": steps.rule,
                "threshold": steps.threshold,
                "threshold_from": steps.threshold_from,
                "definition": STEP_RULES[steps.rule],
            }
        )
        for name, subset in bench.subsets.items():
            subsets.append(
                {
                    "benchmark": bench.benchmark,
                    "subset": name,
                    "f1_only": name in steps.f1_only,
                    "in_overall": name not in steps.outside_overall,
                    "expected_rows": subset.expected_rows,
                }
            )
        for group, members in steps.groups.items():
            groups.extend({"benchmark": bench.benchmark, "group_name": group, "subset": m} for m in members)
    return {
        "step_scoring": pl.DataFrame(
            scoring,
            schema={
                "benchmark": pl.String,
                "rule": pl.String,
                "threshold": pl.Float64,
                "threshold_from": pl.String,
                "definition": pl.String,
            },
        ),
        "step_subsets": pl.DataFrame(
            subsets,
            schema={
                "benchmark": pl.String,
                "subset": pl.String,
                "f1_only": pl.Boolean,
                "in_overall": pl.Boolean,
                "expected_rows": pl.Int64,
            },
        ),
        "step_groups": pl.DataFrame(
            groups, schema={"benchmark": pl.String, "group_name": pl.String, "subset": pl.String}
        ),
    }


def prm_columns(benchmarks: dict[str, Benchmark]) -> list[dict[str, str]]:
    """The PRM leaderboard's score columns: per step benchmark its overall (`<benchmark>`), then its
    groups (`<benchmark>_<group>`), then the threshold it used (`<benchmark>_threshold`)."""
    columns = []
    for bench in step_benchmarks(benchmarks):
        assert bench.steps is not None
        stem = asset_name(bench.benchmark)
        columns.append({"column": stem, "benchmark": bench.benchmark, "scope": "overall", "name": "overall"})
        columns.extend(
            {
                "column": f"{stem}_{asset_name(group)}",
                "benchmark": bench.benchmark,
                "scope": "group",
                "name": group,
            }
            for group in bench.steps.groups
        )
        columns.append(
            {
                "column": f"{stem}_threshold",
                "benchmark": bench.benchmark,
                "scope": "threshold",
                "name": "threshold",
            }
        )
    return columns


def prm_sql_context(benchmarks: dict[str, Benchmark]) -> dict:
    """What the PRM templates read from the catalog: `prm_columns`."""
    return {"prm_columns": prm_columns(benchmarks)}
