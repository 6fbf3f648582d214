"""DPO scorer: implicit rewards checked against log-probabilities computed by hand with plain torch."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.kinds import KINDS
from rb_pipeline.core.lake import scores_dir
from rb_pipeline.core.schemas import EXAMPLES_SCHEMA, RESPONSES_SCHEMA
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models import dpo
from rb_pipeline.models.dpo import DPOScorer, truncate_pair
from rb_pipeline.sources.normalize import response_id

TEXTS = ["The capital of France is Paris.", "Water boils at 100 degrees Celsius."]
PAIRS = [
    ([{"role": "user", "content": "What is the capital of France?"}], "The capital of France is Paris."),
    ([{"role": "user", "content": "What is the capital of France?"}], "I think it is Lyon."),
    (
        [
            {"role": "system", "content": "You are a careful judge."},
            {"role": "user", "content": "Is the following statement true or false? Water boils at 100."},
        ],
        "That statement is true.",
    ),
    ([{"role": "user", "content": "Math question: what is 12 plus 30?"}], "The answer is 42."),
    ([{"role": "user", "content": "Hi"}], "Thank you for your help! You're welcome, let me know."),
    (
        [
            {"role": "user", "content": "Please explain how to sort a list in Python."},
            {"role": "assistant", "content": "Use sorted(items)."},
            {"role": "user", "content": "And in place?"},
        ],
        "You can call items.sort(), which sorts the list in place.",
    ),
    ([{"role": "user", "content": "Summarize the story."}], "A small cat found a warm home on a cold night."),
    ([{"role": "user", "content": "def add(a, b):"}], "    return a + b"),
]
TOL = 1e-5


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm

    root = tmp_path_factory.mktemp("dpo")
    return (
        build_tiny_causal_lm(root / "policy", TEXTS, seed=1),
        build_tiny_causal_lm(root / "reference", TEXTS, seed=2),
    )


def _scorer(policy: Path, ref: Path | None, **settings) -> DPOScorer:
    entry = ModelEntry(id="tiny/dpo", source=str(policy), type="dpo", ref_model=str(ref) if ref else None)
    return DPOScorer(entry, ScorerSettings(**({"dpo_tokens": "clean"} | settings)), "cpu")


# ---------------------------------------------------------------- the independent computation


def _tokens(path: Path, prompt: list[dict], text: str) -> tuple[list[int], int]:
    """BOS + the template over the conversation, and where the prompt (with generation prompt) ends."""
    tok = AutoTokenizer.from_pretrained(path)
    full = tok.apply_chat_template([*prompt, {"role": "assistant", "content": text}], tokenize=False)
    head = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    assert full.startswith(head)
    ids = [tok.bos_token_id, *tok(full, add_special_tokens=False)["input_ids"]]
    prompt_ids = [tok.bos_token_id, *tok(head, add_special_tokens=False)["input_ids"]]
    # rewardbench's `build_tokenized_answer`: when the prompt's last token merges with the response's
    # first (here "\n" + indentation), the response starts one token earlier.
    prompt_len = len(prompt_ids) if ids[: len(prompt_ids)] == prompt_ids else len(prompt_ids) - 1
    assert ids[:prompt_len] == prompt_ids[:prompt_len]
    return ids, prompt_len


def _token_logps(path: Path, ids: list[int]) -> torch.Tensor:
    """log p(token t | tokens < t) for t = 1..n-1, from one unpadded forward pass."""
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    logps = torch.log_softmax(logits.float(), dim=-1)
    return torch.stack([logps[t - 1, ids[t]] for t in range(1, len(ids))])


def _sum(logps: torch.Tensor) -> float:
    """Sum in float64 (a float32 sum of ~100 terms of ~-6 is off by ~1e-5)."""
    return float(logps.double().sum())


def _response_logps(path: Path, ids: list[int], prompt_len: int) -> torch.Tensor:
    return _token_logps(path, ids)[prompt_len - 1 :]


@pytest.fixture(scope="module")
def expected(models: tuple[Path, Path]) -> list[dict]:
    policy, ref = models
    rows = []
    for prompt, text in PAIRS:
        ids, prompt_len = _tokens(policy, prompt, text)
        pol = _response_logps(policy, ids, prompt_len)
        rows.append(
            {
                "ids": ids,
                "prompt_len": prompt_len,
                "policy": pol,
                "ref_sum": _sum(_response_logps(ref, ids, prompt_len)),
                "all_sum": _sum(_token_logps(policy, ids)),
            }
        )
    return rows


def _encode(scorer: DPOScorer, pairs=PAIRS):
    return scorer.encode([p for p, _ in pairs], [t for _, t in pairs], [f"r{i}" for i in range(len(pairs))])


# ---------------------------------------------------------------- tests


def test_registered() -> None:
    assert KINDS["dpo"].builder() is DPOScorer


def test_encode_matches_template_and_prompt_length(models, expected) -> None:
    encoded = _encode(_scorer(models[0], models[1]))
    for item, exp in zip(encoded, expected, strict=True):
        assert item.input_ids == exp["ids"]
        assert item.extra["prompt_length"] == exp["prompt_len"]
        assert item.truncated_tokens == 0


def test_reward_with_reference_model(models, expected) -> None:
    scorer = _scorer(models[0], models[1])
    results = scorer.score(_encode(scorer))
    for (reward, vector), exp in zip(results, expected, strict=True):
        pol_sum = _sum(exp["policy"])
        assert reward == pytest.approx(pol_sum - exp["ref_sum"], abs=TOL)
        assert vector[0] == pytest.approx(pol_sum, abs=TOL)
        assert vector[1] == pytest.approx(exp["ref_sum"], abs=TOL)
        assert vector[2] == len(exp["ids"]) - exp["prompt_len"]


@pytest.mark.parametrize("kind", ["sum", "avg", "norm"])
def test_reference_free(models, expected, kind: str) -> None:
    scorer = _scorer(models[0], None, ref_free_type=kind)
    assert scorer.ref is None
    results = scorer.score(_encode(scorer))
    for (reward, vector), exp in zip(results, expected, strict=True):
        logps = exp["policy"]
        want = {
            "sum": _sum(logps),
            "avg": _sum(logps) / logps.numel(),
            "norm": -math.sqrt(float((logps.double() ** 2).sum())),
        }[kind]
        assert reward == pytest.approx(want, abs=TOL)
        assert vector[0] == pytest.approx(_sum(logps), abs=TOL)
        assert math.isnan(vector[1])
        assert vector[2] == logps.numel()


def test_unknown_ref_free_type(models) -> None:
    with pytest.raises(ValueError, match="ref_free_type"):
        _scorer(models[0], None, ref_free_type="mean")


def test_batch_size_invariance(models) -> None:
    scorer = _scorer(models[0], models[1])
    encoded = _encode(scorer)
    assert len({len(item.input_ids) for item in encoded}) > 3  # real padding happens
    by_size = {}
    for size in (1, 3, 8):
        results = []
        for start in range(0, len(encoded), size):
            results.extend(scorer.score(encoded[start : start + size]))
        by_size[size] = results
    for size in (3, 8):
        for (r1, v1), (r, v) in zip(by_size[1], by_size[size], strict=True):
            assert r == pytest.approx(r1, abs=TOL)
            assert v == pytest.approx(v1, abs=TOL)


def test_full_logits_path_matches(models, monkeypatch) -> None:
    """Models without `logits_to_keep` get full logits: the same rewards."""
    scorer = _scorer(models[0], models[1])
    encoded = _encode(scorer)
    trimmed = scorer.score(encoded)
    monkeypatch.setattr(dpo, "_keep_logits_arg", lambda model: None)
    full = scorer.score(encoded)
    for (r1, v1), (r2, v2) in zip(trimmed, full, strict=True):
        assert r2 == pytest.approx(r1, abs=TOL)
        assert v2 == pytest.approx(v1, abs=TOL)


def test_prompt_tokens_are_masked(models, expected) -> None:
    """The sum covers response tokens only: counting the prompt's tokens would change it by a lot."""
    scorer = _scorer(models[0], None, ref_free_type="sum")
    results = scorer.score(_encode(scorer))
    for (reward, _), exp in zip(results, expected, strict=True):
        prompt_part = exp["all_sum"] - _sum(exp["policy"])
        assert abs(prompt_part) > 1.0
        assert reward == pytest.approx(exp["all_sum"] - prompt_part, abs=TOL)
        assert abs(reward - exp["all_sum"]) > 1.0


def test_same_response_other_prompt_counts_same_tokens(models) -> None:
    """Changing only the prompt's last user turn leaves the response-token count unchanged."""
    scorer = _scorer(models[0], None, ref_free_type="sum")
    a, b = _encode(
        scorer,
        [
            ([{"role": "user", "content": "What is 12 plus 30?"}], "The answer is 42."),
            ([{"role": "user", "content": "What is 12 plus 30, please? Explain."}], "The answer is 42."),
        ],
    )
    assert len(a.input_ids) - a.extra["prompt_length"] == len(b.input_ids) - b.extra["prompt_length"]
    assert a.input_ids[a.extra["prompt_length"] :] == b.input_ids[b.extra["prompt_length"] :]
    (_, va), (_, vb) = scorer.score([a, b])
    assert va[2] == vb[2]


def test_truncation_keeps_prompt_end_and_response_start(models, expected) -> None:
    assert truncate_pair([1, 2, 3], [4, 5], 8) == ([1, 2, 3], [4, 5], 0)
    assert truncate_pair(list(range(10)), [20, 21], 8) == ([6, 7, 8, 9], [20, 21], 6)
    assert truncate_pair([1, 2], list(range(20, 30)), 8) == ([1, 2], [20, 21, 22, 23], 6)

    max_length = 24
    scorer = _scorer(models[0], None, ref_free_type="sum", max_length=max_length)
    encoded = _encode(scorer)
    for item, exp in zip(encoded, expected, strict=True):
        ids, prompt_len = exp["ids"], exp["prompt_len"]
        prompt, response, cut = truncate_pair(ids[:prompt_len], ids[prompt_len:], max_length)
        assert len(item.input_ids) <= max_length
        assert item.input_ids == prompt + response
        assert item.truncated_tokens == cut == len(ids) - len(item.input_ids)
        assert item.extra["prompt_length"] == len(prompt)
    assert any(item.truncated_tokens for item in encoded)
    for (reward, _), item in zip(scorer.score(encoded), encoded, strict=True):
        logps = _response_logps(models[0], item.input_ids, item.extra["prompt_length"])
        assert reward == pytest.approx(_sum(logps), abs=TOL)


def test_max_length_is_capped_by_the_reference_models_positions(models, tmp_path) -> None:
    """A reference model with fewer positions than max_length (2048 by default) caps it for both
    models: every input fits the reference (no IndexError) and the rewards are the hand-computed ones
    over the truncated tokens."""
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm

    short_ref = build_tiny_causal_lm(tmp_path / "short-ref", TEXTS, seed=2, positions=24)
    scorer = _scorer(models[0], short_ref)
    assert scorer.settings.max_length == 24
    encoded = _encode(scorer)
    assert all(len(item.input_ids) <= 24 for item in encoded)
    assert any(item.truncated_tokens for item in encoded)
    for (reward, _), item in zip(scorer.score(encoded), encoded, strict=True):
        start = item.extra["prompt_length"]
        policy_sum = _sum(_response_logps(models[0], item.input_ids, start))
        ref_sum = _sum(_response_logps(short_ref, item.input_ids, start))
        assert reward == pytest.approx(policy_sum - ref_sum, abs=TOL)


def test_score_model_end_to_end(models, expected, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RB_HOME", str(tmp_path / "home"))
    policy, ref = models
    chosen, rejected = PAIRS[0], PAIRS[1]
    prompt = chosen[0]
    examples = pl.DataFrame(
        [
            {
                "benchmark": "tiny",
                "subset": "s",
                "example_id": "e1",
                "prompt": prompt,
                "source_revision": "r",
                "source_file": "f",
                "source_row": 0,
            },
            {
                "benchmark": "tiny",
                "subset": "s",
                "example_id": "e2",
                "prompt": PAIRS[3][0],
                "source_revision": "r",
                "source_file": "f",
                "source_row": 1,
            },
        ],
        schema=EXAMPLES_SCHEMA,
    )
    rows = [
        ("e1", prompt, chosen[1], 0, "chosen"),
        ("e1", prompt, rejected[1], 1, "rejected"),
        ("e2", PAIRS[3][0], PAIRS[3][1], 0, "chosen"),
    ]
    responses = pl.DataFrame(
        [
            {
                "benchmark": "tiny",
                "example_id": eid,
                "response_id": response_id(p, text),
                "position": pos,
                "text": text,
                "label": label,
                "source_model": "m",
            }
            for eid, p, text, pos, label in rows
        ],
        schema=RESPONSES_SCHEMA,
    )
    entry = ModelEntry(id="tiny/dpo", source=str(policy), type="dpo", ref_model=str(ref))
    result = score_model(
        entry,
        responses,
        examples,
        ScorerSettings(batch_size=2, dpo_tokens="clean"),
        ["tiny"],
        device="cpu",
        log=lambda _: None,
    )
    assert result.n_scored == 3
    scores = pl.read_parquet(scores_dir(entry.id, result.run_id) / "*.parquet")
    got = dict(zip(scores["response_id"], scores["score"], strict=True))
    vectors = dict(zip(scores["response_id"], scores["score_vector"], strict=True))
    for index in (0, 1, 3):
        exp = expected[index]
        rid = response_id(*PAIRS[index])
        want = _sum(exp["policy"]) - exp["ref_sum"]
        assert got[rid] == pytest.approx(want, abs=TOL)
        assert vectors[rid][2] == len(exp["ids"]) - exp["prompt_len"]
    assert set(scores["n_tokens"].to_list()) == {len(expected[i]["ids"]) for i in (0, 1, 3)}


# ---------------------------------------------------------------- rewardbench's own tokens (the default)


def _rewardbench_tokens(path: Path, prompt: list[dict], text: str) -> tuple[list[int], int]:
    """rewardbench 0.1.4's `prepare_dialogue_from_tokenizer` + `DPOInference.tokenize_row`, one response:
    prompt = template without the generation prompt; answer = full text with the prompt removed,
    tokenized as prompt + answer and split (one back on a merge); BOS first; EOS appended."""
    tok = AutoTokenizer.from_pretrained(path)
    head = tok.apply_chat_template(prompt, tokenize=False)
    full = tok.apply_chat_template([*prompt, {"role": "assistant", "content": text}], tokenize=False)
    answer = full.replace(head, "")
    joined = tok(head + answer, add_special_tokens=False)["input_ids"]
    head_ids = tok(head, add_special_tokens=False)["input_ids"]
    start = len(head_ids) if joined[: len(head_ids)] == head_ids else len(head_ids) - 1
    bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    return [bos, *joined[:start], *joined[start:], tok.eos_token_id], 1 + start


def test_default_tokens_are_rewardbench_tokenize_row(models) -> None:
    scorer = DPOScorer(
        ModelEntry(id="tiny/dpo", source=str(models[0]), type="dpo", ref_model=str(models[1])),
        ScorerSettings(),
        "cpu",
    )
    assert scorer.settings.dpo_tokens == "rewardbench"
    clean = _encode(_scorer(models[0], models[1]))
    for item, clean_item, (prompt, text) in zip(_encode(scorer), clean, PAIRS, strict=True):
        ids, prompt_len = _rewardbench_tokens(models[0], prompt, text)
        assert item.input_ids == ids
        assert item.extra["prompt_length"] == prompt_len
        # the assistant header and the appended EOS are response tokens here, not in `clean`
        assert (
            len(item.input_ids) - prompt_len > len(clean_item.input_ids) - clean_item.extra["prompt_length"]
        )


def test_default_reward_is_policy_minus_reference_over_rewardbench_tokens(models) -> None:
    policy, ref = models
    entry = ModelEntry(id="tiny/dpo", source=str(policy), type="dpo", ref_model=str(ref))
    scorer = DPOScorer(entry, ScorerSettings(), "cpu")
    scores = scorer.score(_encode(scorer))
    for (reward, vector), (prompt, text) in zip(scores, PAIRS, strict=True):
        ids, prompt_len = _rewardbench_tokens(policy, prompt, text)
        policy_sum = _sum(_response_logps(policy, ids, prompt_len))
        ref_sum = _sum(_response_logps(ref, ids, prompt_len))
        assert vector[0] == pytest.approx(policy_sum, abs=TOL)
        assert reward == pytest.approx(policy_sum - ref_sum, abs=TOL)
        assert vector[2] == len(ids) - prompt_len


def test_dpo_tokens_are_part_of_the_settings_key(models) -> None:
    entry = ModelEntry(id="tiny/dpo", source=str(models[0]), type="dpo", ref_model=str(models[1]))
    assert ScorerSettings().key(entry) != ScorerSettings(dpo_tokens="clean").key(entry)
    with pytest.raises(ValueError, match="dpo_tokens"):
        DPOScorer(entry, ScorerSettings(dpo_tokens="mine"), "cpu")
