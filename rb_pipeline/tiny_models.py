"""Tiny, deterministic GPT-2 style models built fully offline (for the demo and tests).

Nothing here downloads anything: the tokenizer is trained on the fly with the
``tokenizers`` library and the models get random weights from a fixed seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GPT2Config,
    GPT2ForSequenceClassification,
    GPT2LMHeadModel,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

__all__ = [
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "MARKER_FILE",
    "PAD_TOKEN",
    "build_tiny_causal_lm",
    "build_tiny_classifier",
    "train_tiny_tokenizer",
]

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"
MARKER_FILE = "rb_tiny.json"
MARKER_VERSION = 1
VOCAB_SIZE = 512
N_POSITIONS = 1024
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

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


def train_tiny_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """Train a deterministic byte-level BPE tokenizer with a chat template on `texts`."""
    corpus = [_BASE_CORPUS, *texts]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=[EOS_TOKEN, PAD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=N_POSITIONS,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads((path / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None


def _is_complete(path: Path, params: dict) -> bool:
    return _read_marker(path) == params and all((path / name).is_file() for name in _REQUIRED_FILES)


def _build(
    path: str | Path,
    params: dict,
    make_model: Callable[[PreTrainedTokenizerFast], PreTrainedModel],
    texts: list[str],
) -> Path:
    """Build into a temp dir next to `path`, then rename it into place (skip if already built)."""
    path = Path(path)
    if _is_complete(path, params):
        return path
    foreign = path.is_dir() and any(path.iterdir()) and _read_marker(path) is None
    if foreign or (path.exists() and not path.is_dir()):
        raise FileExistsError(f"{path} exists and is not a tiny model built by rb_pipeline")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        tokenizer = train_tiny_tokenizer(texts)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(params["seed"])
            model = make_model(tokenizer)
        model.save_pretrained(tmp)  # safetensors
        tokenizer.save_pretrained(tmp)
        (tmp / MARKER_FILE).write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        if path.exists():  # stale build with other parameters: move it aside, then replace
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / "model")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, path)
        except OSError:
            if not _is_complete(path, params):  # lost a race to a different build
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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


def build_tiny_causal_lm(path: str | Path, texts: Iterable[str] = (), seed: int = 0) -> Path:
    """Build (or reuse) a tiny random GPT2LMHeadModel (policy, DPO ref or judge) at `path`."""
    texts = list(texts)
    params = {
        "kind": "causal_lm",
        "seed": seed,
        "texts_sha256": _texts_digest(texts),
        "version": MARKER_VERSION,
    }

    def make(tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
        model = GPT2LMHeadModel(gpt2_config(tokenizer)).eval()
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        return model

    return _build(path, params, make, texts)
