"""Per-model scores, one dynamic partition per model."""

from dataclasses import asdict
from pathlib import Path
from typing import Literal, get_args, get_origin

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field, ValidationError, create_model

from assets.datasets import build_dataset, dataset_key, dataset_label, report_dataset, reused_line
from assets.metadata import frame_table
from assets.partitions import models_partitions, partition_model_id
from assets.resources import ScoringResource
from assets.tags import process_tags
from rb_pipeline.catalog.entries import (
    Benchmark,
    ModelEntry,
    load_benchmarks,
    load_models,
    names_a_folder,
    register_model,
    user_models_path,
)
from rb_pipeline.core.kinds import KINDS
from rb_pipeline.core.paths import offline_var
from rb_pipeline.core.runs import git_hash, package_versions
from rb_pipeline.core.settings import run_config_fields, settings_for
from rb_pipeline.core.text import validation_problem
from rb_pipeline.engine.distributed import launch
from rb_pipeline.engine.evaluation import Evaluation, evaluate
from rb_pipeline.warehouse.run_report import coverage, model_report, report_queries
from rb_pipeline.warehouse.update import model_files
from rb_pipeline.warehouse.views import in_memory

SCORES_KEY = AssetKey("scores")


class RunSettings(Config):
    """What a run chooses beyond the model's entry."""

    benchmarks: list[str] = Field(
        default=[],
        description="Benchmarks to score, by catalog name (e.g. rmb-bon, rewardbench); empty = every "
        "benchmark whose data can be had. Missing or changed datasets are normalized first, in this run.",
    )
    nproc_per_node: int = Field(
        default=1,
        ge=1,
        description="Data-parallel processes (one per GPU) under torchrun; 1 = score in this process.",
    )


# Entry fields kept out of run config: the partition key is the id; a device map may be a mapping,
# which run config cannot type; `gpus` is what a cluster is asked for before the run starts; `prm` (a
# process reward model's head) is a nested block, given in the model's YAML entry, as are the fields of
# a kind's own (`options`, core.kinds).
YAML_ONLY_FIELDS = ("id", "device_map", "gpus", "prm", "options")
ENTRY_FIELDS = [name for name in ModelEntry.model_fields if name not in YAML_ONLY_FIELDS]
# the scorer settings a model entry does not give (core.settings: token_budget, ref_free_type, ...)
SETTING_FIELDS = run_config_fields(exclude=set(ENTRY_FIELDS))


def _run_config_field(name: str) -> tuple[object, object]:
    """A model entry field as an optional run config field (unset: the entry's value)."""
    annotation, choices = ModelEntry.model_fields[name].annotation, ""
    if get_origin(annotation) is Literal:  # Dagster config has no Literal: ModelEntry checks the value
        annotation, choices = str, f" ({' | '.join(get_args(annotation))})"
    elif name == "type":  # checked against the declared kinds
        choices = f" ({' | '.join(KINDS)})"
    elif annotation == tuple[str, ...]:
        annotation = list[str]
    default = ModelEntry.model_fields[name].default
    description = (
        f"Model entry field `{name}`{choices}. Unset: the model's catalog entry (catalog/models.yaml, "
        f"$RB_HOME/models.yaml), and for a new model the default, {default!r}."
    )
    return annotation | None, Field(default=None, description=description)


ScoreConfig = create_model(
    "ScoreConfig",
    __base__=RunSettings,
    __doc__="The run's settings plus every model entry field (catalog/models.yaml) as an override: a new "
    "model (a partition added in the UI) sets what differs from the defaults here, and the entry that "
    "results is recorded in $RB_HOME/models.yaml.",
    **SETTING_FIELDS,
    **{name: _run_config_field(name) for name in ENTRY_FIELDS},
)


def resolve_entry(model_id: str, config: RunSettings) -> tuple[ModelEntry, bool]:
    """The model's entry (from the catalog, or a new one) with the run config's set entry fields
    applied, and whether it differs from what the catalog holds (then it is to be recorded)."""
    known = load_models().get(model_id)
    if known is None and names_a_folder(model_id) and not Path(model_id).is_absolute():
        raise ValueError(
            f"model {model_id!r} is neither a Hub id (org/name) nor an absolute path: a local folder's "
            "partition key starts with '--' (/data/my-rm -> --data--my-rm)"
        )
    overrides = {name: value for name in ENTRY_FIELDS if (value := getattr(config, name)) is not None}
    try:
        entry = ModelEntry.model_validate((known.model_dump() if known else {"id": model_id}) | overrides)
    except ValidationError as exc:
        problem = validation_problem(exc, "ops.scores.config")
        raise ValueError(f"model {model_id!r}: run config {problem}") from None
    location = Path(entry.location)
    changed = entry != known
    if changed and location.is_absolute() and not location.is_dir():  # never record a mistyped path
        raise ValueError(
            f"model {model_id!r}: {location}: no such model folder (a new model's partition key is its "
            "Hub id or its absolute path, each '/' written as '--')"
        )
    return entry, changed


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
        description="One model's scores for every response (append-only runs under lake/scores/), one "
        "partition per model. A new model: the score_new_model job, or 'Add partition' here with the key "
        "= the model id with each '/' written as '--' (Hub id org/name -> org--name; folder /data/my-rm "
        "-> --data--my-rm). A run builds the normalized datasets it needs that are missing or changed.",
        pool="scoring",
    )
    def scores(
        context: AssetExecutionContext, config: ScoreConfig, scoring: ScoringResource
    ) -> MaterializeResult:
        # the process doing the work, so that a run whose process dies is found (launch.reap_dead_runs)
        context.instance.add_run_tags(context.run.run_id, process_tags())
        try:
            return _score(context, config, scoring)
        except (ValueError, OSError) as exc:  # what a user can cause: one line, not a traceback
            raise user_failure(exc, context.partition_key) from exc

    def _score(context: AssetExecutionContext, config: ScoreConfig, scoring: ScoringResource):
        model_id = partition_model_id(context.partition_key)
        entry, changed = resolve_entry(model_id, config)
        if (
            entry.local_folder is None
            and entry.api_base is None
            and (problem := hub_model_problem(entry.location))
        ):
            raise ValueError(problem)  # before recording an entry that cannot load
        if changed:  # a new model, or run config overrides: recorded before scoring (torchrun reads it)
            register_model(entry)
            context.log.info(f"recorded model entry {model_id!r} in {user_models_path()}")
        catalog = load_benchmarks()
        unknown = sorted(set(config.benchmarks) - set(catalog))
        if unknown:
            raise ValueError(f"unknown benchmarks {unknown} (known: {sorted(catalog)})")
        chosen = {k: v for k, v in catalog.items() if not config.benchmarks or k in config.benchmarks}
        chosen, unavailable, reused = prepare_datasets(context, chosen)
        # the entry gives the rest of the settings (resolve_entry applied the run config's entry fields)
        settings = settings_for(entry, **{name: getattr(config, name) for name in SETTING_FIELDS})
        if config.nproc_per_node > 1:
            run, scored, skipped = launch(
                model_id, list(chosen), asdict(settings), config.nproc_per_node, log=context.log.info
            )
            result = Evaluation(run, scored, skipped | unavailable)
        else:
            result = evaluate(entry, chosen, settings, scoring.device, log=context.log.info)
            result = Evaluation(result.run, result.scored_benchmarks, unavailable | result.skipped)
        # one set of views for the report and the checks, over this model's files only
        reading = report_queries(entry.type)
        with in_memory(catalog, files=model_files([model_id]), reading=reading) as con:
            row, subsets = model_report(con, model_id, entry.type)
            total, covered, nan, unit = coverage(con, model_id, entry.type, result.run.run_id)
        filled = {k: v for k, v in row.items() if v is not None}
        return MaterializeResult(
            metadata={
                "model": model_id,
                "revision": entry.revision,
                "model_entry": MetadataValue.json(entry.model_dump(mode="json", exclude_defaults=True)),
                "entry_recorded": str(user_models_path()) if changed else "no change",
                "run_id": result.run.run_id,
                "device": result.run.device,
                "settings": MetadataValue.json(asdict(settings)),
                "package_versions": MetadataValue.json(package_versions()),
                "git_hash": git_hash(),
                "benchmarks_scored": MetadataValue.json(result.scored_benchmarks),
                # inputs unchanged: neither normalized nor checked again in this run ({asset: data version})
                "datasets_reused": MetadataValue.json({dataset_label(k): v for k, v in reused.items()}),
                "benchmarks_skipped": MetadataValue.md(
                    "\n".join(f"- {dataset_label(k)}: {v}" for k, v in result.skipped.items()) or "none"
                ),
                "responses": result.run.n_responses,
                "scored": result.run.n_scored,
                "reused": result.run.n_reused,
                "truncated": result.run.n_truncated,
                "max_length": result.run.max_length,
                "responses_per_s": round(result.run.responses_per_s, 2),
                "tokens_per_s": round(result.run.tokens_per_s, 1),
                "padding_overhead": round(result.run.padding_overhead, 4),
                "leaderboard_row": frame_table(pl.DataFrame([filled])) if row else "no scores",
                "per_subset": frame_table(subsets),
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


def prepare_datasets(
    context: AssetExecutionContext, chosen: dict[str, Benchmark]
) -> tuple[dict[str, Benchmark], dict[str, str], dict[str, str]]:
    """Normalize, in this run, each chosen benchmark's dataset that is missing or stale (recorded as
    that dataset asset's materialization), reuse the unchanged ones (one line for them all), and set
    aside those whose data cannot be had (one warning line each). Returns (benchmarks to score,
    benchmark -> why skipped, benchmark -> data version of those reused)."""
    ready, unavailable, reused = {}, {}, {}
    for name, benchmark in chosen.items():
        outcome = build_dataset(benchmark, context.log)
        if outcome.plan.action == "skip":
            unavailable[name] = outcome.plan.reason
            continue
        if outcome.plan.action == "normalize":
            report_dataset(context.instance, context.log_event, name, outcome)
        else:
            reused[name] = outcome.plan.version
        ready[name] = benchmark
    if reused:
        context.log.info(reused_line(reused))
    if not ready:
        raise ValueError(
            "no benchmark's data can be had: "
            + "; ".join(f"{dataset_label(k)}: {v}" for k, v in unavailable.items())
        )
    return ready, unavailable, reused


def hub_model_problem(repo_id: str) -> str | None:
    """Why a Hub model cannot be loaded now: the Hub is offline and its files are not in the local
    Hub cache (one line, what to do); None when it can."""
    from huggingface_hub import try_to_load_from_cache

    var = offline_var()
    if var and not isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
        return (
            f"model {repo_id}: not a local folder, not in the Hub cache, and the Hub is offline ({var}=1):"
            " go online to download it, or give a local model folder"
        )
    return None


def user_failure(exc: Exception, partition_key: str) -> Failure:
    """A user's mistake (a mistyped key or path, a Hub id while offline, bad run config) as the one
    line the UI shows, with the model and partition in its metadata."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return Failure(
        description=line,
        metadata={"partition": partition_key, "error": type(exc).__name__},
        allow_retries=False,
    )
