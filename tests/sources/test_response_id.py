"""Golden response ids: `response_id(prompt, text)` values pinned as they are at main aab1a4c, so every
score already stored is still found (a changed id would silently score everything again), and the
prompt is part of the id (SPEC: "content hash of prompt + response text"): the same answer under two
prompts is two responses, scored twice."""

import hashlib

import pytest

from rb_pipeline.sources.normalize import response_id

TWO_PLUS_TWO = [{"role": "user", "content": "What is 2 + 2?"}]

GOLDEN = [
    (TWO_PLUS_TWO, "4", "3060d165de1ec2822e2080166c3bd20e"),
    ([{"role": "user", "content": "What is 3 + 1?"}], "4", "e5d22a3829108af8b13d23140fd8d99c"),
    (
        [{"role": "system", "content": "Be brief."}, *TWO_PLUS_TWO],
        "4",
        "df35c8c8c91da802207d7dd13e88f632",
    ),
    ([{"role": "assistant", "content": "What is 2 + 2?"}], "4", "4faa1aff76c6f33b2e443a14aca54f27"),
    (TWO_PLUS_TWO, "Four.", "b91b843977da835f86fdd00fa906bb9a"),
    (TWO_PLUS_TWO, "héllo ✓", "3aaee5123d8c305439155068604a3302"),
]


@pytest.mark.parametrize(("prompt", "text", "expected"), GOLDEN)
def test_response_ids_are_those_stored_scores_carry(prompt, text, expected):
    assert response_id(prompt, text) == expected


def test_the_id_is_the_sha256_of_the_prompt_turns_and_the_text():
    # worked out without the code: sha256 of the compact JSON [[["user", "What is 2 + 2?"]], "4"], 32 hex
    payload = b'[[["user","What is 2 + 2?"]],"4"]'
    assert hashlib.sha256(payload).hexdigest()[:32] == "3060d165de1ec2822e2080166c3bd20e"


def test_same_text_under_two_prompts_is_two_responses_and_same_prompt_and_text_is_one():
    first = response_id(TWO_PLUS_TWO, "4")
    assert response_id([{"role": "user", "content": "What is 3 + 1?"}], "4") != first
    assert response_id([{"role": "user", "content": "What is 2 + 2?"}], "4") == first  # a fresh copy
    # the role counts too: the same words from the assistant are another prompt
    assert response_id([{"role": "assistant", "content": "What is 2 + 2?"}], "4") != first
