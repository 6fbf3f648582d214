"""The model kinds, each declared once: its name, its role (it scores responses, scores the steps of a
solution, or judges answers in pairs), the entry fields only it reads, and what builds it.

Every layer reads these declarations: catalog validation (an entry's `type` and its fields), the CLI
(which benchmarks a kind scores), the engine (scoring or judging), and the warehouse's `model_kinds`
table, through which the SQL tells judges apart (no kind is named in SQL). The registry sits in `core`
so that the catalog, below `models`, can see it; the built-in kinds name their class as a lazy
"module:object" placeholder (lm-eval-harness's registry does the same), imported on first load, so
validating a catalog never imports torch. A kind defined elsewhere (a plugin, a test module) calls
`register_kind` with the class itself and, for entry fields of its own, a pydantic model of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Role = Literal["scores", "scores steps", "judges"]


@dataclass(frozen=True)
class ModelKind:
    """One model kind. `build(entry, settings, device)` returns a scorer (`models.registry.Scorer`) for
    the scoring roles, a judge (`models.registry.Judge`) for `judges`."""

    name: str
    role: Role
    build: str | Callable  # the class (or factory), or "module:object" imported on first use
    fields: tuple[str, ...] = ()  # ModelEntry fields only this kind (and any other naming them) reads
    required: tuple[str, ...] = ()  # of those, the ones an entry of this kind must give
    options: type[BaseModel] | None = None  # entry fields of its own, validated into `entry.options`
    # run settings its model never reads, so the invariance audit (engine/audit.py) does not vary them
    unread_settings: tuple[str, ...] = ()

    @property
    def judges(self) -> bool:
        """Judged in pairs (`engine.judging`, the `judgments` table) rather than scored."""
        return self.role == "judges"

    @property
    def scores_steps(self) -> bool:
        """Scores each step of a solution: step-level benchmarks only, and only it scores them."""
        return self.role == "scores steps"

    def builder(self) -> Callable:
        """The class or factory, imported now when declared as "module:object"."""
        if not isinstance(self.build, str):
            return self.build
        module, _, name = self.build.partition(":")
        return getattr(importlib.import_module(module), name)


KINDS: dict[str, ModelKind] = {}


def register_kind(kind: ModelKind) -> ModelKind:
    """Declare a model kind (a second declaration of the same name replaces the first)."""
    KINDS[kind.name] = kind
    return kind


def model_kind(name: str) -> ModelKind:
    """The declaration of kind `name`; a ValueError listing the known kinds if there is none."""
    if name not in KINDS:
        raise ValueError(f"unknown model type {name!r}: expected one of {', '.join(map(repr, KINDS))}")
    return KINDS[name]


def kinds_with(role: Role) -> tuple[str, ...]:
    """The names of the kinds of one role, in declaration order."""
    return tuple(name for name, kind in KINDS.items() if kind.role == role)


_JUDGE_FIELDS = ("judges", "judge_prompt", "protocol")  # an ensemble, its prompt, RewardBench 2's protocol
for _kind in (
    ModelKind("classifier", "scores", "rb_pipeline.models.classifier:ClassifierScorer"),
    # dpo, prm and generative judges pad where their reading needs it (right; generation: left)
    ModelKind(
        "dpo",
        "scores",
        "rb_pipeline.models.dpo:DPOScorer",
        fields=("ref_model",),
        unread_settings=("padding_side",),
    ),
    ModelKind(
        "pairwise-judge", "judges", "rb_pipeline.models.judges:PairwiseClassifierJudge", fields=_JUDGE_FIELDS
    ),
    ModelKind(
        "generative",
        "judges",
        "rb_pipeline.models.judges:generative_judge",
        fields=(
            *_JUDGE_FIELDS,
            "max_new_tokens",
            "api_base",
            "api_model",
            "api_key_env",
            "request_timeout",
            "max_retries",
        ),
        unread_settings=("padding_side",),
    ),
    ModelKind(
        "prm",
        "scores steps",
        "rb_pipeline.models.prm:ProcessRewardScorer",
        fields=("prm",),
        required=("prm",),
        unread_settings=("padding_side",),
    ),
):
    register_kind(_kind)
