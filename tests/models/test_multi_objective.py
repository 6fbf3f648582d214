"""Multi-objective reward heads (ArmoRM-style): the gated scalar `score` drives accuracy, the per-objective
`rewards` vector is kept in `score_vector`.

The model: tests/models/tiny_multi_objective.py (a scorer that read logits[:, 0] instead of `score`
would get the opposite answers).
"""

from __future__ import annotations

import polars as pl
import pytest
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from rb_pipeline.catalog.entries import Benchmark, ModelEntry
from rb_pipeline.core.lake import scores_dir
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models.classifier import reward_and_vector
from rb_pipeline.models.loader import load_scorer
from rb_pipeline.sources.normalize import response_id
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.hand_made import example_row, response_row, write_dataset
from tests.models.tiny_multi_objective import N_OBJECTIVES, MultiObjectiveOutput

PAIRS = [
    ("What is the capital of France?", "The capital of France is Paris.", "It is Lyon, I think."),
    ("What is 12 plus 30?", "The answer is 42.", "Maybe 41?"),
    ("Please explain how to sort a list in Python.", "Call sorted(items) or items.sort().", "You cannot."),
    ("Is water wet?", "Yes.", "That statement is true or false, who knows, the quick brown fox."),
    ("Say thank you.", "Thank you for your help!", "No."),
    ("Tell me a story.", "A small cat found a warm home on a cold night.", "Once."),
]
CATALOG = {
    "mo": Benchmark.model_validate(
        {
            "benchmark": "mo",
            "title": "multi-objective pairs",
            "kind": "preference",
            "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
            "subsets": {"s": {}},
        }
    )
}


def write_pairs() -> tuple[pl.DataFrame, pl.DataFrame]:
    examples, responses = [], []
    for i, (question, chosen, rejected) in enumerate(PAIRS):
        prompt = [{"role": "user", "content": question}]
        examples.append(example_row("mo", "s", f"p{i}", prompt, i))
        for position, (label, text) in enumerate([("chosen", chosen), ("rejected", rejected)]):
            responses.append(response_row("mo", f"p{i}", response_id(prompt, text), position, text, label))
    return write_dataset("mo", examples, responses)


def test_reward_and_vector_of_plain_classifiers():
    one = SequenceClassifierOutput(logits=torch.tensor([[0.5], [-1.0]]))
    assert reward_and_vector(one, 2) == [(0.5, None), (-1.0, None)]
    several = SequenceClassifierOutput(logits=torch.tensor([[0.5, 2.0], [-1.0, 3.0]]))
    assert reward_and_vector(several, 2) == [(0.5, [0.5, 2.0]), (-1.0, [-1.0, 3.0])]
    gated = MultiObjectiveOutput(logits=torch.tensor([[9.0], [8.0]]), score=torch.tensor([[0.25], [0.75]]))
    assert reward_and_vector(gated, 2) == [(0.25, None), (0.75, None)]  # ArmoRM: logits = score


def test_multi_objective_score_drives_accuracy_and_vector_is_kept(rb_home, multi_objective_model):
    examples, responses = write_pairs()
    entry = ModelEntry(id="test/multi-objective", source=str(multi_objective_model), max_length=256)
    run = score_model(
        entry,
        responses,
        examples,
        ScorerSettings(max_length=256, batch_size=4),
        ["mo"],
        device="cpu",
        log=lambda _: None,
    )
    scores = pl.read_parquet(sorted(scores_dir(entry.id, run.run_id).glob("*.parquet")))
    assert scores.height == 2 * len(PAIRS)
    assert scores["score_vector"].list.len().to_list() == [N_OBJECTIVES] * scores.height

    # the stored numbers are the model's own output, one response at a time (no padding)
    scorer = load_scorer(entry, ScorerSettings(max_length=256), "cpu")
    joined = responses.join(examples, on=["benchmark", "example_id"])
    encoded = scorer.encode(
        joined["prompt"].to_list(), joined["text"].to_list(), joined["response_id"].to_list()
    )
    stored = {row["response_id"]: row for row in scores.iter_rows(named=True)}
    for item in encoded:
        with torch.inference_mode():
            output = scorer.model(input_ids=torch.tensor([item.input_ids]))
        row = stored[item.response_id]
        assert row["score"] == pytest.approx(output.score.item(), abs=1e-5)
        assert row["score_vector"] == pytest.approx(output.rewards[0].tolist(), abs=1e-5)
        # the gate picks objective 1; objective 0 is its negation
        assert row["score"] == pytest.approx(row["score_vector"][1], abs=1e-4)
        assert row["score"] == pytest.approx(-row["score_vector"][0], abs=1e-4)

    path = build_warehouse(CATALOG)
    outcomes = query("select example_id, correct from example_outcomes order by 1", path)
    by_response = {rid: (row["score"], row["score_vector"][0]) for rid, row in stored.items()}
    expected_by_score, expected_by_first_logit = [], []
    for i in range(len(PAIRS)):
        pair = responses.filter(pl.col("example_id") == f"p{i}").sort("position")["response_id"].to_list()
        (chosen_score, chosen_first), (rejected_score, rejected_first) = (
            by_response[pair[0]],
            by_response[pair[1]],
        )
        expected_by_score.append(chosen_score > rejected_score)
        expected_by_first_logit.append(chosen_first > rejected_first)
    assert outcomes["correct"].to_list() == expected_by_score
    assert expected_by_score != expected_by_first_logit  # logits[:, 0] would have given other answers
    accuracy = query("select n, accuracy from subset_accuracy", path).row(0, named=True)
    assert accuracy == {"n": len(PAIRS), "accuracy": pytest.approx(sum(expected_by_score) / len(PAIRS))}
