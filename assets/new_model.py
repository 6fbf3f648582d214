"""Score a new model from one form: the `score_new_model` job takes the model as a person types it (a
Hub id, or a folder path) and shows every setting with its real default; it adds the model's
partition, and the `score_added_model` sensor then launches that partition's scores run with what
was typed (the scores asset records the model's entry). No partition key to encode by hand."""

from pathlib import Path
from typing import Literal, get_args, get_origin

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    Failure,
    MetadataValue,
    OpExecutionContext,
    RunRequest,
    job,
    op,
    run_status_sensor,
)
from pydantic import Field, create_model

from assets.partitions import models_partitions
from assets.scores import ENTRY_FIELDS, RunSettings, hub_model_problem
from rb_pipeline.catalog.entries import ModelEntry, local_model_id, names_a_folder
from rb_pipeline.core.kinds import KINDS
from rb_pipeline.core.paths import encode_model_id
from rb_pipeline.core.settings import user_settings

# What the entry fields that are not scorer settings mean (the settings' help is in core.settings).
ENTRY_HELP = {
    "revision": "Hub branch, tag or commit to load (a local folder is pinned by its content)",
    "type": "how the model scores: a sequence classifier, a DPO policy (with ref_model), or a judge",
    "ref_model": "dpo: the reference model (Hub id or folder); unset: reference-free",
    "trust_remote_code": "run the model repository's own code (needs a pinned 40-hex revision)",
    "judges": "judges: ids of an odd number of judge entries whose majority verdict counts",
    "judge_prompt": "judges: the pairwise prompt (rewardbench's; -tie adds a tie answer)",
    "max_new_tokens": "generative judges: reply length",
    "api_base": "generative judges over an OpenAI-compatible server, e.g. http://host:8000/v1",
    "api_model": "the model name sent to that server; unset: the model as typed",
    "api_key_env": "the environment variable holding that server's key (the key is never stored)",
    "request_timeout": "seconds per HTTP request to that server",
    "max_retries": "retries of a failed request",
    "protocol": "generative judges on RewardBench 2's best-of-4 subsets: rate each answer 1-10 (ratings, "
    "upstream's default), pick the best of four (four-way), or compare chosen with each rejected (pairwise)",
}
SETTINGS = {setting.name: setting for setting in user_settings()}
FORM_FIELDS = [name for name in ENTRY_FIELDS if name != "source"]  # the model as typed is its source


def _form_field(name: str) -> tuple[object, object]:
    """An entry field or scorer setting with its real default (what a new model gets unless changed)."""
    if name in SETTINGS:
        setting = SETTINGS[name]
        annotation = ModelEntry.model_fields[name].annotation if name in ModelEntry.model_fields else None
        annotation = annotation or type(setting.default)
        default, help_, choices = setting.default, setting.metadata["help"], setting.metadata["choices"]
    else:
        info = ModelEntry.model_fields[name]
        annotation, default, help_, choices = info.annotation, info.default, ENTRY_HELP[name], ()
    if get_origin(annotation) is Literal:  # Dagster config has no Literal: ModelEntry checks the value
        annotation, choices = str, get_args(annotation)
    elif name == "type":  # checked against the declared kinds
        choices = tuple(KINDS)
    elif annotation == tuple[str, ...]:
        annotation, default = list[str], list(default)
    text = f"{help_}" + (f" ({' | '.join(choices)})" if choices else "") + f". Default: {default!r}."
    return annotation, Field(default=default, description=text)


NewModelConfig = create_model(
    "NewModelConfig",
    __base__=RunSettings,
    __doc__="A model to score: type it as you would load it, change the settings that differ.",
    model=(
        str,
        Field(
            description="The model to score, as you would load it: a Hub id (org/name) or a model folder "
            "path (absolute, or ~/...). Its partition is added for you."
        ),
    ),
    **{name: _form_field(name) for name in FORM_FIELDS + [n for n in SETTINGS if n not in FORM_FIELDS]},
)


def model_id_as_typed(typed: str) -> str:
    """The model id of what a person typed: a folder's is its absolute path, as the CLI names it
    (`catalog.local_model_id`); anything else is a Hub id, which must be reachable (or cached) now."""
    typed = typed.strip()
    if names_a_folder(typed):
        folder = Path(typed).expanduser()
        if not folder.is_dir():
            raise ValueError(
                f"model {typed}: no such folder: give an existing model folder or a Hub id org/name"
            )
        return local_model_id(folder)
    problem = hub_model_problem(typed)
    if problem:
        raise ValueError(problem)
    return typed


@op(description="Checks the model as typed and adds its partition to `scores` (its run follows).")
def add_model(context: OpExecutionContext, config: NewModelConfig) -> str:
    try:
        model_id = model_id_as_typed(config.model)
        key = encode_model_id(model_id)
    except ValueError as exc:  # one line in the UI, in its words
        raise Failure(description=str(exc).splitlines()[0], metadata={"model": config.model}) from None
    if not context.instance.has_dynamic_partition(models_partitions.name, key):
        context.instance.add_dynamic_partitions(models_partitions.name, [key])
    context.log.info(f"model {model_id}: partition {key} of scores; its scores run is launched next")
    context.add_output_metadata({"model": model_id, "partition": key, "scores": MetadataValue.path("scores")})
    return key


@job(
    description="Score a new model: type it (a Hub id or a folder path) and change the settings that "
    "differ from the defaults shown. Adds the model's partition; the scores run follows by itself "
    "(sensor score_added_model), then the warehouse."
)
def score_new_model():
    add_model()


def scores_run_config(typed: dict) -> dict:
    """The scores run config of a `score_new_model` run: what was typed that differs from the defaults."""
    fields = NewModelConfig.model_fields
    chosen = {k: v for k, v in typed.items() if k != "model" and k in fields and v != fields[k].default}
    return {"ops": {"scores": {"config": chosen}}}


def added_model_sensor(score_job):
    """The sensor that launches `score_job` (the scores job) on the partition a successful
    `score_new_model` run added, with the settings typed there."""

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[score_new_model],
        request_job=score_job,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=5,
        description="Launches the scores run of a model added by the score_new_model job.",
    )
    def score_added_model(context):
        typed = context.dagster_run.run_config["ops"]["add_model"]["config"]
        key = encode_model_id(model_id_as_typed(typed["model"]))
        return RunRequest(
            run_key=context.dagster_run.run_id, partition_key=key, run_config=scores_run_config(typed)
        )

    return score_added_model
