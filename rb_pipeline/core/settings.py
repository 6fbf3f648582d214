"""Scorer settings, declared once: each field of `ScorerSettings` says (in its metadata) its help text,
its choices, whether a model entry gives its default, and whether a user sets it. From that one
declaration come the CLI flags (`add_setting_flags`), the Dagster run config fields
(`run_config_fields`), a model's settings (`settings_for`) and the command that reproduces a run
(`reproduce_flags`). `ScorerSettings.key` says which of them change a score.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from typing import Protocol

from pydantic import Field as PydanticField

from rb_pipeline.core.ids import content_hash

DTYPES = ("auto", "float32", "float16", "bfloat16")
REF_FREE_TYPES = ("sum", "avg", "norm")
DPO_TOKENS = ("rewardbench", "clean")
PADDING_SIDES = ("tokenizer", "left", "right")
ATTENTIONS = ("auto", "eager", "sdpa")


class ScoredModel(Protocol):
    """What settings read of a model entry (`catalog.entries.ModelEntry`)."""

    @property
    def location(self) -> str: ...

    revision: str
    type: str
    ref_model: str | None


def setting(
    default: object,
    help: str,
    choices: tuple[str, ...] = (),
    from_entry: bool = False,
    user: bool = True,
    positive: bool = False,
) -> object:
    """A settings field: `from_entry`: the model entry's field of the same name is its default;
    `user`: a CLI flag (`--max-length` for `max_length`) and a run config field set it; `positive`:
    a number above 0 (the flag refuses 0 and below in one line, as the settings themselves do)."""
    return field(
        default=default,
        metadata={
            "help": help,
            "choices": choices,
            "from_entry": from_entry,
            "user": user,
            "positive": positive,
        },
    )


def positive(kind: type) -> Callable[[str], object]:
    """An argparse `type`: a number of `kind` above 0, else one line saying so."""

    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text!r}")
        return value

    return parse


@dataclass(frozen=True)
class ScorerSettings:
    """What changes a score (all but batch sizes) plus how to batch."""

    dtype: str = setting("auto", "weights' dtype", DTYPES, from_entry=True)
    max_length: int = setting(
        2048, "tokens per sequence (capped by the model's context)", from_entry=True, positive=True
    )
    chat_template: str | None = setting(
        None,
        "a named chat template (models/templates.py) or a Jinja one; unset: the tokenizer's",
        from_entry=True,
    )
    batch_size: int = setting(8, "upper bound on rows per batch", from_entry=True, positive=True)
    token_budget: int = setting(16384, "upper bound on padded tokens per batch", positive=True)
    ref_free_type: str = setting("avg", "dpo without a reference model", REF_FREE_TYPES)
    dpo_tokens: str = setting(
        "rewardbench", "dpo: which tokens are the response's (models/dpo.py)", DPO_TOKENS
    )
    # with an attention mask neither should change a score; the invariance audit (engine/audit.py) checks
    # whether they do (left padding does move a GPT-2's: its absolute positions start at the padding)
    padding_side: str = setting(
        "tokenizer",
        "classifiers, pairwise judges: pad batches on this side; tokenizer: its own",
        PADDING_SIDES,
    )
    attn_implementation: str = setting(
        "auto", "attention kernel (transformers' attn_implementation); auto: the model's", ATTENTIONS
    )
    # the invariance audit (engine/audit.py) only: batch size and token budget join the key, so that each
    # batch size is a run with its own scores; every other run reuses scores whatever its batch size
    keyed_batches: bool = setting(False, "batch size and token budget join the settings key", user=False)
    # causal models: run each example's prompt once and continue its responses from the cached keys
    # and values; the scores are the full sequences' (to float rounding), so it is not in the key.
    # Off by default: on RMB it saved 6% of the real tokens but padded 19% more, and a whole run took
    # 1.14x the time (bench/README.md, 1,006 pairs + 301 best-of-N lists)
    shared_prompts: bool = setting(False, "continue responses from their prompt's cache", user=False)

    def __post_init__(self) -> None:
        for setting in fields(self):
            value, choices = getattr(self, setting.name), setting.metadata["choices"]
            if choices and value not in choices:
                raise ValueError(f"{setting.name}: {value!r} is not one of {', '.join(choices)}")
            if setting.metadata["positive"] and not value > 0:
                raise ValueError(f"{setting.name}: must be above 0, not {value!r}")

    def key(self, entry: ScoredModel) -> str:
        """Scores with the same key are interchangeable: batch sizes are not part of it (but in the
        invariance audit's runs, `keyed_batches`).

        Call it on `effective_settings` (max_length capped by the model's context): settings that give
        the same effective length share scores, and a model whose limit is not below the setting keeps
        the key it always had."""
        return content_hash(
            entry.location,
            entry.revision,
            entry.type,
            entry.ref_model,
            self.dtype,
            self.max_length,
            self.chat_template,
            self.ref_free_type if entry.type == "dpo" and entry.ref_model is None else None,
            # `clean` keeps the key scores had before this setting existed, so they stay reusable
            *((self.dpo_tokens,) if entry.type == "dpo" and self.dpo_tokens != "clean" else ()),
            # a PRM's head (where and what it reads) changes its step scores
            *((entry.prm.model_dump(mode="json"),) if entry.type == "prm" else ()),
            # their defaults keep the keys scores had before these settings existed
            *(
                f"{setting.name}={getattr(self, setting.name)}"
                for setting in fields(self)
                if setting.name in ("padding_side", "attn_implementation")
                and getattr(self, setting.name) != setting.default
            ),
            *((self.batch_size, self.token_budget) if self.keyed_batches else ()),
            # a kind's own entry fields (core.kinds `options`) change its scores
            *((options.model_dump(mode="json"),) if (options := getattr(entry, "options", None)) else ()),
        )


def user_settings() -> list[Field]:
    """The fields a user sets (CLI flags, run config), in declaration order."""
    return [f for f in fields(ScorerSettings) if f.metadata["user"]]


def flag(name: str) -> str:
    """The CLI flag of a setting: `max_length` -> `--max-length`."""
    return "--" + name.replace("_", "-")


def _value_type(setting: Field) -> type:
    """The type a user gives the setting as (every user setting is an int or a str)."""
    return int if isinstance(setting.default, int) and not isinstance(setting.default, bool) else str


def _default_text(setting: Field) -> str:
    default = "unset" if setting.default is None else setting.default
    return f"the model entry's, else {default}" if setting.metadata["from_entry"] else str(default)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One optional flag per user setting (unset: the model entry's value, else the default)."""
    for setting in user_settings():
        parser.add_argument(
            flag(setting.name),
            dest=setting.name,
            type=positive(_value_type(setting)) if setting.metadata["positive"] else _value_type(setting),
            choices=setting.metadata["choices"] or None,
            help=f"{setting.metadata['help']} (default: {_default_text(setting)})",
        )


def run_config_fields(exclude: set[str] = frozenset()) -> dict[str, tuple[type, object]]:
    """The user settings (but `exclude`) as optional pydantic fields for a run config (unset: the
    model's settings): {name: (annotation, FieldInfo)}, as `pydantic.create_model` takes them."""
    fields_ = {}
    for setting in user_settings():
        if setting.name in exclude:
            continue
        choices = setting.metadata["choices"]
        help = setting.metadata["help"] + (f" ({' | '.join(choices)})" if choices else "")
        description = f"{help}; unset: {_default_text(setting)}"
        fields_[setting.name] = (
            _value_type(setting) | None,
            PydanticField(default=None, description=description),
        )
    return fields_


def settings_for(entry: object, **overrides: object) -> ScorerSettings:
    """The model entry's settings, with the non-None overrides (from the CLI or run config) applied."""
    base = {f.name: getattr(entry, f.name) for f in fields(ScorerSettings) if f.metadata["from_entry"]}
    return ScorerSettings(**(base | {k: v for k, v in overrides.items() if v is not None}))


def reproduce_flags(settings: dict) -> list[str]:
    """The CLI flags that give a run's recorded settings (`runs.settings`) again."""
    parts = []
    for f in user_settings():
        if settings.get(f.name) is not None:
            parts += [flag(f.name), str(settings[f.name])]
    return parts
