"""Shared fixtures: offline settings, a temporary lake, and tiny models built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def rb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty lake and Dagster home for one test."""
    home = tmp_path / "rb_home"
    monkeypatch.setenv("RB_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("RB_MIRROR", raising=False)
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    return home


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    """Texts from the shipped samples, to train the tiny tokenizer on."""
    from rb_pipeline.catalog import load_benchmarks
    from rb_pipeline.normalize import normalize

    texts: list[str] = []
    for bench in load_benchmarks().values():
        if bench.local:
            texts += normalize(bench).responses["text"].to_list()[:100]
    return texts


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory, sample_texts: list[str]) -> Path:
    """A tiny GPT-2 sequence classifier with a chat template, built offline once per session."""
    from rb_pipeline.tiny_models import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("models") / "tiny-classifier", texts=sample_texts)
