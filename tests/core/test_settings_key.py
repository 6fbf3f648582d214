"""Golden keys: `ScorerSettings.key()` values pinned as they were at main e6dd0b7, so every score already
stored is still reused (a changed key would silently score everything again)."""

import pytest

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings

CLASSIFIER = ModelEntry(id="org/rm")
DPO_WITH_REF = ModelEntry(id="org/dpo", type="dpo", ref_model="org/base")

GOLDEN = [
    (CLASSIFIER, ScorerSettings(), "41f4d358eb944f014ff4000fc41805b1"),
    (
        ModelEntry(id="org/rm", revision="abc123"),
        ScorerSettings(dtype="bfloat16", max_length=512),
        "46b6199df41e76cb3e51119a8c1cbfab",
    ),
    (CLASSIFIER, ScorerSettings(chat_template="tulu"), "52ada9cccccd1e058672c03d76c95b9c"),
    (DPO_WITH_REF, ScorerSettings(), "d96daaa78517a61be4628e01166318a5"),
    (
        ModelEntry(id="org/dpo", type="dpo"),
        ScorerSettings(ref_free_type="sum"),
        "7e97e43680bb535aa07275b414915d98",
    ),
    (DPO_WITH_REF, ScorerSettings(dpo_tokens="clean"), "c30bb09c5c89a53e2e67ca8eebf7f0b2"),
    (ModelEntry(id="org/judge", type="generative"), ScorerSettings(), "e4d5075b419a6d0a7366e90f906b0001"),
    (
        ModelEntry(id="org/pj", type="pairwise-judge"),
        ScorerSettings(max_length=4096),
        "c24c61a1d47c44daf869a7012d9843f9",
    ),
]


@pytest.mark.parametrize(("entry", "settings", "key"), GOLDEN)
def test_settings_keys_are_those_stored_scores_carry(entry, settings, key):
    assert settings.key(entry) == key


def test_batching_and_shared_prompts_do_not_enter_the_key():
    # shared prompts give the full sequences' scores (to float rounding); batch sizes never change a score
    same = ScorerSettings(batch_size=1, token_budget=64, shared_prompts=False)
    assert same.key(CLASSIFIER) == "41f4d358eb944f014ff4000fc41805b1"
    # ref_free_type only counts for a dpo model without a reference
    assert ScorerSettings(ref_free_type="sum").key(DPO_WITH_REF) == "d96daaa78517a61be4628e01166318a5"
