"""The static report (rb_pipeline.publish.report) as an asset: rewritten after every warehouse update."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.warehouse import warehouse
from rb_pipeline.core.paths import rb_home
from rb_pipeline.publish.report import write_report


@asset(
    deps=[warehouse],
    group_name="warehouse",
    kinds={"html"},
    description="$RB_HOME/report/: the static report (leaderboard, a page per model, reproductions, flips).",
)
def report(context: AssetExecutionContext) -> MaterializeResult:
    index = write_report(rb_home() / "report")
    pages = sorted(str(p.relative_to(index.parent)) for p in index.parent.rglob("*.html"))
    context.log.info(f"report: {index} ({len(pages)} pages)")
    return MaterializeResult(
        metadata={"path": MetadataValue.path(str(index)), "pages": MetadataValue.json(pages)}
    )
