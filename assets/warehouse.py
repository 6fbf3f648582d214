"""The DuckDB warehouse asset: updated after scores (only what the new runs touched; the full rebuild
on request or when shared inputs changed); shows the leaderboard as metadata."""

import hashlib

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    Config,
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.metadata import frame_table
from assets.scores import SCORES_KEY
from rb_pipeline.catalog.entries import load_benchmarks
from rb_pipeline.warehouse.plots import markdown_image, section_chart, subset_chart, subset_heatmap
from rb_pipeline.warehouse.sql_rules import query_sql
from rb_pipeline.warehouse.update import update_warehouse
from rb_pipeline.warehouse.views import queries


class WarehouseConfig(Config):
    """How to bring the warehouse up to date."""

    rebuild: bool = Field(
        default=False,
        description="Rebuild the file whole instead of adding only what new scores runs touched.",
    )


# Update after any new scores materialization (Dagster's `eager`), yet also while some model
# partitions were never scored: eager would wait for every partition of `scores` to exist.
FOLLOWS_SCORES = AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())

SECTION_COLUMNS = {
    "score": "the section's score; where `coverage` is partial, over the subsets scored only",
    "coverage": "complete, or subsets scored / subsets the section needs (partial)",
    "examples": "examples scored in the section",
}


@asset(
    deps=[SCORES_KEY],
    group_name="warehouse",
    kinds={"duckdb"},
    automation_condition=FOLLOWS_SCORES,
    description="$RB_HOME/warehouse.duckdb: the leaderboard and every view (sql/*.sql) over the lake. "
    "Updates itself seconds after a new scores materialization while `dagster dev` runs (its daemon), "
    "adding only what the new runs touched; shows the leaderboard, section scores and charts.",
)
def warehouse(context: AssetExecutionContext, config: WarehouseConfig) -> MaterializeResult:
    update = update_warehouse(load_benchmarks(), rebuild=config.rebuild)
    path = update.path
    context.log.info(
        f"warehouse {update.mode} in {update.seconds:.2f} s"
        + (f" ({update.reason})" if update.reason else "")
        + (f": models {', '.join(update.models)}" if update.models else "")
        + ("" if update.outcomes_changed else "; their outcomes are unchanged: intervals and ranks kept")
    )
    for moved in update.set_aside:
        context.log.warning(f"{moved}: set aside: its content hash differs from the one in its name")
    names = ("leaderboard", "section_coverage", "subset_accuracy_ci", "lake_counts")
    leaderboard, sections, subset_accuracy, counts = queries([query_sql(f"report/{n}") for n in names], path)
    leaderboard, counts = leaderboard.drop("coverage"), counts.row(0, named=True)
    context.log.info(f"warehouse {path}: {counts}")
    non_empty = [c for c in leaderboard.columns if leaderboard[c].null_count() < leaderboard.height]
    charts = _charts(context, sections, subset_accuracy)
    return MaterializeResult(
        metadata={
            "path": str(path),
            "update": update.mode,  # full | incremental | unchanged
            "update_reason": update.reason or "-",
            "models_updated": MetadataValue.json(list(update.models)),
            "update_s": round(update.seconds, 3),
            "outcomes_changed": update.outcomes_changed,  # False: intervals, ranks, whole tables kept
            "set_aside": MetadataValue.json(list(update.set_aside)),  # changed score files (update.py)
            "models": leaderboard.height,
            **counts,
            "leaderboard": frame_table(sections.drop("complete"), descriptions=SECTION_COLUMNS),
            "overall": frame_table(leaderboard.select(non_empty)),
            **charts,
        }
    )


CHARTS = ("section_chart", "subset_chart", "subset_heatmap")


def _charts(
    context: AssetExecutionContext, sections: pl.DataFrame, subset_accuracy: pl.DataFrame
) -> dict[str, MetadataValue]:
    """The section chart, the per-subset chart and the subset heatmap (`charts_of`: a hash of what
    they plot); the last materialization's when it plotted the same numbers (drawing costs seconds)."""
    shown = (frame.sort(frame.columns, nulls_last=True).write_csv() for frame in (sections, subset_accuracy))
    plotted = hashlib.sha256("".join(shown).encode()).hexdigest()
    last = context.instance.get_latest_materialization_event(context.asset_key)
    previous = dict(last.asset_materialization.metadata) if last is not None else {}
    if getattr(previous.get("charts_of"), "value", None) == plotted:
        context.log.info("charts reused: the leaderboard and subset accuracies are unchanged")
        return {name: previous[name] for name in ("charts_of", *CHARTS)}
    if not sections.height:
        return {"charts_of": plotted} | {name: MetadataValue.md("no models scored yet") for name in CHARTS}
    drawn = {
        "section_chart": (section_chart(sections), "section scores by model"),
        "subset_chart": (subset_chart(subset_accuracy), "score per subset with bootstrap intervals"),
        "subset_heatmap": (subset_heatmap(subset_accuracy), "score per subset and model"),
    }
    return {"charts_of": plotted} | {
        name: MetadataValue.md(markdown_image(png, alt)) for name, (png, alt) in drawn.items()
    }


warehouse_sensor = AutomationConditionSensorDefinition(
    "warehouse_follows_scores",
    target=AssetSelection.assets(warehouse),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
    description="Updates the warehouse seconds after a new scores materialization (needs Dagster's "
    "daemon, which `dagster dev` runs).",
)
