"""A model's own context, and the refusal of custom code a model entry does not allow.

The effective `max_length` is the smaller of the setting and the model's limit: its config's
`max_position_embeddings` / `n_positions`, or its tokenizer's `model_max_length` when that is a real
number (tokenizers without a limit say int(1e30)). For DPO the reference model's limit counts too;
a local generative judge keeps room for the tokens it writes.

A model at a pinned revision (a local folder's content hash, a Hub commit) has the same limit for
good: it is kept in `$RB_HOME/cache/context_limits.json`, so a re-run that scores nothing new never
imports transformers (and torch) to read it again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from rb_pipeline.catalog.entries import PINNED_REVISION, ModelEntry
from rb_pipeline.core.paths import atomic_path, rb_home
from rb_pipeline.core.settings import ScorerSettings

SANE_TOKENIZER_LIMIT = 10**8  # above this a tokenizer's model_max_length is a "no limit" sentinel
POSITION_FIELDS = ("max_position_embeddings", "n_positions")


def ref_location(ref_model: str) -> tuple[str, str]:
    """A reference model as a path, a Hub id, or `hub/id@revision`; `$RB_HOME` is expanded."""
    ref = ref_model.replace("$RB_HOME", str(rb_home()))
    if "@" in ref and not Path(ref).exists():
        location, revision = ref.rsplit("@", 1)
        return location, revision
    return ref, "main"


def refuse_custom_code(location: str, revision: str, allowed: bool) -> None:
    """Raise one clear error when the model's config or tokenizer asks for custom code (`auto_map`)
    that its entry does not allow: without it transformers would build a stock class with the wrong
    head, or fail deep inside loading."""
    if allowed:
        return
    from transformers import PretrainedConfig
    from transformers.models.auto.tokenization_auto import get_tokenizer_config

    config, _ = PretrainedConfig.get_config_dict(location, revision=revision)
    tokenizer_config = get_tokenizer_config(location, revision=revision)
    for name, document in (("config.json", config), ("tokenizer_config.json", tokenizer_config)):
        if document.get("auto_map"):
            classes = sorted({str(v) for v in document["auto_map"].values()})
            raise ValueError(
                f"{name} asks for custom code ({', '.join(classes)}); set `trust_remote_code: true` "
                "in the model's entry if you trust that code"
            )


def context_limit(location: str, revision: str, trust_remote_code: bool) -> int | None:
    """The most tokens the model takes (None when neither its config nor its tokenizer says); read
    once per pinned revision (the module docstring), else from the model's files each time."""
    pinned = revision.startswith("sha256:") or PINNED_REVISION.fullmatch(revision) is not None
    cache_path = rb_home() / "cache" / "context_limits.json"
    key = json.dumps([location, revision, trust_remote_code])
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8")) if pinned else {}
    except (OSError, ValueError):
        cache = {}
    if isinstance(cache, dict) and key in cache:
        return cache[key]
    limit = _read_context_limit(location, revision, trust_remote_code)
    if pinned:  # concurrent writers: the last wins, the others read the model's files again later
        with atomic_path(cache_path) as tmp:
            tmp.write_text(json.dumps((cache if isinstance(cache, dict) else {}) | {key: limit}), "utf-8")
    return limit


def _read_context_limit(location: str, revision: str, trust_remote_code: bool) -> int | None:
    from transformers import AutoConfig
    from transformers.models.auto.tokenization_auto import get_tokenizer_config

    refuse_custom_code(location, revision, trust_remote_code)
    config = AutoConfig.from_pretrained(location, revision=revision, trust_remote_code=trust_remote_code)
    text_config = config.get_text_config()
    limits = [getattr(text_config, name, None) for name in POSITION_FIELDS]
    limits.append(get_tokenizer_config(location, revision=revision).get("model_max_length"))
    sane = [
        int(limit) for limit in limits if isinstance(limit, int | float) and 0 < limit < SANE_TOKENIZER_LIMIT
    ]
    return min(sane, default=None)


def capped_settings(entry: ModelEntry, settings: ScorerSettings) -> ScorerSettings:
    """`settings` with `max_length` capped by the model's context (also its reference model's)."""
    if entry.api_base:  # a judge behind an HTTP server: the server enforces its own limit
        return settings
    limits = [context_limit(entry.location, entry.revision, entry.trust_remote_code)]
    if entry.type == "dpo" and entry.ref_model:
        limits.append(context_limit(*ref_location(entry.ref_model), entry.trust_remote_code))
    known = [limit for limit in limits if limit is not None]
    if not known:
        return settings
    limit = min(known)
    if entry.type == "generative":  # prompt + the reply must fit in the model's positions
        limit -= entry.max_new_tokens
        if limit < 1:
            raise ValueError(f"max_new_tokens {entry.max_new_tokens} leaves no room for a prompt")
    return replace(settings, max_length=limit) if settings.max_length > limit else settings
