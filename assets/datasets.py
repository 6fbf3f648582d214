"""One asset per catalog benchmark: its normalized examples/responses, gated by quality checks."""

from collections import Counter

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from rb_pipeline.catalog.entries import Benchmark, asset_name
from rb_pipeline.sources.datasets import materialize_benchmark
from rb_pipeline.sources.quality import count_identical_pairs


def dataset_key(benchmark: str) -> AssetKey:
    """`normalized/<benchmark>` with Dagster-safe characters (the catalog refuses two benchmarks with one key)."""
    return AssetKey(["normalized", asset_name(benchmark)])


def dataset_asset(benchmark: Benchmark) -> AssetsDefinition:
    """The normalized-data asset of one benchmark, with its blocking great-expectations checks."""
    key = dataset_key(benchmark.benchmark)
    checks = [
        AssetCheckSpec("examples_quality", asset=key, blocking=True, description="GX suite on examples"),
        AssetCheckSpec("responses_quality", asset=key, blocking=True, description="GX suite on responses"),
        AssetCheckSpec("no_rejected_rows", asset=key, description="rows quarantined in `rejects`"),
        AssetCheckSpec(
            "no_chosen_equal_to_rejected",
            asset=key,
            description="pairs whose chosen text equals a rejected text (scored, always wrong; not blocking)",
        ),
    ]
    if benchmark.kind == "steps":  # step-level data (process reward models): sources.steps.STEP_CHECKS
        checks.append(
            AssetCheckSpec("steps_quality", asset=key, blocking=True, description="checks on steps")
        )

    @asset(
        key=key,
        group_name="datasets",
        check_specs=checks,
        description=f"{benchmark.title}: normalized examples and responses ({benchmark.source_file}).",
        kinds={"parquet", "polars"},
    )
    def _dataset(context) -> MaterializeResult:
        data, (examples_verdict, responses_verdict, *steps_verdict) = materialize_benchmark(benchmark)
        per_subset = Counter(data.examples["subset"].to_list())
        context.log.info(
            f"{benchmark.benchmark}: {data.examples.height} examples, {data.responses.height} responses, "
            f"{data.rejects.height} rejected of {data.source_rows} source rows"
        )
        check_results = [
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
        check_results.append(
            AssetCheckResult(
                check_name="no_rejected_rows",
                passed=data.rejects.height == 0,
                severity=AssetCheckSeverity.WARN,
                metadata={"rejects": data.rejects.height, "source_rows": data.source_rows},
                description="; ".join(f"{n} x {reason}" for reason, n in reasons.most_common(5)) or "none",
            )
        )
        identical = count_identical_pairs(data.examples, data.responses)
        check_results.append(
            AssetCheckResult(
                check_name="no_chosen_equal_to_rejected",
                passed=identical.pairs == 0,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "pairs": identical.pairs,
                    "examples": identical.examples,
                    "first_examples": MetadataValue.json(list(identical.first_examples)),
                    "per_subset": MetadataValue.md(
                        "| subset | pairs |\n|---|---|\n"
                        + "\n".join(f"| {name} | {n} |" for name, n in identical.per_subset.items())
                    ),
                },
                description=identical.description,
            )
        )
        origins = sorted({f"{s.origin}: {s.revision}" for s in data.sources})
        return MaterializeResult(
            metadata={
                "examples": data.examples.height,
                "responses": data.responses.height,
                "rejects": data.rejects.height,
                "source_rows": data.source_rows,
                "subsets": len(per_subset),
                "sources": MetadataValue.md("\n".join(f"- {o}" for o in origins[:20])),
                "per_subset": MetadataValue.md(
                    "| subset | examples |\n|---|---|\n"
                    + "\n".join(f"| {name} | {n} |" for name, n in sorted(per_subset.items()))
                ),
            },
            check_results=check_results,
        )

    return _dataset
