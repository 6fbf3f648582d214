"""A tiny ArmoRM-style multi-objective reward model (custom `PreTrainedModel`, registered with the Auto
classes on import, so no trust_remote_code): mean-pooled embeddings, a regression head with one reward per
objective, and a softmax gate mixing them into `score`. Its logits are the rewards vector, so a scorer that
read logits[:, 0] instead of `score` would get the opposite answers: objective 0 is built as minus
objective 1, and the gate puts all its weight on objective 1 (`build_multi_objective_model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.utils import ModelOutput

from rb_pipeline.models.tiny_models import train_tiny_tokenizer

N_OBJECTIVES = 3


class TinyMultiObjectiveConfig(PretrainedConfig):
    model_type = "rb-tiny-multi-objective"

    def __init__(
        self, vocab_size: int = 512, hidden_size: int = 16, n_objectives: int = N_OBJECTIVES, **kwargs
    ):
        self.vocab_size, self.hidden_size, self.n_objectives = vocab_size, hidden_size, n_objectives
        super().__init__(**kwargs)


@dataclass
class MultiObjectiveOutput(ModelOutput):
    """ArmoRM's output fields: per-objective rewards, the gate, and the gated scalar score."""

    logits: torch.FloatTensor | None = None
    rewards: torch.FloatTensor | None = None
    gating_output: torch.FloatTensor | None = None
    score: torch.FloatTensor | None = None


class TinyMultiObjectiveModel(PreTrainedModel):
    config_class = TinyMultiObjectiveConfig
    base_model_prefix = "multi_objective"

    def __init__(self, config: TinyMultiObjectiveConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.regression = nn.Linear(config.hidden_size, config.n_objectives, bias=False)
        self.gating = nn.Linear(config.hidden_size, config.n_objectives)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        pass  # weights are set by `build` (and loaded from the checkpoint)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        rewards = self.regression(pooled)
        gates = torch.softmax(self.gating(pooled), dim=-1)
        score = (gates * rewards).sum(-1, keepdim=True)
        return MultiObjectiveOutput(logits=rewards, rewards=rewards, gating_output=gates, score=score)


AutoConfig.register(TinyMultiObjectiveConfig.model_type, TinyMultiObjectiveConfig, exist_ok=True)
AutoModel.register(TinyMultiObjectiveConfig, TinyMultiObjectiveModel, exist_ok=True)
AutoModelForSequenceClassification.register(TinyMultiObjectiveConfig, TinyMultiObjectiveModel, exist_ok=True)


def build_multi_objective_model(path: Path) -> Path:
    """Save the tiny multi-objective model (fixed weights, seed 7) and a tokenizer to `path`."""
    tokenizer = train_tiny_tokenizer([])
    config = TinyMultiObjectiveConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = TinyMultiObjectiveModel(config).eval()
        with torch.no_grad():
            model.embed.weight.normal_()
            model.regression.weight.normal_()
            model.regression.weight[0] = -model.regression.weight[1]  # objective 0 = - objective 1
            model.gating.weight.zero_()
            model.gating.bias.copy_(torch.tensor([-30.0, 30.0, -30.0]))  # the gate picks objective 1
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
