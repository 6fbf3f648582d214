"""What a model kind implements: a scorer turns token sequences into scores (`Scorer`), a judge turns a
prompt and two answers into a verdict (`Judge`). A kind is declared in `core.kinds` (`register_kind`);
`models.loader` instantiates it.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from safetensors import SafetensorError

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.text import first_line


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


def redact_url(url: str) -> str:
    """A URL without its user:password part (for logs, run records and error messages)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
