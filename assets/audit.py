"""The invariance audit as a job (`audit_model`): what `rb-pipeline audit` runs (rb_pipeline/engine/audit.py
scores a sample under each audited setting, warehouse.answers.audit_report compares each run with the
baseline's, audit_orders lists a judge's position flips); both reports are the op's outputs and its
metadata."""

import polars as pl
from dagster import Config, Failure, MetadataValue, OpExecutionContext, Out, job, op
from pydantic import Field

from assets.resources import ScoringResource
from rb_pipeline.catalog.entries import load_benchmarks, load_models
from rb_pipeline.engine.audit import DEFAULT_SAMPLE, audit_model
from rb_pipeline.engine.evaluation import markdown_table
from rb_pipeline.warehouse.answers import audit_orders, audit_report
from rb_pipeline.warehouse.update import model_files
from rb_pipeline.warehouse.views import in_memory


class AuditConfig(Config):
    model: str = Field(description="A model id of the catalog (catalog/models.yaml, $RB_HOME/models.yaml).")
    sample: int = Field(default=DEFAULT_SAMPLE, ge=1, description="Examples per benchmark.")
    benchmarks: list[str] = Field(
        default=[], description="Benchmarks to sample, by catalog name; empty = every one the model scores."
    )


@op(
    description="Score a sample of each benchmark under each audited setting and compare with the baseline;"
    " a judge's position flips (verdicts that change with the answer order) per setting.",
    out={
        "report": Out(description="Per audited setting: flips against the baseline, largest changes."),
        "orders": Out(description="A judge's position flips per setting and subset (none for a scorer)."),
    },
)
def invariance_audit(
    context: OpExecutionContext, config: AuditConfig, scoring: ScoringResource
) -> tuple[pl.DataFrame, pl.DataFrame]:
    entry = load_models().get(config.model)
    if entry is None:
        raise Failure(f"model {config.model!r} is not in the model catalog (score it once, or add its entry)")
    catalog = load_benchmarks()
    unknown = sorted(set(config.benchmarks) - set(catalog))
    if unknown:
        raise Failure(f"unknown benchmarks {unknown} (known: {sorted(catalog)})")
    chosen = {k: v for k, v in catalog.items() if not config.benchmarks or k in config.benchmarks}
    try:
        runs = audit_model(entry, chosen, config.sample, scoring.device, log=context.log.info)
    except ValueError as exc:  # what a user can cause (no scorable benchmark): one line
        raise Failure(str(exc)) from None
    with in_memory(catalog, files=model_files([entry.id])) as con:  # this model's files only
        report, orders = audit_report(con, runs), audit_orders(con, runs)
    context.add_output_metadata(
        {"runs": MetadataValue.json(runs), "report": MetadataValue.md(markdown_table(report))},
        output_name="report",
    )
    context.add_output_metadata({"orders": MetadataValue.md(markdown_table(orders))}, output_name="orders")
    return report, orders


@job(
    name="audit_model",
    description="The invariance audit of one model (run config: ops.invariance_audit.config.model).",
)
def audit_model_job() -> None:
    invariance_audit()
