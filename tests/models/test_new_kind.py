"""A model kind is one file: this module alone declares a new kind (`char-length`: a response's score is
its length in characters times `per_char`, an entry field of the kind's own; tokens from a tiny model's
tokenizer) and scores it end to end: catalog entry, `rb-pipeline score`, engine, warehouse views. No
other file names it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.kinds import ModelKind, register_kind
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.models.registry import Encoded


class CharLengthFields(BaseModel):
    """The kind's own entry fields (flat in the model's YAML entry)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    per_char: float = 1.0


class CharLengthScorer:
    """score = per_char x the response's length in characters."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        from transformers import AutoTokenizer

        self.device, self.max_length, self.per_char = device, settings.max_length, entry.options.per_char
        self.tokenizer = AutoTokenizer.from_pretrained(entry.location)

    def encode(self, prompts: list, texts: list[str], ids: list[str]) -> list[Encoded]:
        tokens = self.tokenizer(texts)["input_ids"]
        return [
            Encoded(i, t[: self.max_length], max(len(t) - self.max_length, 0), {"chars": len(text)})
            for i, t, text in zip(ids, tokens, texts, strict=True)
        ]

    def score(self, batch: list[Encoded]) -> list[tuple[float, list[float] | None]]:
        return [(self.per_char * item.extra["chars"], None) for item in batch]


KIND = register_kind(ModelKind("char-length", "scores", CharLengthScorer, options=CharLengthFields))


def test_the_kinds_own_fields_are_validated_and_written_flat(rb_home: Path):
    from rb_pipeline.catalog.entries import load_models, register_model, user_models_path

    entry = ModelEntry(id="kinds/length", type="char-length", per_char=0.5)
    assert entry.options == CharLengthFields(per_char=0.5)
    register_model(entry)
    (written,) = yaml.safe_load(user_models_path().read_text())["models"]
    written.pop("judges", None)  # register_model writes the default `judges: []` today
    assert written == {
        "id": "kinds/length",
        "type": "char-length",
        "per_char": 0.5,
    }  # flat, as written by hand
    assert load_models()["kinds/length"] == entry
    with pytest.raises(ValidationError, match="per_char: Input should be a valid number"):
        ModelEntry(id="x", type="char-length", per_char="long")
    with pytest.raises(ValidationError, match="extra"):  # another kind does not take it
        ModelEntry(id="x", type="classifier", per_char=0.5)
    with pytest.raises(ValidationError, match="unknown model type 'char-lenght'.*'char-length'"):
        ModelEntry(id="x", type="char-lenght")
    # the settings key holds the kind's fields: other fields, other scores
    settings = ScorerSettings()
    assert settings.key(entry) != settings.key(entry.model_copy(update={"options": CharLengthFields()}))


def test_a_new_kind_scores_end_to_end_from_the_cli(rb_home: Path, capsys: pytest.CaptureFixture):
    from rb_pipeline.catalog.entries import register_model
    from rb_pipeline.cli import main
    from rb_pipeline.core.lake import scores_dir
    from rb_pipeline.models.tiny_models import build_tiny_classifier
    from rb_pipeline.warehouse.views import query

    folder = build_tiny_classifier(rb_home / "models" / "tokenizer", seed=1)
    register_model(ModelEntry(id="kinds/length", type="char-length", source=str(folder), per_char=0.5))
    assert main(["score", "--model", "kinds/length", "--benchmark", "judgebench", "--sample"]) == 0
    assert "kinds/length" in capsys.readouterr().out  # its leaderboard row
    # the shipped judgebench sample: 8 pairs; characters of (chosen, rejected) per pair, subset by subset:
    # claude-3-5-sonnet-20240620/knowledge (1073, 1025) (1152, 1383) (950, 1124) (1272, 1095): the chosen
    #   is longer in 2 of 4 -> strict rule (JudgeBench for a pointwise model) 2 / 4 = 0.5
    # gpt-4o-2024-05-13/knowledge (2222, 2786) (2434, 2734) (2432, 2668) (3617, 1776): 1 of 4 -> 0.25
    accuracy = query("select subset, accuracy, n from subset_accuracy where model = 'kinds/length'")
    assert sorted(accuracy.rows()) == [
        ("claude-3-5-sonnet-20240620/knowledge", 0.5, 4),
        ("gpt-4o-2024-05-13/knowledge", 0.25, 4),
    ]
    # the kind's own field reached the scorer: the longest answer, 3617 characters, scores 0.5 x 3617
    scores = pl.read_parquet(sorted(scores_dir("kinds/length").glob("*/*.parquet")))
    assert scores.height == 16 and scores["score"].max() == 1808.5
    kinds = query("select kind, judged, scores_steps from model_kinds where kind = 'char-length'")
    assert kinds.rows() == [("char-length", False, False)]  # what the SQL reads instead of kind names
    runs = query("select model_type from runs where model = 'kinds/length' and provenance = 'computed'")
    assert runs["model_type"].to_list() == ["char-length"]
