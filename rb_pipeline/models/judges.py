"""Judges: one model call sees a prompt and two answers, A and B, and prefers one; generative judges
also run RewardBench 2's protocols (`rewardbench/generative_v2.py`, written here once): `ratings` (one
call per answer, a 1-10 rating, `rating_messages` / `parse_rating`) and `four-way` (all four answers,
A-D, in one call, `four_way_messages` / `parse_four_way`); the prompts and parsers are plain text in
`models/judge_prompts.py`. How they are credited: engine/judging.py.

- `generative` (LLM-as-a-judge, rewardbench's `scripts/run_generative.py`): the MT-Bench "pair-v2"
  system prompt and user template of `rewardbench/generative.py` (multi-turn prompts [user, assistant,
  user] get its multi-turn template), greedy decoding, and its parser (`parse_verdict`). Local models
  run with transformers (`generate`, greedy, `max_new_tokens`); with `api_base` the model is called on an
  OpenAI-compatible `/chat/completions` endpoint at temperature 0, as rewardbench calls OpenAI.
- `pairwise-judge` (PairRM-style): a sequence classifier reads both answers in one input (the same
  user template, no system prompt, through the chat template) and its score > 0 means A is better.

Inputs longer than `max_length` tokens (local models; capped by the model's context, see `context.py`)
are not judged: verdict 'error', counted in `truncated_tokens` (cutting a judge prompt would cut answer B
or the instructions). Prompts other than [user] or [user, assistant, user] (system turns, longer
histories) are written out as a transcript in the question; rewardbench does not judge those (it scores
them 0.5).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import openai
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.models.classifier import (
    classify,
    load_for_scoring,
    pad_batch,
    reward_and_vector,
    tokenize_unless_over,
)
from rb_pipeline.models.context import capped_settings
from rb_pipeline.models.judge_prompts import (
    Parser,
    format_judge_prompt,
    judge_messages,
    parse_pairwise,
)
from rb_pipeline.models.registry import Comparison, Encoded, Judgment, redact_url


def _render(tokenizer, template: str, messages: list[dict[str, str]], generation: bool) -> str:
    """The chat template over the messages; templates that refuse a system turn get it in the user's."""
    try:
        return tokenizer.apply_chat_template(
            messages, chat_template=template, tokenize=False, add_generation_prompt=generation
        )
    except Exception:  # jinja raises TemplateError via raise_exception on an unsupported role
        if messages[0]["role"] != "system":
            raise
        merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
        return tokenizer.apply_chat_template(
            merged, chat_template=template, tokenize=False, add_generation_prompt=generation
        )


def over_long_as_errors(token_ids: list[list[int] | int], max_length: int) -> tuple[list, list[int]]:
    """Inputs longer than `max_length` are not judged (a cut judge prompt loses an answer): their
    Judgment is an `error` with the overflow counted; returns the results so far and the rest's indexes.
    `token_ids` as `tokenize_unless_over` gives them (a huge input's count in place of its ids)."""
    results: list[Judgment | None] = [None] * len(token_ids)
    runnable = []
    for index, ids in enumerate(token_ids):
        n_tokens = ids if isinstance(ids, int) else len(ids)
        over = n_tokens - max_length
        if over > 0:
            results[index] = Judgment("error", None, n_tokens=n_tokens, truncated_tokens=over)
        else:
            runnable.append(index)
    return results, runnable


class LocalGenerativeJudge:
    """A causal LM that writes a judgment (greedy decoding); the verdict is parsed from its reply."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        self.entry, self.settings = entry, capped_settings(entry, settings)
        self.tokenizer, self.template, self.model, self.device = load_for_scoring(
            AutoModelForCausalLM, entry, self.settings, device
        )

    def judge(self, batch: list[Comparison]) -> list[Judgment]:
        return self.ask([judge_messages(c, self.entry.judge_prompt) for c in batch], parse_pairwise)

    @torch.inference_mode()
    def ask(self, conversations: list[list[dict[str, str]]], parse: Parser) -> list[Judgment]:
        """One greedy reply per conversation, parsed into (verdict, score)."""
        texts = [_render(self.tokenizer, self.template, messages, True) for messages in conversations]
        # the template has its own special tokens
        token_ids = tokenize_unless_over(self.tokenizer, texts, self.settings.max_length, False)
        results, runnable = over_long_as_errors(token_ids, self.settings.max_length)
        if runnable:
            pad_id = self.tokenizer.pad_token_id
            inputs = pad_batch([Encoded("", token_ids[i], 0) for i in runnable], pad_id, "left", self.device)
            output = self.model.generate(
                **inputs,
                max_new_tokens=self.entry.max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
            )
            replies = self.tokenizer.batch_decode(
                output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True
            )
            for index, reply in zip(runnable, replies, strict=True):
                verdict, score = parse(reply)
                results[index] = Judgment(verdict, reply, score, n_tokens=len(token_ids[index]))
        return results


class JudgeServerError(RuntimeError):
    """An OpenAI-compatible server could not answer."""


_INPUT_STATUS = {400, 413, 422}  # this input cannot be judged (e.g. too long): verdict 'error'


class OpenAICompatibleJudge:
    """A generative judge behind an OpenAI-compatible `/chat/completions` endpoint (vLLM, TGI, ...),
    called through the `openai` SDK: its client retries connection errors, timeouts, 408, 409, 429 and
    5xx `max_retries` times with exponential backoff (honouring the server's `Retry-After`)."""

    device = "http"

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        self.entry, self.settings = entry, settings
        base = entry.api_base.rstrip("/")
        base = base.removesuffix("/chat/completions")  # the SDK appends it
        self.where = redact_url(base + "/chat/completions")
        self.model_name = entry.api_model or entry.source or entry.id
        # Never the user's OpenAI organization or project ($OPENAI_ORG_ID, ...): this is another server.
        # Without a key, no Authorization header at all (a keyless vLLM or TGI server).
        omitted = (
            "OpenAI-Organization",
            "OpenAI-Project",
            *(() if entry.api_key_env else ("Authorization",)),
        )
        self.omitted_headers = {name: openai.Omit() for name in omitted}
        key = None
        if entry.api_key_env:
            key = os.environ.get(entry.api_key_env)
            if not key:
                raise ValueError(f"environment variable {entry.api_key_env} (api_key_env) is not set")
        self.client = openai.OpenAI(
            base_url=base,
            api_key=key or "EMPTY",  # never $OPENAI_API_KEY: that key is not this server's
            timeout=entry.request_timeout,
            max_retries=entry.max_retries,
        )

    def judge(self, batch: list[Comparison]) -> list[Judgment]:
        return self.ask([judge_messages(c, self.entry.judge_prompt) for c in batch], parse_pairwise)

    def ask(self, conversations: list[list[dict[str, str]]], parse: Parser) -> list[Judgment]:
        """One reply per conversation (batch_size requests in flight), parsed into (verdict, score)."""
        workers = max(1, min(self.settings.batch_size, len(conversations)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda messages: self._ask_one(messages, parse), conversations))

    def _ask_one(self, messages: list[dict[str, str]], parse: Parser) -> Judgment:
        try:
            reply = self.complete(messages)
        except _InputRejected as exc:
            return Judgment("error", str(exc))
        verdict, score = parse(reply)
        return Judgment(verdict, reply, score)

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The first choice's text at temperature 0 (greedy, as rewardbench calls OpenAI)."""
        attempts = f"(after {self.entry.max_retries + 1} attempts)"  # the SDK retried what it could
        try:
            completion = self.client.chat.completions.create(
                model=self.model_name,
                messages=messages,
                temperature=0,
                max_tokens=self.entry.max_new_tokens,
                n=1,
                extra_headers=self.omitted_headers,
            )
        except openai.APIStatusError as exc:
            reason = f"HTTP {exc.status_code}: {_error_detail(exc)}"
            if exc.status_code in _INPUT_STATUS:
                raise _InputRejected(reason) from None
            retried = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            raise JudgeServerError(f"{self.where}: {reason}{' ' + attempts if retried else ''}") from None
        except openai.APIConnectionError as exc:  # refused, reset, timed out (APITimeoutError)
            raise JudgeServerError(f"{self.where}: {type(exc).__name__}: {exc} {attempts}") from None
        except openai.APIError as exc:  # a reply that is not the expected JSON
            raise JudgeServerError(f"{self.where}: invalid reply: {_one_line(str(exc))}") from None
        try:
            content = completion.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise JudgeServerError(f"{self.where}: reply without choices[0].message") from None
        return content or ""


class _InputRejected(Exception):
    """The server refused this input (400, 413, 422): judged as 'error'."""


def _one_line(text: str, limit: int = 300) -> str:
    return (text.strip().splitlines() or [""])[0][:limit]


def _error_detail(exc: openai.APIStatusError) -> str:
    """The server's own message (`{"error": {"message": ...}}`), else the reply's first line."""
    body = exc.body
    if isinstance(body, dict):
        body = body.get("message", body)
    text = body if isinstance(body, str) else (exc.response.text if body is None else str(body))
    return _one_line(text) or (exc.response.reason_phrase or "")


def generative_judge(entry: ModelEntry, settings: ScorerSettings, device: str):
    """Over HTTP when the entry names an `api_base`, else a local transformers model."""
    if entry.api_base:
        return OpenAICompatibleJudge(entry, settings, device)
    return LocalGenerativeJudge(entry, settings, device)


class PairwiseClassifierJudge:
    """A sequence classifier over one input holding both answers: score > 0 -> A, < 0 -> B, 0 -> tie."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        self.entry, self.settings = entry, capped_settings(entry, settings)
        self.tokenizer, self.template, self.model, self.device = load_for_scoring(
            AutoModelForSequenceClassification, entry, self.settings, device
        )

    def input_text(self, comparison: Comparison) -> str:
        """Both answers in one input: the judge's user template through the chat template."""
        _, user = format_judge_prompt(
            comparison.prompt, comparison.answer_a, comparison.answer_b, self.entry.judge_prompt
        )
        return _render(self.tokenizer, self.template, [{"role": "user", "content": user}], False)

    @torch.inference_mode()
    def judge(self, batch: list[Comparison]) -> list[Judgment]:
        texts = [self.input_text(c) for c in batch]
        token_ids = tokenize_unless_over(self.tokenizer, texts, self.settings.max_length, True)
        results, runnable = over_long_as_errors(token_ids, self.settings.max_length)
        if runnable:
            encoded = [Encoded("", token_ids[i], 0) for i in runnable]
            inputs = pad_batch(encoded, self.tokenizer.pad_token_id, self.tokenizer.padding_side, self.device)
            scored = reward_and_vector(classify(self.model, inputs), len(runnable))
            for index, (score, _) in zip(runnable, scored, strict=True):
                verdict = "A" if score > 0 else "B" if score < 0 else "tie"
                results[index] = Judgment(verdict, None, judge_score=score, n_tokens=len(token_ids[index]))
        return results
