"""Process reward models (type `prm`): a score for every step of a solution, read at the tag the
entry's `prm` block names (`catalog.steps.PrmHead`) after each step.

- `token-classification` (Qwen2.5-Math-PRM: `<extra_0>` after each step, a two-class head): the
  softmax over the head's classes at each tag, the `good_label` column (`AutoModelForTokenClassification`;
  a checkpoint with its own head class loads through its custom code, `trust_remote_code`).
- `causal-lm` (Math-Shepherd: `ки` with `+`/`-`): the softmax over the LM's logits of `good_token` and
  `bad_token` at each tag, the good one. (RLHFlow's PRMs read the same two tokens, but after each step
  as a user turn with `+` as the assistant's reply: a multi-turn layout not built here.)

The solution (`core.steps.text_steps` of the response text) is written as each step followed by the tag
(or by `after_step`, which holds it: Math-Shepherd's ` ки\n`),
inside the chat template as the assistant turn (`template: chat`), or after the question's text and a
newline (`template: plain`); the whole text is tokenized once, as upstream does, and the tags are found
among its token ids: the last `n_steps` of them (a tag in the question comes before the steps). A step
whose tag was cut by `max_length` gets no score (null in the vector). Batches are padded on the right,
so a step's score never depends on its batch. The row's scalar score is the lowest step score (the usual
solution-level reading of a PRM); the step scores are its `score_vector`, one per step, in order.
"""

from __future__ import annotations

import math

import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForTokenClassification

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.steps import text_steps
from rb_pipeline.models.classifier import (
    input_device,
    load_tokenizer,
    load_weights,
    pad_batch,
    tokenize_truncated,
    torch_dtype,
)
from rb_pipeline.models.context import capped_settings
from rb_pipeline.models.registry import Encoded
from rb_pipeline.models.templates import resolve_template


def head_class(entry: ModelEntry):
    """The transformers auto class of the entry's head. A checkpoint with its own head class behind
    `AutoModel` only (Qwen2.5-Math-PRM's Qwen2ForProcessRewardModel, custom code) loads through it; its
    output's first element is the per-token logits."""
    assert entry.prm is not None
    if entry.prm.head == "causal-lm":
        return AutoModelForCausalLM
    if entry.trust_remote_code:
        config = AutoConfig.from_pretrained(entry.location, revision=entry.revision, trust_remote_code=True)
        auto_map = getattr(config, "auto_map", None) or {}
        if "AutoModelForTokenClassification" not in auto_map and "AutoModel" in auto_map:
            return AutoModel
    return AutoModelForTokenClassification


def single_token(tokenizer, text: str, what: str) -> int:
    """The id of `text`, which must be one token of the tokenizer (else the tags cannot be found)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"prm.{what}: {text!r} is {len(ids)} tokens of this tokenizer, not one")
    return ids[0]


def solution_text(
    prompt: list[dict[str, str]], steps: list[str], after_step: str, tokenizer, template
) -> str:
    """The text a PRM reads: every step followed by `after_step` (which holds the tag), as the
    assistant's turn of the chat template (`template` a Jinja string) or after the question and a
    newline (`template` None)."""
    body = "".join(step + after_step for step in steps)
    if template is None:
        return prompt[-1]["content"] + "\n" + body
    conversation = [*prompt, {"role": "assistant", "content": body}]
    return tokenizer.apply_chat_template(conversation, chat_template=template, tokenize=False)


def step_probabilities(logits: torch.Tensor, head, good: tuple[int, ...]) -> torch.Tensor:
    """p(good) at each tag position from the logits there ([positions, classes or vocabulary]):
    token-classification: softmax over the classes, column good[0]; causal-lm: softmax over the two
    tokens (good, bad), the first."""
    if head == "token-classification":
        return torch.softmax(logits.float(), dim=-1)[:, good[0]]
    return torch.softmax(logits[:, list(good)].float(), dim=-1)[:, 0]


class ProcessRewardScorer:
    """Step scores of a process reward model (see the module's docstring)."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        if entry.prm is None:
            raise ValueError("a prm entry needs its `prm` block (head, step_tag)")
        self.head = entry.prm
        self.settings = capped_settings(entry, settings)
        self.tokenizer = load_tokenizer(entry)
        self.template = (
            resolve_template(self.settings.chat_template, self.tokenizer.chat_template)
            if self.head.template == "chat"
            else None
        )
        dtype = torch_dtype(self.settings.dtype, device)
        self.model = load_weights(head_class(entry), entry.location, entry.revision, entry, dtype, device)
        self.device = input_device(self.model, entry, device)
        self.tag_id = single_token(self.tokenizer, self.head.step_tag, "step_tag")
        if self.head.head == "causal-lm":
            self.reads = (
                single_token(self.tokenizer, self.head.good_token, "good_token"),
                single_token(self.tokenizer, self.head.bad_token, "bad_token"),
            )
        else:
            self.reads = (self.head.good_label,)

    def encode(self, prompts: list, texts: list[str], ids: list[str]) -> list[Encoded]:
        solutions = [text_steps(text) for text in texts]
        rendered = [
            solution_text(
                prompt, steps, self.head.after_step or self.head.step_tag, self.tokenizer, self.template
            )
            for prompt, steps in zip(prompts, solutions, strict=True)
        ]
        tokenized = tokenize_truncated(self.tokenizer, rendered, self.settings.max_length)
        return [
            Encoded(response_id, kept, cut, extra={"n_steps": len(steps)})
            for response_id, (kept, cut), steps in zip(ids, tokenized, solutions, strict=True)
        ]

    @torch.inference_mode()
    def score(self, batch: list[Encoded]) -> list[tuple[float, list[float | None]]]:
        pad_id = self.tokenizer.pad_token_id
        inputs = pad_batch(batch, pad_id, "right", self.device)
        output = self.model(**inputs)
        logits = output.logits if hasattr(output, "logits") else output[0]
        results = []
        for row, item in enumerate(batch):
            n_steps = item.extra["n_steps"]
            ids = torch.tensor(item.input_ids)
            positions = (ids == self.tag_id).nonzero().flatten()[-n_steps:].tolist()
            # tags cut by max_length: the last steps have no position
            found = len(positions) if len(positions) < n_steps else n_steps
            probabilities = step_probabilities(logits[row, positions], self.head.head, self.reads).tolist()
            vector: list[float | None] = [*probabilities[:found], *([None] * (n_steps - found))]
            scored = [p for p in vector if p is not None]
            results.append((min(scored) if scored else math.nan, vector))
        return results
