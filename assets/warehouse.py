"""The DuckDB warehouse asset: rebuilt after scores; shows the leaderboard as metadata."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.scores import SCORES_KEY
from rb_pipeline.catalog.entries import load_benchmarks
from rb_pipeline.engine.evaluation import markdown_table
from rb_pipeline.warehouse.plots import markdown_image, section_bar_chart, subset_heatmap
from rb_pipeline.warehouse.views import build_warehouse, query


@asset(
    deps=[SCORES_KEY],
    group_name="warehouse",
    kinds={"duckdb"},
    description="$RB_HOME/warehouse.duckdb: lake views, catalog tables and the sql/*.sql views.",
)
def warehouse(context: AssetExecutionContext) -> MaterializeResult:
    path = build_warehouse(load_benchmarks())
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
