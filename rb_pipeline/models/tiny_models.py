"""Tiny, deterministic models built fully offline (for the demo and tests).

Nothing here downloads anything: the tokenizer is trained on the fly with the
``tokenizers`` library and the models get random weights from a fixed seed.

`build_tiny_classifier` / `build_tiny_causal_lm` are GPT-2 style; `build_tiny_twin` builds a tiny
sequence classifier of each architecture behind the public leaderboards' reward models
(`TWIN_ARCHITECTURES`), optionally saved the ways real checkpoints come: in bf16/fp16, in sharded
safetensors, with a tokenizer lacking a pad token or a chat template.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    DebertaV2Config,
    Gemma2Config,
    GPT2Config,
    GPT2ForSequenceClassification,
    GPT2LMHeadModel,
    GPTNeoXConfig,
    LlamaConfig,
    MistralConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from rb_pipeline.core.paths import atomic_dir

__all__ = [
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "MARKER_FILE",
    "PAD_TOKEN",
    "build_tiny_causal_lm",
    "build_tiny_classifier",
    "build_tiny_prm",
    "build_tiny_twin",
    "train_tiny_tokenizer",
    "TWIN_ARCHITECTURES",
]

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"
CLS_TOKEN, SEP_TOKEN = "[CLS]", "[SEP]"  # the encoder (DeBERTa) twin's tokenizer wraps texts in them
MARKER_FILE = "rb_tiny.json"
MARKER_VERSION = 1
VOCAB_SIZE = 512
N_POSITIONS = 1024
_REQUIRED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
_WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json")  # one file, or sharded

# Role markers are written as literals (not '<|' + role + '|>') so transformers can
# recognise them as template text; unknown roles are rejected. transformers renders with
# trim_blocks=True, so a newline right after a block tag must be written as {{ '\n' }}.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}<|system|>\n{{ message['content'] }}<|endoftext|>\n"
    "{% elif message['role'] == 'user' %}<|user|>\n{{ message['content'] }}<|endoftext|>\n"
    "{% elif message['role'] == 'assistant' %}<|assistant|>\n"
    "{% generation %}{{ message['content'] }}<|endoftext|>{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ raise_exception('Unknown role: ' ~ message['role']) }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_BASE_CORPUS = """\
The quick brown fox jumps over the lazy dog. A helpful assistant answers the user's
question clearly, honestly and politely. The user asks: what is the capital of France?
The assistant replies: the capital of France is Paris. Please explain how to sort a list
in Python. You can call sorted(items) or items.sort(), which sorts the list in place.
It is important to be safe and kind; I cannot help with anything harmful or dangerous.
Here is a short summary of the story: a small cat found a warm home on a cold night.
Math question: what is 12 plus 30? The answer is 42. Is the following statement true or
false? Water boils at 100 degrees Celsius at sea level. That statement is true.
system: You are a careful judge. Compare response A and response B and choose the better
one. Response A is more accurate, more relevant and more complete than response B.
Thank you for your help! You're welcome, let me know if there is anything else I can do.
def add(a, b):
    return a + b
Reward models score responses; a chosen response should get a higher score than a
rejected response. The model reads the prompt, the answer and then outputs a number.
"""


def _texts_digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def train_tiny_tokenizer(
    texts: Iterable[str],
    vocab_size: int = VOCAB_SIZE,
    pad_token: bool = True,
    chat_template: bool = True,
    cls_sep: bool = False,
    model_max_length: int = N_POSITIONS,
) -> PreTrainedTokenizerFast:
    """Train a deterministic byte-level BPE tokenizer on `texts`: with a pad token and a chat template
    unless told otherwise; `cls_sep` wraps every text in [CLS] ... [SEP] as BERT-style encoders do."""
    corpus = [_BASE_CORPUS, *texts]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    special_tokens = [EOS_TOKEN, PAD_TOKEN] + ([CLS_TOKEN, SEP_TOKEN] if cls_sep else [])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    if cls_sep:
        backend.post_processor = processors.TemplateProcessing(
            single=f"{CLS_TOKEN} $A {SEP_TOKEN}",
            special_tokens=[(name, backend.token_to_id(name)) for name in (CLS_TOKEN, SEP_TOKEN)],
        )
    else:
        backend.post_processor = processors.ByteLevel(trim_offsets=False)
    extra = {"cls_token": CLS_TOKEN, "sep_token": SEP_TOKEN} if cls_sep else {}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=PAD_TOKEN if pad_token else None,
        model_max_length=model_max_length,
        model_input_names=["input_ids", "attention_mask"],
        **extra,
    )
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads((path / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None


def _is_complete(path: Path, params: dict) -> bool:
    return (
        _read_marker(path) == params
        and all((path / name).is_file() for name in _REQUIRED_FILES)
        and any((path / name).is_file() for name in _WEIGHTS_FILES)
    )


def _build(
    path: str | Path,
    params: dict,
    make_model: Callable[[PreTrainedTokenizerFast], PreTrainedModel],
    texts: list[str],
    make_tokenizer: Callable[[list[str]], PreTrainedTokenizerFast] = train_tiny_tokenizer,
    save: Callable[[PreTrainedModel, Path], None] = lambda model, folder: model.save_pretrained(folder),
) -> Path:
    """Build into a temp dir next to `path`, then rename it into place (skip if already built)."""
    path = Path(path)
    if _is_complete(path, params):
        return path
    foreign = path.is_dir() and any(path.iterdir()) and _read_marker(path) is None
    if foreign or (path.exists() and not path.is_dir()):
        raise FileExistsError(f"{path} exists and is not a tiny model built by rb_pipeline")
    try:
        with atomic_dir(path) as tmp:  # a stale build with other parameters is replaced
            tokenizer = make_tokenizer(texts)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(params["seed"])
                model = make_model(tokenizer)
            save(model, tmp)  # safetensors
            tokenizer.save_pretrained(tmp)
            (tmp / MARKER_FILE).write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    except OSError:
        if not _is_complete(path, params):  # the swap lost a race to another build of the same model
            raise
    return path


def gpt2_config(tokenizer: PreTrainedTokenizerFast, **overrides) -> GPT2Config:
    """A GPT-2 config for `tokenizer`: tiny (2 x 64) and without dropout unless `overrides` say otherwise."""
    sizes = {"n_positions": N_POSITIONS, "n_embd": 64, "n_layer": 2, "n_head": 2}
    return GPT2Config(
        vocab_size=len(tokenizer),
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **(sizes | overrides),
    )


def build_tiny_classifier(
    path: str | Path, texts: Iterable[str] = (), seed: int = 0, num_labels: int = 1
) -> Path:
    """Build (or reuse) a tiny random GPT2ForSequenceClassification reward model at `path`."""
    texts = list(texts)
    params = {
        "kind": "classifier",
        "num_labels": num_labels,
        "seed": seed,
        "texts_sha256": _texts_digest(texts),
        "version": MARKER_VERSION,
    }

    def make(tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
        return GPT2ForSequenceClassification(gpt2_config(tokenizer, num_labels=num_labels)).eval()

    return _build(path, params, make, texts)


def build_tiny_causal_lm(
    path: str | Path, texts: Iterable[str] = (), seed: int = 0, positions: int = N_POSITIONS
) -> Path:
    """Build (or reuse) a tiny random GPT2LMHeadModel (policy, DPO ref or judge) with `positions`
    positions at `path`."""
    texts = list(texts)
    params = {
        "kind": "causal_lm",
        "seed": seed,
        "texts_sha256": _texts_digest(texts),
        "version": MARKER_VERSION,
    }
    if positions != N_POSITIONS:  # the default keeps the marker of models built before this option
        params["positions"] = positions

    def make(tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
        model = GPT2LMHeadModel(gpt2_config(tokenizer, n_positions=positions)).eval()
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        return model

    return _build(path, params, make, texts)


TWIN_ARCHITECTURES = ("gpt2", "gpt_neox", "llama", "mistral", "gemma2", "qwen2", "deberta-v2")
TWIN_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
TWIN_INIT_RANGE = 0.2  # wider than the usual 0.02, so rewards spread well beyond a 1e-5 tolerance
NO_TOKENIZER_LIMIT = int(1e30)  # transformers' VERY_LARGE_INTEGER: the tokenizer says "no limit"


def twin_config(
    architecture: str, tokenizer: PreTrainedTokenizerFast, positions: int, num_labels: int = 1
) -> PretrainedConfig:
    """A 2-layer, 32-wide config of `architecture` (see `TWIN_ARCHITECTURES`) with `positions`
    positions; decoders use grouped-query attention (2 key/value heads for 4 query heads) where the
    architecture has it, and a sliding window shorter than `positions` where it has one."""
    tokens = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "num_labels": num_labels,
        "initializer_range": TWIN_INIT_RANGE,
    }
    sizes = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": positions,
    }
    gqa = {"num_key_value_heads": 2}
    window = max(positions // 4, 4)
    if architecture == "gpt2":
        return gpt2_config(
            tokenizer,
            n_positions=positions,
            num_labels=num_labels,
            n_embd=32,
            n_head=4,
            initializer_range=TWIN_INIT_RANGE,
        )
    if architecture == "gpt_neox":
        return GPTNeoXConfig(**tokens, **sizes, hidden_dropout=0.0, attention_dropout=0.0)
    if architecture == "llama":
        return LlamaConfig(**tokens, **sizes, **gqa)
    if architecture == "mistral":
        return MistralConfig(**tokens, **sizes, **gqa, sliding_window=window)
    if architecture == "gemma2":
        return Gemma2Config(
            **tokens, **sizes, **gqa, head_dim=8, query_pre_attn_scalar=8, sliding_window=window
        )
    if architecture == "qwen2":
        return Qwen2Config(**tokens, **sizes, **gqa)
    if architecture == "deberta-v2":  # DeBERTa-v3 layout: relative attention, no absolute positions
        return DebertaV2Config(
            **tokens,
            **sizes,
            relative_attention=True,
            position_buckets=16,
            pos_att_type=["p2c", "c2p"],
            position_biased_input=False,
            pooler_hidden_size=32,
            type_vocab_size=0,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            pooler_dropout=0.0,
        )
    raise ValueError(f"unknown twin architecture {architecture!r} (known: {', '.join(TWIN_ARCHITECTURES)})")


def build_tiny_twin(
    path: str | Path,
    architecture: str,
    texts: Iterable[str] = (),
    seed: int = 0,
    positions: int = N_POSITIONS,
    num_labels: int = 1,
    dtype: str = "float32",
    max_shard_size: str | None = None,
    pad_token: bool = True,
    chat_template: bool = True,
) -> Path:
    """Build (or reuse) a tiny random sequence-classifier reward model of `architecture` at `path`.

    `dtype` is how the weights are saved (a bf16/fp16 checkpoint); `max_shard_size` (e.g. "100KB")
    saves sharded safetensors; `pad_token` / `chat_template` False leave them out of the tokenizer.
    """
    if architecture not in TWIN_ARCHITECTURES:
        raise ValueError(
            f"unknown twin architecture {architecture!r} (known: {', '.join(TWIN_ARCHITECTURES)})"
        )
    texts = list(texts)
    params = {
        "kind": "twin",
        "architecture": architecture,
        "positions": positions,
        "num_labels": num_labels,
        "dtype": dtype,
        "max_shard_size": max_shard_size,
        "pad_token": pad_token,
        "chat_template": chat_template,
        "seed": seed,
        "texts_sha256": _texts_digest(texts),
        "version": MARKER_VERSION,
    }

    def make_tokenizer(corpus: list[str]) -> PreTrainedTokenizerFast:
        return train_tiny_tokenizer(
            corpus,
            pad_token=pad_token,
            chat_template=chat_template,
            cls_sep=architecture == "deberta-v2",
            model_max_length=NO_TOKENIZER_LIMIT,  # as many real tokenizers: the config's positions rule
        )

    def make(tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
        config = twin_config(architecture, tokenizer, positions, num_labels)
        return AutoModelForSequenceClassification.from_config(config).eval()

    def save(model: PreTrainedModel, folder: Path) -> None:
        model = model.to(TWIN_DTYPES[dtype])
        model.save_pretrained(folder, **({"max_shard_size": max_shard_size} if max_shard_size else {}))

    return _build(path, params, make, texts, make_tokenizer, save)


# Tiny twins of the two process-reward heads (models/prm.py): the step tag is one added token.
PRM_TWIN_TAGS = {"token-classification": "<extra_0>", "causal-lm": " ки"}  # Qwen2.5-Math-PRM, Math-Shepherd


def build_tiny_prm(path: str | Path, head: str, texts: Iterable[str] = (), seed: int = 0) -> Path:
    """Build (or reuse) a tiny random process reward model at `path`: a two-class Qwen2 token
    classifier (`token-classification`, tag `<extra_0>`, as Qwen2.5-Math-PRM) or a GPT-2 LM
    (`causal-lm`, tag ` ки`, read at `+` / `-` as Math-Shepherd); the tag is one token."""
    if head not in PRM_TWIN_TAGS:
        raise ValueError(f"unknown PRM head {head!r} (known: {', '.join(PRM_TWIN_TAGS)})")
    texts = list(texts)
    params = {"kind": "prm", "head": head, "seed": seed, "texts_sha256": _texts_digest(texts), "version": 1}

    def make_tokenizer(corpus: list[str]) -> PreTrainedTokenizerFast:
        tokenizer = train_tiny_tokenizer(corpus, model_max_length=NO_TOKENIZER_LIMIT)
        tokenizer.add_tokens([PRM_TWIN_TAGS[head]], special_tokens=True)
        return tokenizer

    def make(tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
        if head == "token-classification":
            config = twin_config("qwen2", tokenizer, N_POSITIONS, num_labels=2)
            return AutoModelForTokenClassification.from_config(config).eval()
        return GPT2LMHeadModel(gpt2_config(tokenizer, initializer_range=TWIN_INIT_RANGE)).eval()

    return _build(path, params, make, texts, make_tokenizer)
