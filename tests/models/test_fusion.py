"""The MLP's up-projection and GELU as one oneDNN matmul (`models.fusion.fuse_gelu_into_matmul`): the
GPT-2 and GPT-NeoX twins (tanh and exact GELU), a classifier and a causal LM, score as their unfused
selves to 1e-5 (float32, CPU) on real RMB texts; other dtypes and MLPs are left as they are."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from rb_pipeline.models.fusion import LinearGELU, fuse, fuse_gelu_into_matmul
from rb_pipeline.models.tiny_models import build_tiny_twin

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def texts(rmb_rows) -> list[str]:
    return rmb_rows[1]["text"].to_list()[:6]


def twin(tmp_path_factory, architecture: str, texts: list[str]):
    return build_tiny_twin(
        tmp_path_factory.mktemp(f"fusion-{architecture}"), architecture, texts=texts, seed=5
    )


@pytest.mark.parametrize(
    ("architecture", "auto_class"),
    [
        ("gpt2", AutoModelForSequenceClassification),
        ("gpt_neox", AutoModelForSequenceClassification),
        ("gpt2", AutoModelForCausalLM),  # a DPO policy or reference: every position's logits
    ],
)
@torch.inference_mode()
def test_fused_mlps_score_as_unfused(tmp_path_factory, texts, architecture, auto_class):
    path = twin(tmp_path_factory, architecture, texts)
    tokenizer = AutoTokenizer.from_pretrained(path)
    inputs = tokenizer(texts, truncation=True, max_length=100, padding=True, return_tensors="pt")
    model = auto_class.from_pretrained(path, dtype=torch.float32).eval()
    before = model(**inputs).logits
    fuse(model)
    layers = model.config.num_hidden_layers
    assert sum(isinstance(m, LinearGELU) for m in model.modules()) == layers
    after = model(**inputs).logits
    assert before.std() > 1e-3  # the logits vary: equality is not trivially met
    assert (after - before).abs().max().item() <= TOLERANCE


def test_other_dtypes_and_mlps_stay_unfused(tmp_path_factory, texts):
    gpt2 = AutoModelForSequenceClassification.from_pretrained(twin(tmp_path_factory, "gpt2", texts))
    assert fuse_gelu_into_matmul(gpt2.to(torch.bfloat16)) == 0
    llama = AutoModelForSequenceClassification.from_pretrained(twin(tmp_path_factory, "llama", texts))
    assert fuse_gelu_into_matmul(llama) == 0  # a gated MLP (SiLU): not a projection then a GELU
