"""The scoring engine and the classifier scorer on a tiny offline model."""

from __future__ import annotations

import polars as pl
import pytest

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.lake import scores_dir
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model, token_batches
from rb_pipeline.models.loader import load_scorer
from rb_pipeline.models.registry import Encoded
from tests.hand_made import hand_made_frames


def written_scores(model_id: str, run_id: str) -> pl.DataFrame:
    return pl.read_parquet(sorted(scores_dir(model_id, run_id).glob("*.parquet"))).sort("response_id")


def test_token_batches_respect_budget_and_sort_longest_first():
    items = [Encoded(str(i), [0] * n, 0) for i, n in enumerate([5, 50, 20, 50, 1, 30])]
    batches = list(token_batches(items, batch_size=3, token_budget=100))
    assert [[len(x.input_ids) for x in b] for b in batches] == [[50, 50], [30, 20, 5], [1]]
    assert sorted(x.response_id for b in batches for x in b) == sorted(x.response_id for x in items)


def test_batch_size_does_not_change_scores(rb_home, tiny_classifier):
    examples, responses = hand_made_frames()
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    scorer = load_scorer(entry, ScorerSettings(max_length=256), "cpu")
    frame = responses.join(examples, on=["benchmark", "example_id"]).unique("response_id")
    encoded = scorer.encode(
        frame["prompt"].to_list(), frame["text"].to_list(), frame["response_id"].to_list()
    )
    assert len({len(e.input_ids) for e in encoded}) > 5  # lengths differ, so batches pad
    results = {}
    for batch_size in (1, 8, 64):
        results[batch_size] = {
            item.response_id: score
            for batch in token_batches(encoded, batch_size, token_budget=10**9)
            for item, (score, _) in zip(batch, scorer.score(batch), strict=True)
        }
    for key, score in results[1].items():
        assert results[8][key] == pytest.approx(score, abs=1e-5)
        assert results[64][key] == pytest.approx(score, abs=1e-5)


def test_identical_texts_are_scored_once_and_reused_next_run(rb_home, tiny_classifier):
    examples, responses = hand_made_frames()
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    settings = ScorerSettings(max_length=256)
    # by hand: 12 examples x (chosen, rejected) = 24 responses; example 11 repeats example 0's prompt and
    # both texts, so 11 prompts x 2 = 22 distinct ids ("Bad." under 11 different prompts is 11 responses)
    distinct = 22
    assert (responses.height, responses["response_id"].n_unique()) == (24, distinct)
    first = score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lambda _: None)
    assert (first.n_responses, first.n_scored, first.n_reused) == (distinct, distinct, 0)
    again = score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lambda _: None)
    assert (again.n_scored, again.n_reused) == (0, distinct)
    # each score is stored once: the re-run refers to the first run's scores and copies none
    assert written_scores("test/tiny", first.run_id).height == distinct
    assert not scores_dir("test/tiny", again.run_id).exists()
    # a different max_length is a different setting: nothing is reused
    third = score_model(
        entry, responses, examples, ScorerSettings(max_length=8), ["hm"], device="cpu", log=lambda _: None
    )
    # every response is longer than 8 tokens: the template alone is 8 (<|user|>, "\n", <|endoftext|>,
    # "\n", <|assistant|>, "\n", <|endoftext|>, "\n"), plus "Question k:" (byte-level pre-tokens
    # "Question", " k", ":") and at least "Bad" + ".": all 22 are truncated
    assert (third.n_scored, third.n_truncated) == (distinct, distinct)


def test_a_run_that_dies_resumes_without_rescoring(rb_home, tiny_classifier, monkeypatch):
    examples, responses = hand_made_frames()
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    settings = ScorerSettings(max_length=256, batch_size=2)
    from rb_pipeline.models.classifier import ClassifierScorer

    real_score = ClassifierScorer.score
    scored_ids: list[str] = []
    calls = {"n": 0}

    def dying_score(self, batch):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("simulated crash")
        scored_ids.extend(item.response_id for item in batch)
        return real_score(self, batch)

    monkeypatch.setattr(ClassifierScorer, "score", dying_score)
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_model(
            entry, responses, examples, settings, ["hm"], device="cpu", shard_rows=2, log=lambda _: None
        )
    flushed = len(scored_ids)
    assert flushed == 6  # three batches of two, each flushed as a shard before the crash
    resumed = score_model(
        entry, responses, examples, settings, ["hm"], device="cpu", shard_rows=2, log=lambda _: None
    )
    assert resumed.n_reused == flushed
    assert len(scored_ids) == resumed.n_responses  # every response scored exactly once across both runs
    assert len(set(scored_ids)) == len(scored_ids)


def test_load_failure_names_the_model(rb_home, tmp_path):
    entry = ModelEntry(id="test/missing", source=str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match=r"^model test/missing: cannot load from .*nowhere"):
        load_scorer(entry, ScorerSettings(), "cpu")


def test_trust_remote_code_is_off_by_default():
    assert ModelEntry(id="x/y").trust_remote_code is False


def test_scores_in_the_old_layout_stay_reusable(rb_home, tiny_classifier):
    """Lakes written before scores were stored once (unhashed shard names, and every re-run holding a
    copy of the scores it reused, `part-reused.parquet`) are still reused, each response once."""
    from rb_pipeline.core.lake import write_parquet

    examples, responses = hand_made_frames()
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    settings = ScorerSettings(max_length=256)
    first = score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lambda _: None)
    folder = scores_dir(entry.id, first.run_id)
    frame = written_scores(entry.id, first.run_id)
    for shard in folder.glob("*.parquet"):
        shard.unlink()
    write_parquet(frame, folder / "part-00000.parquet")
    copy = frame.with_columns(run_id=pl.lit("old-rerun"), reused=pl.lit(True))
    write_parquet(copy, scores_dir(entry.id, "old-rerun") / "part-reused.parquet")
    again = score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lambda _: None)
    assert (again.n_scored, again.n_reused) == (0, first.n_responses)
