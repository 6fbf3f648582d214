"""Per-model scores, one dynamic partition per model."""

from dataclasses import asdict

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.datasets import dataset_key
from assets.partitions import models_partitions
from assets.resources import ScoringResource
from rb_pipeline.catalog import load_benchmarks, load_models
from rb_pipeline.distributed import launch
from rb_pipeline.evaluation import (
    Evaluation,
    coverage,
    evaluate,
    markdown_table,
    model_report,
    settings_for,
)
from rb_pipeline.paths import decode_model_key
from rb_pipeline.scoring import git_hash, package_versions
from rb_pipeline.warehouse import in_memory

SCORES_KEY = AssetKey("scores")


class ScoreConfig(Config):
    """Scorer settings; unset fields take the model entry's values (catalog/models.yaml)."""

    benchmarks: list[str] = Field(default=[], description="benchmarks to score; empty = all")
    batch_size: int | None = Field(default=None, description="max rows per batch")
    dtype: str | None = Field(default=None, description="auto | float32 | float16 | bfloat16")
    max_length: int | None = Field(default=None, description="truncate longer inputs (tokens)")
    chat_template: str | None = Field(default=None, description="tokenizer or a named template")
    token_budget: int | None = Field(default=None, description="max padded tokens per batch")
    ref_free_type: str | None = Field(default=None, description="dpo without a reference: sum | avg | norm")
    dpo_tokens: str | None = Field(default=None, description="dpo response tokens: rewardbench | clean")
    nproc_per_node: int = Field(
        default=1, ge=1, description="data-parallel processes (one per GPU) under torchrun; 1 = in process"
    )


def scores_asset(benchmark_names: list[str]):
    """The partitioned scores asset, downstream of every dataset asset."""

    @asset(
        key=SCORES_KEY,
        partitions_def=models_partitions,
        deps=[dataset_key(name) for name in benchmark_names],
        group_name="scores",
        kinds={"pytorch", "parquet"},
        check_specs=[
            AssetCheckSpec("every_response_scored", asset=SCORES_KEY),
            AssetCheckSpec("no_nan_scores", asset=SCORES_KEY),
        ],
        description="One model's scores for every response (append-only runs under lake/scores/).",
        pool="scoring",
    )
    def scores(
        context: AssetExecutionContext, config: ScoreConfig, scoring: ScoringResource
    ) -> MaterializeResult:
        model_id = decode_model_key(context.partition_key)
        models = load_models()
        if model_id not in models:
            raise ValueError(f"model {model_id!r} is not in catalog/models.yaml nor $RB_HOME/models.yaml")
        entry = models[model_id]
        catalog = load_benchmarks()
        unknown = sorted(set(config.benchmarks) - set(catalog))
        if unknown:
            raise ValueError(f"unknown benchmarks {unknown} (known: {sorted(catalog)})")
        chosen = {k: v for k, v in catalog.items() if not config.benchmarks or k in config.benchmarks}
        settings = settings_for(
            entry,
            batch_size=config.batch_size,
            dtype=config.dtype,
            max_length=config.max_length,
            chat_template=config.chat_template,
            token_budget=config.token_budget,
            ref_free_type=config.ref_free_type,
            dpo_tokens=config.dpo_tokens,
        )
        if config.nproc_per_node > 1:
            run, scored, skipped = launch(
                model_id, list(chosen), asdict(settings), config.nproc_per_node, log=context.log.info
            )
            result = Evaluation(run, scored, skipped)
        else:
            result = evaluate(entry, chosen, settings, scoring.device, log=context.log.info)
        with in_memory(catalog) as con:  # one set of views for the report and the checks
            row, subsets = model_report(con, model_id)
            total, covered, nan, unit = coverage(con, model_id, entry.type, result.run.run_id)
        filled = {k: v for k, v in row.items() if v is not None}
        leaderboard_md = markdown_table(pl.DataFrame([filled])) if row else "no scores"
        return MaterializeResult(
            metadata={
                "model": model_id,
                "revision": entry.revision,
                "run_id": result.run.run_id,
                "device": result.run.device,
                "settings": MetadataValue.json(asdict(settings)),
                "package_versions": MetadataValue.json(package_versions()),
                "git_hash": git_hash(),
                "benchmarks_scored": MetadataValue.json(result.scored_benchmarks),
                "benchmarks_skipped": MetadataValue.json(result.skipped),
                "responses": result.run.n_responses,
                "scored": result.run.n_scored,
                "reused": result.run.n_reused,
                "truncated": result.run.n_truncated,
                "max_length": result.run.max_length,
                "responses_per_s": round(result.run.responses_per_s, 2),
                "tokens_per_s": round(result.run.tokens_per_s, 1),
                "padding_overhead": round(result.run.padding_overhead, 4),
                "leaderboard_row": MetadataValue.md(leaderboard_md),
                "per_subset": MetadataValue.md(markdown_table(subsets)),
            },
            check_results=[
                AssetCheckResult(
                    check_name="every_response_scored",
                    passed=total == covered,
                    metadata={unit: total, "scored": covered},
                    description=f"{covered} of {total} {unit} have a score",
                ),
                AssetCheckResult(
                    check_name="no_nan_scores",
                    passed=nan == 0,
                    metadata={"nan_scores": nan},
                    description=f"{nan} NaN scores" + (" (judge scores)" if unit == "examples" else ""),
                ),
            ],
        )

    return scores
