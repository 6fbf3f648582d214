"""Instantiate a registered model kind; the engine loads models through here. The built-in kinds register
themselves (`models.registry`) when imported, which happens here on first use: they import torch and
transformers, which the code location does not need to load."""

from __future__ import annotations

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.text import first_line
from rb_pipeline.models.registry import (
    JUDGES,
    SCORERS,
    UNREADABLE_WEIGHTS,
    Judge,
    Scorer,
    load_errors,
    redact_url,
    weights_error,
)


def register_builtin_kinds() -> None:
    """Import the built-in kinds, which registers them."""
    from rb_pipeline.models import classifier, dpo, judges, prm  # noqa: F401


def load_scorer(entry: ModelEntry, settings: ScorerSettings, device: str) -> Scorer:
    """Instantiate the registered scorer; load failures name the model and the reason in one line."""
    register_builtin_kinds()
    if entry.type not in SCORERS:
        raise ValueError(f"model {entry.id}: no scorer for type {entry.type!r} (known: {sorted(SCORERS)})")
    with load_errors(entry):
        return SCORERS[entry.type](entry, settings, device)


def effective_settings(entry: ModelEntry, settings: ScorerSettings) -> ScorerSettings:
    """`settings` with max_length capped by the model's own context (`models.context.capped_settings`);
    a model whose config asks for custom code its entry does not allow is refused here."""
    from rb_pipeline.models.context import capped_settings  # imports transformers

    with load_errors(entry):
        return capped_settings(entry, settings)


def load_judge(entry: ModelEntry, settings: ScorerSettings, device: str) -> Judge:
    """Instantiate the registered judge; load failures name the model and the reason in one line."""
    register_builtin_kinds()
    if entry.type not in JUDGES:
        raise ValueError(f"model {entry.id}: no judge for type {entry.type!r} (known: {sorted(JUDGES)})")
    try:
        return JUDGES[entry.type](entry, settings, device)
    except (*UNREADABLE_WEIGHTS, OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = weights_error(exc) if isinstance(exc, UNREADABLE_WEIGHTS) else first_line(exc)
        where = redact_url(entry.api_base) if entry.api_base else entry.location
        raise RuntimeError(f"model {entry.id}: cannot load from {where}: {reason}") from exc
