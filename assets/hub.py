"""The model's score dataset for the Hugging Face Hub, one partition per model."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.partitions import models_partitions
from assets.warehouse import warehouse
from rb_pipeline.core.paths import decode_model_key
from rb_pipeline.publish.hub import build_score_dataset, default_push_dir, push_score_dataset


class HubConfig(Config):
    """Leave repo_id empty to only write the folder (a dry run)."""

    repo_id: str = Field(default="", description="ORG/NAME of the dataset repo; empty = folder only")
    private: bool = Field(default=False, description="create the repo as private")


@asset(
    partitions_def=models_partitions,
    deps=[warehouse],
    group_name="hub",
    kinds={"huggingface", "parquet"},
    description="Parquet configs (scores, metrics, sections, leaderboard) + dataset card; uploaded when repo_id is set.",
)
def hub_dataset(context: AssetExecutionContext, config: HubConfig) -> MaterializeResult:
    model_id = decode_model_key(context.partition_key)
    if config.repo_id:
        where = push_score_dataset(model_id, config.repo_id, private=config.private)
        folder = default_push_dir(model_id)
    else:
        folder = build_score_dataset(model_id, default_push_dir(model_id))
        where = str(folder)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    card = (folder / "README.md").read_text(encoding="utf-8")
    return MaterializeResult(
        metadata={
            "model": model_id,
            "destination": where,
            "files": MetadataValue.json(files),
            "card": MetadataValue.md(card[:20000]),
        }
    )
