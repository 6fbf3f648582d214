"""Instantiate a declared model kind (`core.kinds`); the engine loads models through here. The built-in
kinds name their class lazily, so torch and transformers, which the code location does not need, are
imported on first load."""

from __future__ import annotations

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.kinds import model_kind
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.text import first_line
from rb_pipeline.models.registry import (
    UNREADABLE_WEIGHTS,
    Judge,
    Scorer,
    load_errors,
    redact_url,
    weights_error,
)


def load_scorer(entry: ModelEntry, settings: ScorerSettings, device: str) -> Scorer:
    """Instantiate the kind's scorer; load failures name the model and the reason in one line."""
    kind = model_kind(entry.type)
    if kind.judges:
        raise ValueError(f"model {entry.id}: type {entry.type!r} judges, it does not score")
    build = kind.builder()
    with load_errors(entry):
        return build(entry, settings, device)


def effective_settings(entry: ModelEntry, settings: ScorerSettings) -> ScorerSettings:
    """`settings` with max_length capped by the model's own context (`models.context.capped_settings`);
    a model whose config asks for custom code its entry does not allow is refused here."""
    from rb_pipeline.models.context import capped_settings  # imports transformers

    with load_errors(entry):
        return capped_settings(entry, settings)


def load_judge(entry: ModelEntry, settings: ScorerSettings, device: str) -> Judge:
    """Instantiate the kind's judge; load failures name the model and the reason in one line."""
    kind = model_kind(entry.type)
    if not kind.judges:
        raise ValueError(f"model {entry.id}: type {entry.type!r} scores, it does not judge")
    build = kind.builder()
    try:
        return build(entry, settings, device)
    except (*UNREADABLE_WEIGHTS, OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = weights_error(exc) if isinstance(exc, UNREADABLE_WEIGHTS) else first_line(exc)
        where = redact_url(entry.api_base) if entry.api_base else entry.location
        raise RuntimeError(f"model {entry.id}: cannot load from {where}: {reason}") from exc
