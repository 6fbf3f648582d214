"""Tiny offline models: reload, chat template, forward pass, determinism, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

from rb_pipeline.models.tiny_models import (
    MARKER_FILE,
    build_tiny_causal_lm,
    build_tiny_classifier,
    train_tiny_tokenizer,
)

TEXTS = ["The chosen answer is correct.", "The rejected answer is wrong."]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital."},
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("clf") / "model", TEXTS, seed=0)


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("lm") / "model", TEXTS, seed=0)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(path / "model.safetensors")


def test_tokenizer_save_reload_roundtrip(tmp_path: Path) -> None:
    tok = train_tiny_tokenizer(TEXTS, vocab_size=400)
    assert len(tok) == 400
    assert tok.eos_token == tok.bos_token == tok.unk_token == "<|endoftext|>"
    assert tok.pad_token == "<|pad|>" and tok.pad_token_id != tok.eos_token_id
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    text = "Hello world, the answer is 42.<|endoftext|>"
    assert again(text)["input_ids"] == tok(text)["input_ids"]
    assert again.decode(again(text)["input_ids"]) == text
    assert again.pad_token_id == tok.pad_token_id and again.eos_token_id == tok.eos_token_id
    assert again.apply_chat_template(MESSAGES, tokenize=False) == tok.apply_chat_template(
        MESSAGES, tokenize=False
    )


def test_chat_template(clf_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(clf_dir, local_files_only=True)
    text = tok.apply_chat_template(MESSAGES, tokenize=False)
    assert text == (
        "<|system|>\nBe brief.<|endoftext|>\n"
        "<|user|>\nWhat is the capital of France?<|endoftext|>\n"
        "<|assistant|>\nParis is the capital.<|endoftext|>\n"
    )
    prompt = tok.apply_chat_template(MESSAGES[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|user|>\nWhat is the capital of France?<|endoftext|>\n<|assistant|>\n")
    masked = tok.apply_chat_template(MESSAGES, return_dict=True, return_assistant_tokens_mask=True)
    ids = [i for i, m in zip(masked["input_ids"], masked["assistant_masks"], strict=True) if m]
    assert tok.decode(ids) == "Paris is the capital.<|endoftext|>"


def test_classifier_reload_and_forward(clf_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(clf_dir, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(clf_dir, local_files_only=True)
    assert model.config.pad_token_id == tok.pad_token_id
    batch = tok(["A short one.", "A somewhat longer text to pad."], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, 1)
    assert torch.isfinite(logits).all()
    # Padding must not change the score of the short text.
    with torch.no_grad():
        alone = model(**tok(["A short one."], return_tensors="pt")).logits
    torch.testing.assert_close(alone[0], logits[0])


def test_causal_lm_reload_and_forward(lm_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(lm_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(lm_dir, local_files_only=True)
    batch = tok(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (*batch["input_ids"].shape, len(tok))
    assert torch.isfinite(logits).all()


def test_same_seed_is_bitwise_identical(tmp_path: Path, clf_dir: Path, lm_dir: Path) -> None:
    clf2 = build_tiny_classifier(tmp_path / "clf", TEXTS, seed=0)
    lm2 = build_tiny_causal_lm(tmp_path / "lm", TEXTS, seed=0)
    for first, second in ((clf_dir, clf2), (lm_dir, lm2)):
        for name in ("model.safetensors", "config.json", *TOKENIZER_FILES):
            assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_other_seed_other_weights_same_tokenizer(tmp_path: Path, lm_dir: Path) -> None:
    ref = build_tiny_causal_lm(tmp_path / "ref", TEXTS, seed=1)
    a, b = _weights(lm_dir), _weights(ref)
    assert a.keys() == b.keys()
    assert not torch.equal(a["transformer.wte.weight"], b["transformer.wte.weight"])
    for name in TOKENIZER_FILES:
        assert (lm_dir / name).read_bytes() == (ref / name).read_bytes(), name


def test_num_labels(tmp_path: Path) -> None:
    path = build_tiny_classifier(tmp_path / "two", seed=0, num_labels=2)
    model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
    assert model.config.num_labels == 2


def test_idempotent_and_rebuilds_on_new_params(tmp_path: Path) -> None:
    path = tmp_path / "clf"
    assert build_tiny_classifier(path, seed=0) == path
    marker = json.loads((path / MARKER_FILE).read_text())
    assert marker["seed"] == 0 and marker["kind"] == "classifier"
    mtimes = {p.name: p.stat().st_mtime_ns for p in path.iterdir()}
    build_tiny_classifier(str(path), seed=0)
    assert {p.name: p.stat().st_mtime_ns for p in path.iterdir()} == mtimes
    before = _weights(path)
    build_tiny_classifier(path, seed=5)
    assert json.loads((path / MARKER_FILE).read_text())["seed"] == 5
    assert not torch.equal(before["score.weight"], _weights(path)["score.weight"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clf"]  # no temp dirs left behind


def test_refuses_to_overwrite_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(FileExistsError):
        build_tiny_classifier(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "not a model"


def test_fused_gelu_scores_like_the_elementwise_one(tiny_classifier):
    """GPT-2's `gelu_new` (elementwise ops) swapped for torch's fused tanh GELU: same scores to 1e-5."""
    import torch
    from transformers import AutoModelForSequenceClassification, activations

    from rb_pipeline.models.fusion import fuse_activations

    model = AutoModelForSequenceClassification.from_pretrained(tiny_classifier, dtype=torch.float32).eval()
    ids = torch.randint(0, model.config.vocab_size, (3, 40), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        before = model(input_ids=ids).logits
        assert fuse_activations(model) == model.config.n_layer
        after = model(input_ids=ids).logits
    assert not any(isinstance(m, activations.NewGELUActivation) for m in model.modules())
    assert torch.allclose(before, after, atol=1e-5)


def test_sharded_twin_is_reused_and_unknown_architecture_refused(tmp_path: Path) -> None:
    from rb_pipeline.models.tiny_models import build_tiny_twin

    path = build_tiny_twin(tmp_path / "twin", "qwen2", TEXTS, positions=32, max_shard_size="20KB")
    shards = sorted(path.glob("model-*.safetensors"))
    assert len(shards) > 1 and not (path / "model.safetensors").exists()
    stamps = [shard.stat().st_mtime_ns for shard in shards]
    assert build_tiny_twin(tmp_path / "twin", "qwen2", TEXTS, positions=32, max_shard_size="20KB") == path
    assert [shard.stat().st_mtime_ns for shard in shards] == stamps  # complete (sharded): not rebuilt
    with pytest.raises(ValueError, match="unknown twin architecture 'bert'"):
        build_tiny_twin(tmp_path / "other", "bert")


def test_causal_lm_positions(tmp_path: Path, lm_dir: Path) -> None:
    short = build_tiny_causal_lm(tmp_path / "short", TEXTS, seed=0, positions=32)
    assert json.loads((short / "config.json").read_text())["n_positions"] == 32
    assert "positions" not in json.loads((lm_dir / MARKER_FILE).read_text())  # default: marker as before
