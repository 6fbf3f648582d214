"""A huge single text is never tokenized whole (issue 28: a 50 MB text peaked at 14 GB): only the kept
side's window is tokenized and the cut tokens are counted chunk by chunk, with the very ids and count
that tokenizing the whole text gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from rb_pipeline.models import classifier
from rb_pipeline.models.classifier import tokenize_truncated, tokenize_unless_over

MAX_LENGTH = 32
CHUNK_CHARS = 5_000  # small chunks, so counting crosses many chunk boundaries
# about 300 kB of varied words: far over the 32 x 64 = 2,048-character window
LONG_TEXT = " ".join(f"answer{i % 97} is the capital, of {i % 13}." for i in range(12_000))


class SizeRecordingTokenizer:
    """The real tokenizer, noting the longest text it is handed in one call."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer, self.longest = tokenizer, 0

    def __call__(self, texts, **kwargs):
        batch = [texts] if isinstance(texts, str) else texts
        self.longest = max([self.longest, *map(len, batch)])
        return self.tokenizer(texts, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.tokenizer, name)


@pytest.fixture
def tokenizer(tiny_classifier: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(classifier, "COUNT_CHUNK_CHARS", CHUNK_CHARS)
    return AutoTokenizer.from_pretrained(tiny_classifier)


@pytest.mark.parametrize("side", ["right", "left"])
def test_long_text_keeps_the_same_tokens_without_tokenizing_it_whole(tokenizer, side: str) -> None:
    tokenizer.truncation_side = side
    whole = tokenizer(LONG_TEXT, add_special_tokens=True)["input_ids"]
    expected = tokenizer(LONG_TEXT, add_special_tokens=True, truncation=True, max_length=MAX_LENGTH)
    recording = SizeRecordingTokenizer(tokenizer)
    [(kept, cut)], [(short_kept, short_cut)] = (
        tokenize_truncated(recording, [LONG_TEXT], MAX_LENGTH),
        tokenize_truncated(recording, ["Paris is the capital."], MAX_LENGTH),
    )
    assert kept == expected["input_ids"]
    # every token past the 32 kept is counted; chunks start at a space, where this tokenizer's
    # words split anyway, so the chunked count is exact here
    assert cut == len(whole) - MAX_LENGTH
    assert short_kept == tokenizer("Paris is the capital.")["input_ids"] and short_cut == 0
    # the window (2,048 characters, doubled while it holds too few tokens) and the counting chunks,
    # never the 300 kB text
    assert recording.longest <= 4 * MAX_LENGTH * classifier.CHARS_PER_TOKEN_BOUND < len(LONG_TEXT) / 10


def test_judge_input_over_length_is_counted_not_tokenized_whole(tokenizer) -> None:
    recording = SizeRecordingTokenizer(tokenizer)
    count, ids = tokenize_unless_over(recording, [LONG_TEXT, "Paris."], MAX_LENGTH, False)
    assert count == len(tokenizer(LONG_TEXT, add_special_tokens=False)["input_ids"])
    assert ids == tokenizer("Paris.", add_special_tokens=False)["input_ids"]
    assert recording.longest <= CHUNK_CHARS


# ---------------------------------------------------------------- DPO (prompt and response split)


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("long-dpo") / "policy", [LONG_TEXT[:2_000]], seed=1)


HUGE_CASES = {
    # a huge response: its start is kept
    "response": ([{"role": "user", "content": "Tell me everything."}], LONG_TEXT),
    # a huge last prompt turn: its end is kept
    "prompt": ([{"role": "user", "content": LONG_TEXT}], "Paris is the capital."),
    # a huge earlier turn and a huge response: the prompt's end is the later turns'
    "both": (
        [
            {"role": "user", "content": LONG_TEXT},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "And so?"},
        ],
        LONG_TEXT,
    ),
}


@pytest.mark.parametrize("dpo_tokens", ["rewardbench", "clean"])
@pytest.mark.parametrize("case", sorted(HUGE_CASES))
def test_dpo_long_text_keeps_the_same_tokens_without_tokenizing_it_whole(
    tiny_policy: Path, monkeypatch: pytest.MonkeyPatch, dpo_tokens: str, case: str
) -> None:
    """The DPO split tokenized the whole rendered conversation (issue 28: a 50 MB text). Each message
    over the window is cut to the side truncation keeps first; the kept ids, where the prompt ends and
    the count of cut tokens are those of tokenizing everything whole (the path taken when the window
    is made too large to ever apply)."""
    from rb_pipeline.catalog.entries import ModelEntry
    from rb_pipeline.core.settings import ScorerSettings
    from rb_pipeline.models import dpo

    monkeypatch.setattr(classifier, "COUNT_CHUNK_CHARS", CHUNK_CHARS)
    entry = ModelEntry(id="tiny/dpo", source=str(tiny_policy), type="dpo")
    scorer = dpo.DPOScorer(entry, ScorerSettings(max_length=MAX_LENGTH, dpo_tokens=dpo_tokens), "cpu")
    prompt, text = HUGE_CASES[case]
    recording = SizeRecordingTokenizer(scorer.tokenizer)
    scorer.tokenizer = recording
    (bounded,) = scorer.encode([prompt], [text], ["r"])
    assert recording.longest < len(LONG_TEXT) / 10  # windows and counting chunks only
    monkeypatch.setattr(dpo, "CHARS_PER_TOKEN_BOUND", 10**9)  # every text tokenized whole
    (whole,) = scorer.encode([prompt], [text], ["r"])
    assert recording.longest >= len(LONG_TEXT)
    assert bounded.input_ids == whole.input_ids and len(whole.input_ids) <= MAX_LENGTH
    assert bounded.extra == whole.extra
    # the truncated tokens: the whole conversation's tokens less the 32 kept, counted chunk by chunk
    # (chunks and windows start at a space, where this byte-level BPE splits words anyway: exact)
    assert bounded.truncated_tokens == whole.truncated_tokens > len(LONG_TEXT) // 20
