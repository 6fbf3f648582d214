"""DPO models (`AutoModelForCausalLM`): the implicit reward, as rewardbench's `DPOInference` computes it.

Per response, `log p(response | prompt)` is the sum over response positions t of
`log_softmax(logits[t - 1])[token t]`; the prompt's tokens are masked.

- With a reference model (`entry.ref_model`): reward = Σ log p_policy − Σ log p_ref (beta only scales
  it, so it is not applied). The policy's tokenizer is used for both models, as rewardbench does.
- Reference-free, by `settings.ref_free_type`: `sum` = Σ log p, `avg` = Σ log p / n_response_tokens,
  `norm` = −‖per-token log p‖₂ (rewardbench's `-torch.norm(per_token_logps * loss_mask, p=2)`).

Which tokens are the response's, by `settings.dpo_tokens`:
- `rewardbench` (default, rewardbench 0.1.4's `tokenize_row` exactly): the prompt is the chat template
  over the prompt alone *without* the generation prompt, so the assistant header counts as response;
  the response text is the full rendering with the prompt text removed, tokenized after the prompt
  (`build_tokenized_answer`, one token back where the two merge); a BOS token (the EOS token when the
  tokenizer has none) is always put first, and an EOS is appended to the response.
- `clean`: the prompt is rendered with the generation prompt (the header is prompt), no BOS is added
  when the template renders one, and no EOS is appended after the template's own end of turn.

Truncation follows rewardbench's `tokenize_row` (`truncation_mode="keep_end"`), at `max_length`
capped by both models' context (`models.context`): when prompt + response exceed `max_length`, the
prompt keeps its last `min(128, max_length // 2)` tokens; if still too long, the response keeps its
first `max_length - that` tokens. (rewardbench decides this on the
longer response of a chosen/rejected pair; here each response is scored alone, so it is decided per
response: the one place where truncated inputs can differ.) A message too long for `max_length x
classifier.CHARS_PER_TOKEN_BOUND` characters is never tokenized whole (`DPOScorer._bounded`): it is cut
to the side that is kept first and the rest's tokens are counted in chunks, with the same result.

Shared prompts (`ScorerSettings.shared_prompts`, causal architectures:
`classifier.continues_from_cache`): responses of one example whose kept prompt tokens are the same run
those tokens (but the last, whose logits predict the response's first token) once per batch and
continue from the cached keys and values (`classifier.forward_continued`); the log-likelihoods are
the whole sequence's up to float rounding. Off by default (see `ScorerSettings.shared_prompts`).

The score vector is `[policy Σ log p, reference Σ log p (NaN without one), n_response_tokens]`.
Batches are right-padded with an attention mask and only real response positions are gathered, so
padding cannot change a score.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter

import torch
from transformers import AutoModelForCausalLM

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.models.classifier import (
    CHARS_PER_TOKEN_BOUND,
    continues_from_cache,
    count_tokens,
    forward_continued,
    kept_window,
    load_for_scoring,
    load_weights,
    pad_batch,
    torch_dtype,
    without_cache,
)
from rb_pipeline.models.context import capped_settings, ref_location
from rb_pipeline.models.registry import Encoded

REF_FREE_TYPES = ("sum", "avg", "norm")
DPO_TOKENS = ("rewardbench", "clean")
MAX_PROMPT_KEEP = 128  # rewardbench DPOInference.max_prompt_length
POSITION_CHUNK = 1024  # response positions per log-softmax (bounds the float32 copy of the logits)


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix (where the prompt's tokens end inside the full sequence)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def truncate_pair(
    prompt: list[int], response: list[int], max_length: int
) -> tuple[list[int], list[int], int]:
    """rewardbench's DPO truncation: cut the prompt to its end, then the response's tail; count the cuts."""
    if len(prompt) + len(response) <= max_length:
        return prompt, response, 0
    keep = min(MAX_PROMPT_KEEP, max_length // 2)
    kept_prompt = prompt[max(len(prompt) - keep, 0) :]
    kept_response = response
    if len(kept_prompt) + len(response) > max_length:
        kept_response = response[: max_length - keep]
    cut = len(prompt) - len(kept_prompt) + len(response) - len(kept_response)
    return kept_prompt, kept_response, cut


def _keep_logits_arg(model) -> str | None:
    """The forward argument that limits the logits to the last k positions, if the model has one."""
    parameters = inspect.signature(model.forward).parameters
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if name in parameters:
            return name
    return None


class DPOScorer:
    """Implicit DPO reward (policy − reference log-likelihood of the response), or reference-free."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        self.entry, self.settings = entry, capped_settings(entry, settings)  # policy's and ref's context
        settings = self.settings
        if entry.ref_model is None and settings.ref_free_type not in REF_FREE_TYPES:
            raise ValueError(f"unknown ref_free_type {settings.ref_free_type!r} (known: {REF_FREE_TYPES})")
        if settings.dpo_tokens not in DPO_TOKENS:
            raise ValueError(f"unknown dpo_tokens {settings.dpo_tokens!r} (known: {DPO_TOKENS})")
        if settings.max_length < 2:
            raise ValueError(f"max_length must be at least 2, got {settings.max_length}")
        self.tokenizer, self.template, self.policy, self.device = load_for_scoring(
            AutoModelForCausalLM, entry, settings, device
        )
        bos = self.tokenizer.bos_token_id
        self.bos_id = bos if bos is not None else self.tokenizer.eos_token_id
        dtype = torch_dtype(settings.dtype, device)
        self.ref = None
        if entry.ref_model is not None:
            location, revision = ref_location(entry.ref_model)
            self.ref = load_weights(
                AutoModelForCausalLM, location, revision, entry, dtype, device, settings.attn_implementation
            )
        models = [self.policy] if self.ref is None else [self.policy, self.ref]
        self.shares_prompts = (
            settings.shared_prompts
            and not entry.device_map
            and all(continues_from_cache(model) for model in models)
        )

    def encode(self, prompts: list, texts: list[str], ids: list[str]) -> list[Encoded]:
        if not texts:
            return []
        prompts, texts, dropped = self._bounded(prompts, texts)
        conversations = [
            [*prompt, {"role": "assistant", "content": text}]
            for prompt, text in zip(prompts, texts, strict=True)
        ]
        full_texts = self.tokenizer.apply_chat_template(
            conversations, chat_template=self.template, tokenize=False
        )
        generation_prompt = self.settings.dpo_tokens == "clean"
        prompt_texts = self.tokenizer.apply_chat_template(
            prompts, chat_template=self.template, tokenize=False, add_generation_prompt=generation_prompt
        )
        split_pairs = (
            self._clean_split(full_texts, prompt_texts)
            if generation_prompt
            else self._rewardbench_split(full_texts, prompt_texts)
        )
        encoded = []
        for response_id, (prompt, response), more in zip(ids, split_pairs, dropped, strict=True):
            kept_prompt, kept_response, cut = truncate_pair(prompt, response, self.settings.max_length)
            encoded.append(
                Encoded(
                    response_id, kept_prompt + kept_response, cut + more, {"prompt_length": len(kept_prompt)}
                )
            )
        if self.shares_prompts:
            mark_shared_prompts(encoded)
        return encoded

    def _bounded(self, prompts: list, texts: list[str]) -> tuple[list[list], list[str], list[int]]:
        """The conversations with each text too long for `max_length x CHARS_PER_TOKEN_BOUND` characters
        cut to the side truncation keeps (`kept_window`: a prompt message's end, the response's start),
        and per response the tokens cut off that way (counted in chunks, `count_tokens`): a huge text is
        never tokenized whole. What is cut holds more tokens than truncation keeps, so the kept tokens
        and the decision to truncate are the whole text's."""
        max_length = self.settings.max_length

        def bounded(text: object, keep_start: bool) -> tuple[object, int]:
            if not isinstance(text, str) or len(text) <= max_length * CHARS_PER_TOKEN_BOUND:
                return text, 0
            part = kept_window(self.tokenizer, text, max_length, keep_start)
            rest = text[len(part) :] if keep_start else text[: len(text) - len(part)]
            return part, count_tokens(self.tokenizer, rest, add_special_tokens=False) if rest else 0

        new_prompts, new_texts, dropped = [], [], []
        for prompt, text in zip(prompts, texts, strict=True):
            messages, cut = [], 0
            for message in prompt:
                content, more = bounded(message.get("content"), keep_start=False)
                messages.append(
                    message if content is message.get("content") else {**message, "content": content}
                )
                cut += more
            text, more = bounded(text, keep_start=True)
            new_prompts.append(messages)
            new_texts.append(text)
            dropped.append(cut + more)
        return new_prompts, new_texts, dropped

    def _clean_split(self, full_texts: list[str], prompt_texts: list[str]) -> list[tuple[list, list]]:
        full_ids = self.tokenizer(full_texts, add_special_tokens=False)["input_ids"]
        prompt_ids = self.tokenizer(prompt_texts, add_special_tokens=False)["input_ids"]
        pairs = []
        for full, prompt in zip(full_ids, prompt_ids, strict=True):
            if self.bos_id is not None and (not full or full[0] != self.bos_id):
                full, prompt = [self.bos_id, *full], [self.bos_id, *prompt]
            split = common_prefix(full, prompt)
            pairs.append((full[:split], full[split:]))
        return pairs

    def _rewardbench_split(self, full_texts: list[str], prompt_texts: list[str]) -> list[tuple[list, list]]:
        """rewardbench's `tokenize_row` + `build_tokenized_answer`, for one response at a time."""
        answers = [full.replace(prompt, "") for full, prompt in zip(full_texts, prompt_texts, strict=True)]
        joined = [prompt + answer for prompt, answer in zip(prompt_texts, answers, strict=True)]
        full_ids = self.tokenizer(joined, add_special_tokens=False)["input_ids"]
        prompt_ids = self.tokenizer(prompt_texts, add_special_tokens=False)["input_ids"]
        pairs = []
        for full, prompt in zip(full_ids, prompt_ids, strict=True):
            start = len(prompt) if full[: len(prompt)] == prompt else len(prompt) - 1  # tokens merged
            pairs.append(([self.bos_id, *full[:start]], [*full[start:], self.tokenizer.eos_token_id]))
        return pairs

    def _response_logps(self, model, batch: list[Encoded]) -> list:
        """Per-token log p of each item's response tokens (float32, on the model's device): whole
        sequences, or continued from their shared prompt (`Encoded.prefix_length`), never mixed."""
        starts = [max(item.extra["prompt_length"], 1) for item in batch]
        if batch[0].prefix_length:
            logits = forward_continued(model, batch, self.tokenizer.pad_token_id, self.device).logits
            offsets = [item.prefix_length for item in batch]  # logits[j] is position prefix + j
        else:
            inputs = pad_batch(batch, self.tokenizer.pad_token_id, "right", self.device)
            width = inputs["input_ids"].shape[1]
            kwargs = {}
            keep_arg = _keep_logits_arg(model)
            offset = 0
            if keep_arg is not None:  # the prompt's logits are never used: skip computing them
                offset = min(starts) - 1
                kwargs[keep_arg] = width - offset
            logits = model(**inputs, **kwargs, **without_cache(model)).logits
            offsets = [offset] * len(batch)
        out = []
        for row, (item, start, offset) in enumerate(zip(batch, starts, offsets, strict=True)):
            n = len(item.input_ids)
            positions = torch.arange(start - 1, n - 1, device=logits.device)
            targets = torch.tensor(item.input_ids[start:n], dtype=torch.long, device=logits.device)
            parts = [
                logits[row, pos - offset].float().log_softmax(-1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
                for pos, tgt in zip(
                    positions.split(POSITION_CHUNK), targets.split(POSITION_CHUNK), strict=True
                )
            ]
            out.append(torch.cat(parts) if parts else logits.new_zeros(0, dtype=torch.float32))
        return out

    @torch.inference_mode()
    def score(self, batch: list[Encoded]) -> list[tuple[float, list[float] | None]]:
        parts = [
            [index for index, item in enumerate(batch) if bool(item.prefix_length) == shared]
            for shared in (False, True)
        ]
        results: list = [None] * len(batch)
        for indices in parts:
            if indices:
                items = [batch[index] for index in indices]
                for index, result in zip(indices, self._rewards(items), strict=True):
                    results[index] = result
        return results

    def _rewards(self, batch: list[Encoded]) -> list[tuple[float, list[float]]]:
        policy = self._response_logps(self.policy, batch)
        ref = self._response_logps(self.ref, batch) if self.ref is not None else None
        results = []
        for index, logps in enumerate(policy):
            n = int(logps.numel())
            policy_sum = float(logps.double().sum())
            ref_sum = float(ref[index].double().sum()) if ref is not None else math.nan
            if ref is not None:
                reward = policy_sum - ref_sum
            elif self.settings.ref_free_type == "sum":
                reward = policy_sum
            elif self.settings.ref_free_type == "avg":
                reward = policy_sum / max(n, 1)
            else:  # norm
                reward = -float(logps.double().norm(p=2))
            results.append((reward, [policy_sum, ref_sum, float(n)]))
        return results


def mark_shared_prompts(encoded: list[Encoded]) -> None:
    """Set `prefix_length` (the kept prompt but its last token) on each response whose kept prompt
    tokens another response of the batch has too: the prompt of an example is its tokens, so equal
    tokens are the only condition (truncation keeps a prompt's end, which may differ per response)."""

    def prefix(item: Encoded) -> tuple[int, ...]:
        return tuple(item.input_ids[: item.extra["prompt_length"] - 1])

    fits = [item.extra["prompt_length"] >= 2 for item in encoded]
    shared = Counter(prefix(item) for item, fit in zip(encoded, fits, strict=True) if fit)
    for item, fit in zip(encoded, fits, strict=True):
        if fit and shared[prefix(item)] > 1:
            item.extra["prefix_length"] = item.extra["prompt_length"] - 1
