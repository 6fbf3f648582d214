"""A model's context limit is read from its files once per pinned revision (a local folder's content
hash, a Hub commit), then from `$RB_HOME/cache/context_limits.json`: a warm re-run needs no transformers."""

from __future__ import annotations

from pathlib import Path

import pytest

import rb_pipeline.models.context as context


def test_the_limit_of_a_pinned_revision_is_read_once(
    rb_home: Path, tiny_classifier: Path, monkeypatch: pytest.MonkeyPatch
):
    from rb_pipeline.catalog.entries import local_revision

    revision = local_revision(tiny_classifier)  # sha256:<16 hex>: pinned
    first = context.context_limit(str(tiny_classifier), revision, False)
    assert first == 1024  # the tiny GPT-2: n_positions and its tokenizer's model_max_length (N_POSITIONS)
    reads = []
    monkeypatch.setattr(context, "_read_context_limit", lambda *args: reads.append(args) or 7)
    assert context.context_limit(str(tiny_classifier), revision, False) == 1024  # from the cache
    assert reads == []
    # an unpinned revision (a branch) may change: read every time, never cached
    assert context.context_limit(str(tiny_classifier), "main", False) == 7
    assert context.context_limit(str(tiny_classifier), "main", False) == 7
    assert len(reads) == 2
    assert '"main"' not in (rb_home / "cache" / "context_limits.json").read_text()
