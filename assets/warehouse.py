"""The DuckDB warehouse asset: updated after scores (only what the new runs touched; the full rebuild
on request or when shared inputs changed); shows the leaderboard as metadata."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.scores import SCORES_KEY
from rb_pipeline.catalog import load_benchmarks
from rb_pipeline.evaluation import markdown_table
from rb_pipeline.plots import markdown_image, section_bar_chart, subset_heatmap
from rb_pipeline.warehouse import query
from rb_pipeline.warehouse_update import update_warehouse


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
    leaderboard = query("select * from leaderboard", path)
    subset_accuracy = query("select model, benchmark, subset, accuracy from subset_accuracy", path)
    counts = query(
        "select (select count(*) from examples) as examples, (select count(*) from responses) as responses,"
        " (select count(*) from scores) as scores, (select count(*) from runs) as runs,"
        " (select count(*) from rejects) as rejects",
        path,
    ).row(0, named=True)
    context.log.info(f"warehouse {path}: {counts}")
    non_empty = [c for c in leaderboard.columns if leaderboard[c].null_count() < leaderboard.height]
    return MaterializeResult(
        metadata={
            "path": str(path),
            "update": update.mode,  # full | incremental | unchanged
            "update_reason": update.reason or "-",
            "models_updated": MetadataValue.json(list(update.models)),
            "update_s": round(update.seconds, 3),
            "models": leaderboard.height,
            **counts,
            "leaderboard": MetadataValue.md(markdown_table(leaderboard.select(non_empty))),
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
    )
