"""Sequence classifiers (`AutoModelForSequenceClassification`): the reward is the first logit, or
the output's `score` for multi-objective heads (ArmoRM-style; their `rewards` vector is kept too).

The text is the chat template over [prompt..., assistant: response], tokenized with special tokens as
rewardbench's pipeline does, truncated at `max_length` (capped by the model's own context, see
`models.context`) by the tokenizer itself: on its truncation side, keeping its special tokens.
Batches are padded on the tokenizer's padding side with an attention mask, so padding cannot change a
score.

Shared prompts (causal models, `ScorerSettings.shared_prompts`): the responses of one example start
with the same templated prompt, so its tokens run once and each response continues from the cached
keys and values (`forward_continued`). Only where the prompt's own tokens are an exact prefix of the
full sequence's tokens as kept after truncation (a template or a BPE merge at the boundary, or a cut
into the prompt, can break that); every other response is scored whole. A causal model's hidden state at a position depends only on the
tokens before it, so the score is the full sequence's up to float rounding. Off by default: on RMB it
padded more than it saved (bench/README.md).
"""

from __future__ import annotations

import inspect
import json
from collections import Counter

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.paths import encode_model_id, rb_home
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.models.context import capped_settings
from rb_pipeline.models.fusion import fuse
from rb_pipeline.models.last_token import last_block_at, pooled_positions, runs_last_block_at_pooled_token
from rb_pipeline.models.registry import Encoded
from rb_pipeline.models.templates import resolve_template

# decoder architectures whose forward continues from `past_key_values` with explicit `position_ids`
# (each checked against the full sequence by tests/models/test_shared_prompt.py); the rest are scored whole
CAUSAL_MODEL_TYPES = frozenset({"gpt2", "gpt_neox", "llama", "mistral", "gemma2", "qwen2"})
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def torch_dtype(name: str, device: str) -> torch.dtype:
    """`auto` is bf16 on a GPU that supports it, else float32."""
    if name != "auto":
        return DTYPES[name]
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_weights(
    auto_class,
    location: str,
    revision: str,
    entry: ModelEntry,
    dtype: torch.dtype,
    device: str,
    attn_implementation: str = "auto",
):
    """`auto_class.from_pretrained` in eval mode, on `device`, or sharded by the entry's `device_map`
    ("auto": over every visible GPU, layer by layer; inputs then go to the first shard's device), with
    the attention kernel `attn_implementation` (auto: the one transformers picks for the model)."""
    sharded: dict = {"device_map": entry.device_map} if entry.device_map else {}
    kernel = {} if attn_implementation == "auto" else {"attn_implementation": attn_implementation}
    if isinstance(entry.device_map, dict) and "disk" in entry.device_map.values():
        sharded["offload_folder"] = str(rb_home() / "offload" / encode_model_id(entry.id))
    # a tensor whose shape differs from the config's is refused here, naming it: transformers' own
    # refusal says only "look at the above report!", a report logged where the user may not see it
    model, info = auto_class.from_pretrained(
        location,
        revision=revision,
        dtype=dtype,
        trust_remote_code=entry.trust_remote_code,
        ignore_mismatched_sizes=True,
        output_loading_info=True,
        **sharded,
        **kernel,
    )
    mismatched = sorted(info["mismatched_keys"])
    if mismatched:
        key, saved, expected = mismatched[0]
        more = f" (and {len(mismatched) - 1} more tensors)" if len(mismatched) > 1 else ""
        raise ValueError(
            f"its weights do not fit its config.json: {key} has shape {list(saved)} in the weights but"
            f" {list(expected)} in the model the config describes{more}; config.json and the weights"
            " come from different models"
        )
    if not sharded:
        model = model.to(device)
    fuse(model)
    return model.eval()


def input_device(model, entry: ModelEntry, device: str) -> str:
    """Where a batch goes: `device`, or the first shard's device for a model placed by a device map."""
    return str(model.device) if entry.device_map else device


def load_for_scoring(auto_class, entry: ModelEntry, settings: ScorerSettings, device: str):
    """The entry's tokenizer, its chat template, the model (`load_weights`) and the device batches go to.
    A sequence classifier without a pad token id takes the tokenizer's (eos, see `load_tokenizer`).
    The settings' padding side replaces the tokenizer's (what scorers padding on the tokenizer's side
    use: classifiers, pairwise judges; the others pad where their reading needs it)."""
    tokenizer = load_tokenizer(entry)
    if settings.padding_side != "tokenizer":
        tokenizer.padding_side = settings.padding_side
    template = resolve_template(settings.chat_template, tokenizer.chat_template)
    dtype = torch_dtype(settings.dtype, device)
    model = load_weights(
        auto_class, entry.location, entry.revision, entry, dtype, device, settings.attn_implementation
    )
    if auto_class is AutoModelForSequenceClassification and model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer, template, model, input_device(model, entry, device)


def load_tokenizer(entry: ModelEntry):
    """The model's tokenizer, with the pad token falling back to eos (as rewardbench does)."""
    tokenizer = AutoTokenizer.from_pretrained(
        entry.location, revision=entry.revision, trust_remote_code=entry.trust_remote_code
    )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


# a token of a real text rarely spans more characters than this: a window of max_length x this many
# characters holds max_length tokens (the window grows when it does not)
CHARS_PER_TOKEN_BOUND = 64
# tokens past the kept ones that the window must also hold, so a word cut at its edge changes none of them
WINDOW_MARGIN_TOKENS = 64
COUNT_CHUNK_CHARS = 1 << 20  # a huge text is counted in chunks this long, never tokenized whole


def tokenize_truncated(tokenizer, texts: list[str], max_length: int) -> list[tuple[list[int], int]]:
    """Token ids (with special tokens) of each text, cut to `max_length` by the tokenizer's own
    truncation (its side; a [SEP] or EOS it adds is kept, as rewardbench's pipeline keeps it), and how
    many tokens were cut. Only over-long texts are tokenized a second time; a text too long for
    `max_length x CHARS_PER_TOKEN_BOUND` characters is never tokenized whole (`truncate_long_text`)."""
    window = max_length * CHARS_PER_TOKEN_BOUND
    short = [index for index, text in enumerate(texts) if len(text) <= window]
    results: list[tuple[list[int], int]] = [([], 0)] * len(texts)
    token_ids = tokenizer([texts[i] for i in short], add_special_tokens=True)["input_ids"] if short else []
    over = [(index, ids) for index, ids in zip(short, token_ids, strict=True) if len(ids) > max_length]
    for index, ids in zip(short, token_ids, strict=True):
        results[index] = (ids, 0)
    if over:
        cut = tokenizer(
            [texts[i] for i, _ in over], add_special_tokens=True, truncation=True, max_length=max_length
        )["input_ids"]
        for (index, full), ids in zip(over, cut, strict=True):
            results[index] = (ids, len(full) - len(ids))  # the full list is freed: only what is kept stays
    for index, text in enumerate(texts):
        if len(text) > window:
            kept = truncate_long_text(tokenizer, text, max_length)
            results[index] = (kept, max(count_tokens(tokenizer, text) - len(kept), 0))
    return results


def truncate_long_text(tokenizer, text: str, max_length: int) -> list[int]:
    """`tokenizer(text, truncation=True, max_length=max_length)` of a huge text, tokenizing only the
    side that is kept (`kept_window`)."""
    part = kept_window(tokenizer, text, max_length, keep_start=tokenizer.truncation_side != "left")
    return tokenizer(part, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]


def kept_window(tokenizer, text: str, max_length: int, keep_start: bool) -> str:
    """The part of a huge text that truncation to `max_length` tokens can keep: a prefix (or a suffix)
    holding max_length tokens and `WINDOW_MARGIN_TOKENS` more, so the cut at its edge falls among tokens
    dropped anyway; the window starts at `max_length x CHARS_PER_TOKEN_BOUND` characters and doubles
    while it holds too few. It ends (starts) at a space where it can, as `count_tokens`' chunks do, so
    the rest's tokens counted apart add up to the whole text's."""
    size = max_length * CHARS_PER_TOKEN_BOUND
    while size < len(text):
        if keep_start:
            space = text.rfind(" ", size // 2, size)
            part = text[: space if space > 0 else size]
        else:
            space = text.find(" ", len(text) - size, len(text) - size // 2)
            part = text[space if space >= 0 else len(text) - size :]
        if len(tokenizer(part, add_special_tokens=True)["input_ids"]) > max_length + WINDOW_MARGIN_TOKENS:
            return part
        size *= 2
    return text


def count_tokens(tokenizer, text: str, add_special_tokens: bool = True) -> int:
    """How many tokens `text` has, counted in chunks of about
    `COUNT_CHUNK_CHARS` that start at a space, so memory stays bounded. A merge across a chunk's start
    can differ from the whole text's, so for a huge text the count is within a token per chunk."""
    total = tokenizer.num_special_tokens_to_add(pair=False) if add_special_tokens else 0
    start = 0
    while start < len(text):
        end = min(start + COUNT_CHUNK_CHARS, len(text))
        if end < len(text):
            space = text.rfind(" ", start + COUNT_CHUNK_CHARS // 2, end)
            end = space if space > start else end
        total += len(tokenizer(text[start:end], add_special_tokens=False)["input_ids"])
        start = end
    return total


def tokenize_unless_over(
    tokenizer, texts: list[str], max_length: int, add_special_tokens: bool
) -> list[list[int] | int]:
    """Token ids of each text; a text too long for `max_length x CHARS_PER_TOKEN_BOUND` characters
    whose (chunked) count is over `max_length` gets that count instead, never tokenized whole."""
    window = max_length * CHARS_PER_TOKEN_BOUND
    counts = [count_tokens(tokenizer, t, add_special_tokens) if len(t) > window else 0 for t in texts]
    kept = [index for index, count in enumerate(counts) if count <= max_length]
    results: list[list[int] | int] = list(counts)
    if kept:
        token_ids = tokenizer([texts[i] for i in kept], add_special_tokens=add_special_tokens)["input_ids"]
        for index, ids in zip(kept, token_ids, strict=True):
            results[index] = ids
    return results


def pad_batch(batch: list[Encoded], pad_id: int, side: str, device: str) -> dict[str, torch.Tensor]:
    """Pad to the batch's longest member; build the attention mask."""
    width = max(len(item.input_ids) for item in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, item in enumerate(batch):
        n = len(item.input_ids)
        span = slice(width - n, width) if side == "left" else slice(0, n)
        ids[row, span] = torch.tensor(item.input_ids, dtype=torch.long)
        mask[row, span] = 1
    pin = device.startswith("cuda")
    if pin:
        ids, mask = ids.pin_memory(), mask.pin_memory()
    return {
        "input_ids": ids.to(device, non_blocking=pin),
        "attention_mask": mask.to(device, non_blocking=pin),
    }


class ClassifierScorer:
    """Reward = logits[:, 0] of a sequence classifier, or its `score` (see `reward_and_vector`)."""

    def __init__(self, entry: ModelEntry, settings: ScorerSettings, device: str) -> None:
        self.entry, self.settings = entry, capped_settings(entry, settings)
        self.tokenizer, self.template, self.model, self.device = load_for_scoring(
            AutoModelForSequenceClassification, entry, self.settings, device
        )

        self.shares_prompts = shares_prompts(self.model, self.tokenizer, self.settings, entry)

    def encode(self, prompts: list, texts: list[str], ids: list[str]) -> list[Encoded]:
        conversations = [
            [*prompt, {"role": "assistant", "content": text}]
            for prompt, text in zip(prompts, texts, strict=True)
        ]
        rendered = self.tokenizer.apply_chat_template(
            conversations, chat_template=self.template, tokenize=False
        )
        tokenized = tokenize_truncated(self.tokenizer, rendered, self.settings.max_length)
        encoded = [
            Encoded(response_id, kept, cut) for response_id, (kept, cut) in zip(ids, tokenized, strict=True)
        ]
        if self.shares_prompts:
            mark_shared_prompts(encoded, prompts, self.tokenizer, self.template)
        return encoded

    @torch.inference_mode()
    def score(self, batch: list[Encoded]) -> list[tuple[float, list[float] | None]]:
        shared = [index for index, item in enumerate(batch) if item.prefix_length]
        whole = [index for index, item in enumerate(batch) if not item.prefix_length]
        results: list = [None] * len(batch)
        if whole:
            items = [batch[index] for index in whole]
            inputs = pad_batch(items, self.tokenizer.pad_token_id, self.tokenizer.padding_side, self.device)
            output = classify(self.model, inputs)
            for index, result in zip(whole, reward_and_vector(output, len(items)), strict=True):
                results[index] = result
        if shared:
            items = [batch[index] for index in shared]
            output = forward_continued(self.model, items, self.tokenizer.pad_token_id, self.device)
            for index, result in zip(shared, reward_and_vector(output, len(items)), strict=True):
                results[index] = result
        return results


def shares_prompts(model, tokenizer, settings: ScorerSettings, entry: ModelEntry) -> bool:
    """Whether this classifier continues responses from their prompt's cache: a causal architecture
    (`CAUSAL_MODEL_TYPES`) on one device, pooling at the last token that is not the tokenizer's pad
    (the head finds it in the response part alone, so both must agree on the pad id)."""
    return (
        settings.shared_prompts
        and continues_from_cache(model)
        and not entry.device_map
        and model.config.pad_token_id is not None
        and model.config.pad_token_id == tokenizer.pad_token_id
    )


def continues_from_cache(model) -> bool:
    """A transformers class of a causal architecture (`CAUSAL_MODEL_TYPES`). Custom code is never
    trusted to continue: an ArmoRM-style head (model_type "llama") reads its gating token from the
    prompt's ids, which a continuation does not pass."""
    return model.config.model_type in CAUSAL_MODEL_TYPES and type(model).__module__.startswith(
        "transformers."
    )


def mark_shared_prompts(encoded: list[Encoded], prompts: list, tokenizer, template: str | None) -> None:
    """Set `prefix_length` on each response whose templated prompt's tokens are an exact prefix of its
    own tokens (as kept: a response cut at the right keeps its prompt), with at least one non-pad token
    after it, and that has another such response with the same prompt (a prompt run for one response
    saves nothing). Whatever the template or the tokenizer did, the check is on the very tokens the
    whole sequence would run, so a continued score is the whole sequence's."""
    keys = [json.dumps(prompt, sort_keys=True) for prompt in prompts]
    distinct = dict.fromkeys(keys)
    rendered = [
        tokenizer.apply_chat_template(json.loads(key), chat_template=template, tokenize=False)
        for key in distinct
    ]
    prompt_ids = dict(zip(distinct, tokenizer(rendered, add_special_tokens=True)["input_ids"], strict=True))
    pad = tokenizer.pad_token_id
    fits = []
    for item, key in zip(encoded, keys, strict=True):
        ids, prefix = item.input_ids, prompt_ids[key]
        fits.append(
            0 < len(prefix) < len(ids)
            and ids[: len(prefix)] == prefix
            and any(token != pad for token in ids[len(prefix) :])
        )
    shared = Counter(key for key, fit in zip(keys, fits, strict=True) if fit)
    for item, key, fit in zip(encoded, keys, fits, strict=True):
        if fit and shared[key] > 1:
            item.extra["prefix_length"] = len(prompt_ids[key])


def forward_continued(model, batch: list[Encoded], pad_id: int, device: str):
    """The model's output for a batch of responses with shared prompts (`Encoded.prefix_length`), on
    their tokens after the prefix (a classifier's pooled score; a causal LM's logits from there on):
    each distinct prompt runs once (left-padded, so no gap lies between a prompt and its response), its
    keys and values are copied to each of its responses, which continue at the prompt's positions
    (right-padded: the head's last non-pad token is the sequence's last)."""
    prefixes: dict[tuple[int, ...], int] = {}
    for item in batch:
        prefixes.setdefault(item.group(), len(prefixes))
    prefix_items = [Encoded("", list(prefix), 0) for prefix in prefixes]
    prefix_inputs = pad_batch(prefix_items, pad_id, "left", device)
    prefix_mask = prefix_inputs["attention_mask"]
    prefix_positions = (prefix_mask.cumsum(-1) - 1).clamp(min=0)
    keyword = cache_keyword(model)
    prefix_output = model.base_model(**prefix_inputs, position_ids=prefix_positions, use_cache=True)
    cache = getattr(prefix_output, keyword)
    rows = torch.tensor([prefixes[item.group()] for item in batch], device=device)
    cache.batch_select_indices(rows)
    responses = [Encoded(item.response_id, item.input_ids[item.prefix_length :], 0) for item in batch]
    inputs = pad_batch(responses, pad_id, "right", device)
    starts = torch.tensor([item.prefix_length for item in batch], device=device)
    positions = starts[:, None] + torch.arange(inputs["input_ids"].shape[1], device=device)[None, :]
    positions = positions * inputs["attention_mask"]  # padding at 0: past the last position is no index
    return model(
        input_ids=inputs["input_ids"],
        attention_mask=torch.cat([prefix_mask[rows], inputs["attention_mask"]], dim=1),
        position_ids=positions,
        use_cache=True,
        **{keyword: cache},
    )


def classify(model, inputs: dict[str, torch.Tensor]):
    """A sequence classifier's forward output on a padded batch (`input_ids`, `attention_mask`), without
    a key/value cache; its last block only at each row's pooled position where `models.last_token`
    allows it (the same scores, up to float rounding)."""
    if not runs_last_block_at_pooled_token(model):
        return model(**inputs, **without_cache(model))
    positions = pooled_positions(inputs["input_ids"], model.config.pad_token_id)
    with last_block_at(model.base_model.h[-1], positions):
        output = model(**inputs, use_cache=False)
    if torch.isfinite(output.logits).all():
        return output
    return model(**inputs, use_cache=False)  # pooled elsewhere, or a non-finite score: the whole forward says


def without_cache(model) -> dict[str, bool]:
    """`use_cache=False` for a forward that takes it (the decoders): a scoring forward never reads its
    keys and values again, and building the cache copies every layer's (8% of a GPT-2-small forward
    on the CPU, bench/README.md)."""
    return {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}


def cache_keyword(model) -> str:
    """What a forward calls the key/value cache, in and out: `cache` (transformers >= 5.2x) or
    `past_key_values` (before)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def reward_and_vector(output, n_rows: int) -> list[tuple[float, list[float] | None]]:
    """The scalar reward and the score vector of each row of a classifier's forward output.

    Multi-objective heads (ArmoRM-style: an output with `score`, the gated scalar, and `rewards`, one
    value per objective): reward = `score`, as rewardbench's ArmoRM pipeline reads it; the vector is
    `rewards` (else the logits when there are several). Plain classifiers: reward = logits[:, 0], the
    vector is all logits when there are several.
    """
    score = getattr(output, "score", None)
    rewards = getattr(output, "rewards", None)
    logits = getattr(output, "logits", None)
    if score is not None:
        scalars = score.float().reshape(n_rows, -1)[:, 0].cpu()
        vector_source = rewards if rewards is not None else logits
    else:
        scalars = logits.float()[:, 0].cpu()
        vector_source = logits
    vector = vector_source.float().reshape(n_rows, -1).cpu() if vector_source is not None else None
    vectors = vector.tolist() if vector is not None and vector.shape[1] > 1 else [None] * n_rows
    return [(float(value), row) for value, row in zip(scalars, vectors, strict=True)]
