"""The last block at the pooled token (`models.last_token`): a GPT-2 classifier runs its last block's
queries, attention output and MLP at one position per row, and scores as its whole forward does (to
1e-5, float32) on real RMB texts, right- and left-padded, with and without padding, one and several
labels, SDPA and eager attention. A row the head pools elsewhere falls back to the whole forward;
other architectures never take the shortcut.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rb_pipeline.models import last_token
from rb_pipeline.models.classifier import classify, pad_batch
from rb_pipeline.models.registry import Encoded
from rb_pipeline.models.tiny_models import build_tiny_twin

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def texts(rmb_rows) -> list[str]:
    """Eight real RMB responses of different lengths."""
    return rmb_rows[1]["text"].to_list()[:8]


def gpt2(tmp_path_factory, texts: list[str], num_labels: int = 1, attention: str = "sdpa"):
    path = build_tiny_twin(
        tmp_path_factory.mktemp("gpt2-last-token"), "gpt2", texts=texts, seed=3, num_labels=num_labels
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        path, dtype=torch.float32, attn_implementation=attention
    ).eval()
    return model, AutoTokenizer.from_pretrained(path)


def padded(tokenizer, texts: list[str], side: str, same_length: bool = False) -> dict[str, torch.Tensor]:
    ids = tokenizer(texts, truncation=True, max_length=120)["input_ids"]
    if same_length:
        ids = [row[: min(map(len, ids))] for row in ids]
    return pad_batch([Encoded("", row, 0) for row in ids], tokenizer.pad_token_id, side, "cpu")


@pytest.mark.parametrize(("num_labels", "attention"), [(1, "sdpa"), (3, "sdpa"), (1, "eager")])
@torch.inference_mode()
def test_scores_equal_the_whole_forward(tmp_path_factory, texts, num_labels, attention):
    """Eager attention hands the block an additive mask, SDPA a boolean one (or none, unpadded)."""
    model, tokenizer = gpt2(tmp_path_factory, texts, num_labels, attention)
    assert last_token.runs_last_block_at_pooled_token(model)
    batches = {
        "right-padded": padded(tokenizer, texts, "right"),
        "left-padded": padded(tokenizer, texts, "left"),
        # the model's mask is None: plain causal
        "unpadded": padded(tokenizer, texts, "right", same_length=True),
    }
    for name, inputs in batches.items():
        whole = model(**inputs, use_cache=False).logits
        ours = classify(model, inputs).logits
        assert whole.abs().max() > 0.05 and whole.std(0).max() > 1e-3, name  # not trivially equal
        assert (ours - whole).abs().max().item() <= TOLERANCE, name


@torch.inference_mode()
def test_the_last_block_runs_one_position_per_row(tmp_path_factory, texts):
    """The shortcut is taken: the last block's MLP sees one row per sequence, the others every token."""
    model, tokenizer = gpt2(tmp_path_factory, texts)
    inputs = padded(tokenizer, texts, "right")
    shapes: dict[str, tuple] = {}

    def recorder(name: str):
        def hook(_module, args, _output) -> None:
            shapes.setdefault(name, tuple(args[0].shape))

        return hook

    for name, block in (("first", model.transformer.h[0]), ("last", model.transformer.h[-1])):
        block.mlp.register_forward_hook(recorder(name))
    classify(model, inputs)
    batch, width = inputs["input_ids"].shape
    assert shapes["first"][:2] == (batch, width)
    assert shapes["last"] == (batch, model.config.n_embd)


@torch.inference_mode()
def test_a_row_pooled_elsewhere_falls_back_to_the_whole_forward(tmp_path_factory, texts, monkeypatch):
    """Positions that disagree with the head's leave NaN where it pools: the whole forward scores."""
    model, tokenizer = gpt2(tmp_path_factory, texts)
    inputs = padded(tokenizer, texts, "right")
    whole = model(**inputs, use_cache=False).logits
    wrong = last_token.pooled_positions(inputs["input_ids"], model.config.pad_token_id) - 1
    monkeypatch.setattr("rb_pipeline.models.classifier.pooled_positions", lambda *_: wrong)
    assert torch.equal(classify(model, inputs).logits, whole)


def test_other_architectures_run_their_whole_forward(tmp_path_factory, texts):
    path = build_tiny_twin(tmp_path_factory.mktemp("llama-last-token"), "llama", texts=texts)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    assert not last_token.runs_last_block_at_pooled_token(model)
