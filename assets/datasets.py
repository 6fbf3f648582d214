"""One asset per catalog benchmark: its normalized examples/responses, gated by quality checks.

Normalizing is skipped when the benchmark's inputs are unchanged (`rb_pipeline.sources.datasets.
plan_dataset`: the recorded data version), and a benchmark whose data cannot be had now (Hub-only while
offline, no shipped sample) is skipped with one line: its asset is observed, not failed. The scores
asset runs the same `build_dataset` for the datasets it needs (`report_dataset`)."""

from collections import Counter
from dataclasses import dataclass, field

import polars as pl
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetsDefinition,
    DagsterInstance,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # not re-exported by dagster
    AssetCheckEvaluationTargetMaterializationData,
)

from assets.metadata import frame_table
from rb_pipeline.catalog.entries import Benchmark, asset_name
from rb_pipeline.sources.datasets import (
    DatasetPlan,
    materialize_benchmark,
    plan_dataset,
    quality_path,
    record_data_version,
    recorded_verdict,
)
from rb_pipeline.sources.quality import count_identical_pairs

# name -> (blocking, description, the lake table holding its rows): each dataset asset's checks, declared once.
DATASET_CHECKS = {
    "examples_quality": (
        True,
        "Great-expectations suite on the examples table (ids unique, prompts and answers present, rows "
        "per subset as the catalog declares for full data). Blocking: a failure stops scoring.",
        "examples",
    ),
    "responses_quality": (
        True,
        "Great-expectations suite on the responses table (every example has a chosen and a rejected "
        "answer, ids unique). Blocking: a failure stops scoring.",
        "responses",
    ),
    "no_rejected_rows": (
        False,
        "Source rows that could not be read into examples (quarantined in the `rejects` table, with "
        "their file, row and reason). Not blocking.",
        "rejects",
    ),
    "no_chosen_equal_to_rejected": (
        False,
        "Pairs whose chosen text equals a rejected text: scored, always wrong (the official rule). "
        "Not blocking.",
        "examples",
    ),
    "steps_quality": (
        True,
        "Step-level data only (process reward models): each solution's steps and labels agree with its "
        "step count and first error (sources.steps.STEP_CHECKS). Blocking: a failure stops scoring.",
        "steps",
    ),
}


def dataset_checks(benchmark: Benchmark) -> list[str]:
    """The checks of the benchmark's asset: steps_quality only on step-level data."""
    return [name for name in DATASET_CHECKS if name != "steps_quality" or benchmark.kind == "steps"]


def dataset_key(benchmark: str) -> AssetKey:
    """`normalized/<benchmark>` with Dagster-safe characters (the catalog refuses two benchmarks with one key)."""
    return AssetKey(["normalized", asset_name(benchmark)])


def dataset_label(benchmark: str) -> str:
    """The asset's name as the UI shows it (`normalized/reward_bench_2`), for log lines and errors."""
    return dataset_key(benchmark).to_user_string()


@dataclass(frozen=True)
class DatasetOutcome:
    """What `build_dataset` did for one benchmark: its plan, and (unless skipped) the asset's
    metadata and check results."""

    plan: DatasetPlan
    metadata: dict = field(default_factory=dict)
    checks: list[AssetCheckResult] = field(default_factory=list)


def _normalized(benchmark: Benchmark, plan: DatasetPlan) -> DatasetOutcome:
    """Normalize the benchmark and run its suites (the data is missing or its inputs changed)."""
    data, (examples_verdict, responses_verdict, *steps_verdict) = materialize_benchmark(benchmark)
    per_subset = Counter(data.examples["subset"].to_list())
    checks = [
        AssetCheckResult(
            check_name=name,
            passed=verdict.passed,
            severity=AssetCheckSeverity.ERROR,
            metadata={**verdict.metadata, "summary": verdict.summary},
            description=verdict.summary,
        )
        for name, verdict in (
            ("examples_quality", examples_verdict),
            ("responses_quality", responses_verdict),
            *(("steps_quality", verdict) for verdict in steps_verdict),
        )
    ]
    reasons = Counter(data.rejects["reason"].str.replace(r"\[\d+\]", "[i]").to_list())
    checks.append(
        AssetCheckResult(
            check_name="no_rejected_rows",
            passed=data.rejects.height == 0,
            severity=AssetCheckSeverity.WARN,
            metadata={"rejects": data.rejects.height, "source_rows": data.source_rows},
            description="; ".join(f"{n} x {reason}" for reason, n in reasons.most_common(5)) or "none",
        )
    )
    identical = count_identical_pairs(data.examples, data.responses)
    checks.append(
        AssetCheckResult(
            check_name="no_chosen_equal_to_rejected",
            passed=identical.pairs == 0,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "pairs": identical.pairs,
                "examples": identical.examples,
                "first_examples": MetadataValue.json(list(identical.first_examples)),
                "per_subset": frame_table(
                    pl.DataFrame(list(identical.per_subset.items()), schema=["subset", "pairs"], orient="row")
                ),
            },
            description=identical.description,
        )
    )
    origins = sorted({f"{s.origin}: {s.revision}" for s in data.sources})
    metadata = {
        "examples": data.examples.height,
        "responses": data.responses.height,
        "rejects": data.rejects.height,
        "source_rows": data.source_rows,
        "subsets": len(per_subset),
        "data_version": plan.version,
        "normalized": f"yes: {plan.reason}",
        "sources": MetadataValue.md("\n".join(f"- {o}" for o in origins[:20])),
        "per_subset": frame_table(
            pl.DataFrame(sorted(per_subset.items()), schema=["subset", "examples"], orient="row")
        ),
    }
    # the version last, once everything is written: a run cut short normalizes again
    record_data_version(
        benchmark.benchmark,
        plan.version,
        {c.check_name: {"passed": c.passed, "description": c.description} for c in checks},
    )
    return DatasetOutcome(plan, metadata, checks)


def _reused(benchmark: Benchmark, plan: DatasetPlan) -> DatasetOutcome:
    """The tables of the last materialization, whose inputs are unchanged: its check outcomes again."""
    verdict = recorded_verdict(benchmark.benchmark)
    note = "no: inputs unchanged (data version); normalization and quality suites skipped"
    metadata = {
        name: verdict[name] for name in ("examples", "responses", "rejects", "source_rows") if name in verdict
    }
    checks = [
        AssetCheckResult(
            check_name=name,
            passed=outcome["passed"],
            severity=AssetCheckSeverity.ERROR if DATASET_CHECKS[name][0] else AssetCheckSeverity.WARN,
            description=f"{outcome['description']} (inputs unchanged: result of the last run, not re-run)",
        )
        for name, outcome in verdict["checks"].items()
    ]
    return DatasetOutcome(plan, {**metadata, "data_version": plan.version, "normalized": note}, checks)


def build_dataset(benchmark: Benchmark, log) -> DatasetOutcome:
    """Normalize the benchmark's data when missing or stale, reuse it when unchanged, skip it when it
    cannot be had; says which in one log line naming the asset, but for a reuse: its caller says that
    of all the datasets it reused in one line (`reused_line`)."""
    plan = plan_dataset(benchmark)
    label = dataset_label(benchmark.benchmark)
    if plan.action == "skip":
        log.warning(f"{label} skipped: {plan.reason}")
        return DatasetOutcome(plan)
    if plan.action == "reuse":
        return _reused(benchmark, plan)
    log.info(f"{label}: {plan.reason}: normalizing")
    return _normalized(benchmark, plan)


def reused_line(reused: dict[str, str]) -> str:
    """One log line for the datasets a run reused ({benchmark: data version}): one Dagster event, where
    a line each cost a SQLite commit each."""
    named = ", ".join(f"{dataset_label(name)} ({version})" for name, version in reused.items())
    return f"inputs unchanged (data version), normalization and quality suites skipped: {named}"


def check_findings(benchmark: str) -> list[str]:
    """One line per finding of the benchmark's last checks that did not block scoring (a non-blocking
    check that failed, or a warn-only expectation inside a passed suite): check, what and how many,
    where to look. For the CLI, which shows no check panel."""
    lines: list[str] = []
    if not quality_path(benchmark).exists():
        return lines
    for name, outcome in recorded_verdict(benchmark).get("checks", {}).items():
        blocking, _, table = DATASET_CHECKS[name]
        text = outcome["description"]
        # a blocking check's failure stops the run with its own error; its passed suite may still warn
        found = outcome["passed"] and not text.startswith("all ") if blocking else not outcome["passed"]
        if not found:
            continue
        where = f"rb-pipeline sql \"select * from {table} where benchmark = '{benchmark}'\""
        lines += [
            f"{dataset_label(benchmark)} check {name}: {detail} (look: {where})"
            for detail in text.splitlines()
        ]
    return lines


def report_dataset(instance: DagsterInstance, log_event, benchmark: str, outcome: DatasetOutcome) -> None:
    """Record a dataset normalized inside another asset's run (the scores asset): its materialization
    in that run's log (`log_event`), its check results on the instance."""
    key = dataset_key(benchmark)
    log_event(
        AssetMaterialization(
            asset_key=key,
            metadata=outcome.metadata,
            tags={"dagster/data_version": outcome.plan.version or ""},
            description="normalized by the scores run that needed it",
        )
    )
    # the checks point at that materialization: else the UI shows them as not evaluated for it
    (record,) = instance.fetch_materializations(key, limit=1).records
    target = AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )
    for check in outcome.checks:
        instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=key,
                check_name=check.check_name,
                passed=check.passed,
                metadata=check.metadata,
                severity=check.severity,
                description=check.description,
                target_materialization_data=target,
            )
        )


def dataset_asset(benchmark: Benchmark) -> AssetsDefinition:
    """The normalized-data asset of one benchmark, with its blocking great-expectations checks."""
    key = dataset_key(benchmark.benchmark)
    checks = [
        AssetCheckSpec(name, asset=key, blocking=DATASET_CHECKS[name][0], description=DATASET_CHECKS[name][1])
        for name in dataset_checks(benchmark)
    ]

    @asset(
        key=key,
        group_name="datasets",
        check_specs=checks,
        description=f"{benchmark.title}: the benchmark's examples and answers in one normalized form "
        f"(source: {benchmark.source_file}). Re-normalized only when its inputs change; skipped, with "
        "its reason, when its data cannot be had. The scores asset builds it when it needs it.",
        kinds={"parquet", "polars"},
        output_required=False,  # a benchmark whose data cannot be had yields no materialization
    )
    def _dataset(context):
        outcome = build_dataset(benchmark, context.log)
        if outcome.plan.action == "reuse":
            context.log.info(reused_line({benchmark.benchmark: outcome.plan.version}))
        if outcome.plan.action == "skip":  # observed with its reason; its checks say they did not run
            context.log_event(AssetObservation(asset_key=key, metadata={"skipped": outcome.plan.reason}))
            for spec in checks:
                yield AssetCheckResult(
                    check_name=spec.name,
                    passed=False,
                    severity=AssetCheckSeverity.WARN,
                    description=f"not run: no data ({outcome.plan.reason})",
                )
            return
        yield MaterializeResult(
            metadata=outcome.metadata,
            check_results=outcome.checks,
            data_version=DataVersion(outcome.plan.version),
        )

    return _dataset
