"""Fixtures of the model-kind tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.tiny_multi_objective import build_multi_objective_model


@pytest.fixture(scope="session")
def multi_objective_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny multi-objective model (tests/models/tiny_multi_objective.py), built once per session."""
    return build_multi_objective_model(tmp_path_factory.mktemp("models") / "tiny-multi-objective")
