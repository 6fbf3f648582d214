"""The `prm` model kind (models/prm.py) on tiny twins of both heads (a Qwen2 two-class token classifier
read at `<extra_0>`, as Qwen2.5-Math-PRM; a GPT-2 LM read at ` ки` over `+` / `-`, as Math-Shepherd):
the step scores of a padded batch equal a plain one-solution forward's to 1e-5, one per step, in order;
a tag cut by max_length leaves its step unscored; a tag that is not one token is refused by name."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

from rb_pipeline.catalog.entries import SAMPLES_DIR, ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.steps import steps_text
from rb_pipeline.models.loader import load_scorer
from rb_pipeline.models.tiny_models import PRM_TWIN_TAGS, build_tiny_prm

TOLERANCE = 1e-5
HEADS = {
    "token-classification": {"head": "token-classification", "step_tag": "<extra_0>", "good_label": 1},
    "causal-lm": {"head": "causal-lm", "step_tag": " ки", "good_token": "+", "bad_token": "-"},
}


@pytest.fixture(scope="module")
def solutions() -> list[tuple[list[dict], list[str]]]:
    """Six real PRMBench items (the shipped sample rows): question and steps, of different lengths."""
    rows = []
    for path in sorted((SAMPLES_DIR / "prmbench").glob("*_4o_*.jsonl"))[:3]:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rows.append(
                ([{"role": "user", "content": record["modified_question"]}], record["modified_process"])
            )
    return rows


@pytest.fixture(scope="module", params=list(HEADS))
def twin(request, tmp_path_factory, solutions) -> tuple[str, ModelEntry]:
    head = request.param
    texts = [step for _, steps in solutions for step in steps]
    path = build_tiny_prm(tmp_path_factory.mktemp("prm") / head, head, texts=texts, seed=5)
    entry = ModelEntry(id=f"tiny-prm-{head}", source=str(path), type="prm", prm=HEADS[head], dtype="float32")
    return head, entry


def plain_step_scores(head: str, entry: ModelEntry, prompt: list[dict], steps: list[str]) -> list[float]:
    """The reference: one solution, no padding, the head's output read at every tag by hand."""
    tokenizer = AutoTokenizer.from_pretrained(entry.location)
    auto = AutoModelForTokenClassification if head == "token-classification" else AutoModelForCausalLM
    model = auto.from_pretrained(entry.location, dtype=torch.float32).eval()
    tag = PRM_TWIN_TAGS[head]
    conversation = [*prompt, {"role": "assistant", "content": "".join(s + tag for s in steps)}]
    text = tokenizer.apply_chat_template(conversation, tokenize=False)
    ids = tokenizer(text)["input_ids"]
    tag_id = tokenizer.convert_tokens_to_ids(tag)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    scores = []
    for position, token in enumerate(ids):
        if token != tag_id:
            continue
        if head == "token-classification":
            scores.append(torch.softmax(logits[position], -1)[1].item())
        else:
            plus, minus = tokenizer.convert_tokens_to_ids(["+", "-"])
            scores.append(torch.softmax(logits[position, [plus, minus]], -1)[0].item())
    return scores


def test_batched_step_scores_equal_a_plain_forward(twin, solutions):
    head, entry = twin
    scorer = load_scorer(entry, ScorerSettings(dtype="float32", max_length=1024), "cpu")
    texts = [steps_text(steps) for _, steps in solutions]
    encoded = scorer.encode([p for p, _ in solutions], texts, [f"r{i}" for i in range(len(texts))])
    assert len({len(item.input_ids) for item in encoded}) > 1  # the batch is padded
    results = scorer.score(encoded)
    for (prompt, steps), (score, vector) in zip(solutions, results, strict=True):
        expected = plain_step_scores(head, entry, prompt, steps)
        assert len(vector) == len(steps) == len(expected)
        assert max(abs(a - b) for a, b in zip(vector, expected, strict=True)) < TOLERANCE
        assert score == pytest.approx(min(expected), abs=TOLERANCE)  # the row's score: its lowest step


def test_steps_cut_by_max_length_are_unscored(twin, solutions):
    head, entry = twin
    prompt, steps = max(solutions, key=lambda s: len(s[1]))
    full = load_scorer(entry, ScorerSettings(dtype="float32", max_length=1024), "cpu")
    (item,) = full.encode([prompt], [steps_text(steps)], ["r"])
    # cut just before the third tag: the first two steps keep theirs
    tag_id = full.tag_id
    third_tag = [i for i, token in enumerate(item.input_ids) if token == tag_id][2]
    cut = load_scorer(entry, ScorerSettings(dtype="float32", max_length=third_tag), "cpu")
    (short,) = cut.encode([prompt], [steps_text(steps)], ["r"])
    assert short.truncated_tokens == len(item.input_ids) - third_tag
    ((_, vector),), ((_, full_vector),) = cut.score([short]), full.score([item])
    assert vector[2:] == [None] * (len(steps) - 2)
    assert vector[:2] == pytest.approx(full_vector[:2], abs=TOLERANCE)


def test_a_tag_of_several_tokens_is_refused(twin):
    head, entry = twin
    several = entry.model_copy(update={"prm": entry.prm.model_copy(update={"step_tag": "no such tag"})})
    with pytest.raises(RuntimeError, match="prm.step_tag: 'no such tag' is .* tokens of this tokenizer"):
        load_scorer(several, ScorerSettings(dtype="float32"), "cpu")


def test_the_head_is_part_of_the_settings_key(twin):
    # another head reads other numbers: its scores must never be reused for this one
    _, entry = twin
    other = entry.model_copy(update={"prm": entry.prm.model_copy(update={"good_label": 0})})
    settings = ScorerSettings(dtype="float32")
    assert settings.key(entry) != settings.key(other)
    assert settings.key(entry) == settings.key(entry.model_copy())
