"""Scorer settings declared once (rb_pipeline/core/settings.py): the CLI flags, the Dagster run config and
the card's reproduce command all come from `ScorerSettings`' fields, under the names SPEC.md gives."""

from __future__ import annotations

import argparse
from dataclasses import asdict

import pytest

from assets.scores import ScoreConfig
from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import (
    ScorerSettings,
    add_setting_flags,
    reproduce_flags,
    settings_for,
    user_settings,
)

# SPEC.md's `rb-pipeline score` flags and `scores` run config fields for the scorer settings
SPEC_FLAGS = ["--batch-size", "--dtype", "--max-length", "--ref-free-type", "--dpo-tokens"]
SPEC_CONFIG_FIELDS = ["batch_size", "dtype", "max_length", "token_budget", "ref_free_type", "dpo_tokens"]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    return parser


def test_every_user_setting_is_a_flag_and_a_run_config_field():
    flags = {flag for action in parser()._actions for flag in action.option_strings}
    assert set(SPEC_FLAGS) <= flags
    assert set(SPEC_CONFIG_FIELDS) <= set(ScoreConfig.model_fields)
    for setting in user_settings():
        assert "--" + setting.name.replace("_", "-") in flags
        assert setting.name in ScoreConfig.model_fields
    # shared_prompts is not a user setting: it never changes a score
    assert "shared_prompts" not in {setting.name for setting in user_settings()}


def test_flags_parse_to_settings_and_choices_are_enforced():
    args = parser().parse_args(["--max-length", "512", "--dtype", "bfloat16", "--ref-free-type", "sum"])
    entry = ModelEntry(id="org/rm", batch_size=4)
    settings = settings_for(entry, **{s.name: getattr(args, s.name) for s in user_settings()})
    # unset flags keep the entry's values (batch_size 4), else the declared defaults (token_budget 16384)
    assert settings == ScorerSettings(
        dtype="bfloat16", max_length=512, batch_size=4, token_budget=16384, ref_free_type="sum"
    )
    with pytest.raises(SystemExit):
        parser().parse_args(["--dpo-tokens", "nonsense"])
    with pytest.raises(ValueError, match="dpo_tokens: 'nonsense' is not one of rewardbench, clean"):
        ScorerSettings(dpo_tokens="nonsense")


def test_the_reproduce_command_gives_the_recorded_settings_again():
    recorded = asdict(
        ScorerSettings(dtype="float16", max_length=1024, chat_template="tulu", dpo_tokens="clean")
    )
    flags = reproduce_flags(recorded)
    assert flags[:4] == ["--dtype", "float16", "--max-length", "1024"]
    args = parser().parse_args(flags)
    again = settings_for(ModelEntry(id="org/rm"), **{s.name: getattr(args, s.name) for s in user_settings()})
    assert asdict(again) == recorded


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "--model", "m", "--max-length", "0"],
        ["score", "--model", "m", "--max-length", "-5"],
        ["score", "--model", "m", "--batch-size", "0"],
        ["score", "--model", "m", "--batch-size", "-1"],
        ["score", "--model", "m", "--nproc-per-node", "0"],
        ["score", "--model", "m", "--nproc-per-node", "-3"],
    ],
)
def test_counts_of_zero_or_below_are_refused_in_one_line(
    argv: list[str], capsys: pytest.CaptureFixture
) -> None:
    """They were accepted (`--batch-size 0`), failed deep in torch (`--max-length 0`: "argmax():
    Expected reduction dim 1") or as a pydantic dump (`--nproc-per-node 0`)."""
    from rb_pipeline.cli import build_parser

    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(argv)
    assert refused.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == f"rb-pipeline score: error: argument {argv[3]}: must be above 0, not '{argv[4]}'"


def test_settings_refuse_counts_of_zero_whatever_sets_them() -> None:
    """A run config or a model entry gives the same rule as the flag (the settings' declaration)."""
    with pytest.raises(ValueError, match=r"^max_length: must be above 0, not 0$"):
        ScorerSettings(max_length=0)
    with pytest.raises(ValueError, match=r"^token_budget: must be above 0, not -1$"):
        ScorerSettings(token_budget=-1)
