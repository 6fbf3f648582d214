"""The registries of model kinds: a scorer turns token sequences into scores (`register_scorer`), a judge
turns a prompt and two answers into a verdict (`register_judge`). A new kind registers itself here with
a decorator; `models.loader` imports the built-in kinds and instantiates a registered one.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from safetensors import SafetensorError

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.text import first_line

JUDGE_TYPES = ("pairwise-judge", "generative")  # judged in pairs by rb_pipeline.engine.judging, not scored


@dataclass
class Encoded:
    """One response ready for a model: token ids (after truncation) and how many were cut."""

    response_id: str
    input_ids: list[int]
    truncated_tokens: int
    extra: dict = field(default_factory=dict)  # scorer-specific (e.g. the prompt length for dpo)

    @property
    def prefix_length(self) -> int:
        """How many leading tokens are the example's prompt, shared with its other responses and run
        once for them all (`extra["prefix_length"]`, set by a scorer with shared prompts); 0: none."""
        return self.extra.get("prefix_length", 0)

    def group(self) -> object:
        """What this item is batched with: the responses sharing its prompt's tokens, else itself."""
        return tuple(self.input_ids[: self.prefix_length]) if self.prefix_length else self.response_id


class Scorer(Protocol):
    device: str

    def encode(self, prompts: list[list[dict[str, str]]], texts: list[str], ids: list[str]) -> list[Encoded]:
        """Tokenize (prompt, response) pairs."""

    def score(self, batch: list[Encoded]) -> list[tuple[float, list[float] | None]]:
        """Scalar score (and optional score vector) for each item of a batch."""


SCORERS: dict[str, Callable[[ModelEntry, ScorerSettings, str], Scorer]] = {}


def _registers_in(table: dict[str, Callable], model_type: str) -> Callable:
    """A decorator that files a class (or factory) under `model_type` in `table`."""

    def decorator(factory: Callable) -> Callable:
        table[model_type] = factory
        return factory

    return decorator


def register_scorer(model_type: str) -> Callable:
    """Register a scorer class for a model type (`classifier`, `dpo`, ...)."""
    return _registers_in(SCORERS, model_type)


@contextmanager
def load_errors(entry: ModelEntry) -> Iterator[None]:
    """Turn a failure to read the model into one line naming the model and the reason."""
    try:
        yield
    except UNREADABLE_WEIGHTS as exc:
        raise RuntimeError(
            f"model {entry.id}: cannot load from {entry.location}: {weights_error(exc)}"
        ) from None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = first_line(exc)
        raise RuntimeError(
            f"model {entry.id}: cannot load from {entry.location}: {reason} "
            "(check its config.json, weights and tokenizer files, or its Hub id and revision)"
        ) from exc


# a weights file that cannot be read: safetensors' header or data is broken, or a pickle asks for more
# than tensors (torch's weights-only loader refuses it; its advice to turn that off is not repeated)
UNREADABLE_WEIGHTS = (SafetensorError, pickle.UnpicklingError)


def weights_error(exc: Exception) -> str:
    """What to tell the user about an unreadable weights file (`UNREADABLE_WEIGHTS`)."""
    if isinstance(exc, SafetensorError):
        return (
            f"its safetensors weights are corrupt or cut short ({first_line(exc)}): "
            "download or copy the model again"
        )
    return (
        "its pickled weights (.bin/.pt) hold more than tensors and are refused, as they could run code: "
        "use a safetensors copy of the model"
    )


@dataclass(frozen=True)
class Comparison:
    """One judge call: a prompt and two answers, A first."""

    response_a_id: str
    response_b_id: str
    prompt: list[dict[str, str]]
    answer_a: str
    answer_b: str


@dataclass(frozen=True)
class Judgment:
    """What a judge said about one comparison."""

    verdict: str
    raw_output: str | None = None
    judge_score: float | None = None
    n_tokens: int = 0
    truncated_tokens: int = 0


class Judge(Protocol):
    device: str

    def judge(self, batch: list[Comparison]) -> list[Judgment]:
        """A verdict for each comparison of the batch, in order."""


JUDGES: dict[str, Callable[[ModelEntry, ScorerSettings, str], Judge]] = {}


def register_judge(model_type: str) -> Callable:
    """Register a judge class (or factory) for a model type (`pairwise-judge`, `generative`)."""
    return _registers_in(JUDGES, model_type)


def redact_url(url: str) -> str:
    """A URL without its user:password part (for logs, run records and error messages)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
