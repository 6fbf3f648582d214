"""The DuckDB warehouse asset: updated after scores (only what the new runs touched; the full rebuild
on request or when shared inputs changed); shows the leaderboard as metadata."""

import hashlib

import polars as pl
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.scores import SCORES_KEY
from rb_pipeline.catalog.entries import load_benchmarks
from rb_pipeline.engine.evaluation import markdown_table
from rb_pipeline.warehouse.plots import markdown_image, section_bar_chart, subset_heatmap
from rb_pipeline.warehouse.update import update_warehouse
from rb_pipeline.warehouse.views import query


class WarehouseConfig(Config):
    rebuild: bool = Field(default=False, description="rebuild the file whole instead of updating it")


@asset(
    deps=[SCORES_KEY],
    group_name="warehouse",
    kinds={"duckdb"},
    description="$RB_HOME/warehouse.duckdb: lake views, catalog tables and the sql/*.sql views.",
)
def warehouse(context: AssetExecutionContext, config: WarehouseConfig) -> MaterializeResult:
    update = update_warehouse(load_benchmarks(), rebuild=config.rebuild)
    path = update.path
    context.log.info(
        f"warehouse {update.mode} in {update.seconds:.2f} s"
        + (f" ({update.reason})" if update.reason else "")
        + (f": models {', '.join(update.models)}" if update.models else "")
    )
    for moved in update.set_aside:
        context.log.warning(f"{moved}: set aside: its content hash differs from the one in its name")
    leaderboard = query("select * from leaderboard", path)
    subset_accuracy = query("select model, benchmark, subset, accuracy from subset_accuracy", path)
    # counts the files' footers answer: `count(*) from scores` resolves every run's scores (30 s at 11M)
    counts = query(
        "select (select count(*) from examples) as examples, (select count(*) from responses) as responses,"
        " (select count(*) from stored_scores) as stored_scores, (select count(*) from runs) as runs,"
        " (select count(*) from rejects) as rejects",
        path,
    ).row(0, named=True)
    context.log.info(f"warehouse {path}: {counts}")
    non_empty = [c for c in leaderboard.columns if leaderboard[c].null_count() < leaderboard.height]
    charts = _charts(context, leaderboard, subset_accuracy)
    return MaterializeResult(
        metadata={
            "path": str(path),
            "update": update.mode,  # full | incremental | unchanged
            "update_reason": update.reason or "-",
            "models_updated": MetadataValue.json(list(update.models)),
            "update_s": round(update.seconds, 3),
            "set_aside": MetadataValue.json(list(update.set_aside)),  # changed score files (update.py)
            "models": leaderboard.height,
            **counts,
            "leaderboard": MetadataValue.md(markdown_table(leaderboard.select(non_empty))),
            **charts,
        }
    )


def _charts(
    context: AssetExecutionContext, leaderboard: pl.DataFrame, subset_accuracy: pl.DataFrame
) -> dict[str, MetadataValue]:
    """The section chart and the subset heatmap (`charts_of`: a hash of what they plot); the last
    materialization's when it plotted the same numbers (drawing them costs seconds)."""
    shown = (
        frame.sort(frame.columns, nulls_last=True).write_csv() for frame in (leaderboard, subset_accuracy)
    )
    plotted = hashlib.sha256("".join(shown).encode()).hexdigest()
    last = context.instance.get_latest_materialization_event(context.asset_key)
    previous = dict(last.asset_materialization.metadata) if last is not None else {}
    if getattr(previous.get("charts_of"), "value", None) == plotted:
        context.log.info("charts reused: the leaderboard and subset accuracies are unchanged")
        return {name: previous[name] for name in ("charts_of", "section_chart", "subset_heatmap")}
    return {
        "charts_of": plotted,
        "section_chart": MetadataValue.md(
            markdown_image(section_bar_chart(leaderboard), "section scores by model")
            if leaderboard.height
            else "no models scored yet"
        ),
        "subset_heatmap": MetadataValue.md(
            markdown_image(subset_heatmap(subset_accuracy), "accuracy per subset and model")
            if subset_accuracy.height
            else "no models scored yet"
        ),
    }
