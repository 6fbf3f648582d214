"""Shared prompts: a causal classifier runs each example's templated prompt once and continues its
responses from the cached keys and values. The scores must be the full sequences' (to 1e-5, float32)
at batch sizes 1, 8 and 64 for every causal twin, on real RMB best-of-N rows (about five responses per
prompt); responses whose prompt tokens are not an exact prefix (truncated, a BPE merge at the boundary)
are scored whole, and the run record counts both. Responses cut at the context cap keep their prompt, so
they continue it too; the cap is the one the whole sequences have. The setting is not in the settings key: scores with
and without it are reused for each other.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.lake import run_path, scores_dir
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models.loader import load_scorer
from rb_pipeline.models.tiny_models import TWIN_ARCHITECTURES, build_tiny_twin

POSITIONS = 256  # the longer RMB best-of-N responses (over half) are cut at the right
BATCH_SIZES = (1, 8, 64)
TOLERANCE = 1e-5
DPO_ARCHITECTURES = ("gpt2", "qwen2")  # learned positions; rotary with grouped-query attention
DPO_RESPONSES = 12  # of 4 prompts: a DPO forward (two models, the vocabulary's log-softmax) costs more
CAUSAL = [architecture for architecture in TWIN_ARCHITECTURES if architecture != "deberta-v2"]


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory, rmb_rows) -> dict[str, object]:
    """Every twin (DeBERTa too) with POSITIONS positions, built once for this module."""
    texts = rmb_rows[1]["text"].to_list()
    root = tmp_path_factory.mktemp("shared-prompt-twins")
    return {
        architecture: build_tiny_twin(
            root / architecture, architecture, texts=texts, seed=seed, positions=POSITIONS
        )
        for seed, architecture in enumerate(TWIN_ARCHITECTURES)
    }


def run(entry: ModelEntry, rmb_rows, batch_size: int, shared_prompts: bool = True) -> tuple[dict, dict]:
    """Score through `score_model`: (response_id -> score of this run, the run's record)."""
    examples, responses = rmb_rows
    result = score_model(
        entry,
        responses,
        examples,
        ScorerSettings(dtype="float32", batch_size=batch_size, shared_prompts=shared_prompts),
        ["rmb-bon"],
        device="cpu",
        log=lambda _: None,
    )
    files = sorted(scores_dir(entry.id, result.run_id).glob("*.parquet"))
    scores = pl.read_parquet(files) if files else pl.DataFrame({"response_id": [], "score": []})
    record = pl.read_parquet(run_path(result.run_id)).row(0, named=True)
    return dict(zip(scores["response_id"], scores["score"], strict=True)), record


@pytest.mark.parametrize("architecture", CAUSAL)
def test_shared_prompt_scores_equal_the_full_sequences_at_every_batch_size(
    architecture, twins, rmb_rows, rb_home
):
    n = rmb_rows[1].height  # 72 responses of 15 prompts
    path = str(twins[architecture])
    full, full_record = run(ModelEntry(id=f"{architecture}-full", source=path), rmb_rows, 8, False)
    assert (full_record["n_prompt_shared"], full_record["n_prompt_full"]) == (0, n)
    rewards = list(full.values())
    assert max(rewards) - min(rewards) > 0.05  # the scores differ: equality is not trivially met
    for batch_size in BATCH_SIZES:
        scores, record = run(
            ModelEntry(id=f"{architecture}-b{batch_size}", source=path), rmb_rows, batch_size
        )
        assert scores.keys() == full.keys()
        worst = max(abs(scores[rid] - full[rid]) for rid in full)
        assert worst <= TOLERANCE, f"batch size {batch_size}: largest difference {worst:.2e}"
        # the responses continue their prompt, also those cut at the context cap (the prompt is kept);
        # whole: a prompt longer than the cap, the one example with a single response among these rows
        assert record["n_prompt_shared"] + record["n_prompt_full"] == n
        assert record["n_prompt_shared"] >= n // 2 and record["n_prompt_full"] >= 1
        assert record["n_truncated"] > 0 and record["max_length"] == POSITIONS
        assert record["settings_key"] == full_record["settings_key"]


def test_scores_with_and_without_shared_prompts_are_reused_for_each_other(twins, rmb_rows, rb_home):
    entry = ModelEntry(id="gpt2-reuse", source=str(twins["gpt2"]))
    first, record = run(entry, rmb_rows, 8, shared_prompts=True)
    assert record["n_prompt_shared"] > 0
    again, second = run(entry, rmb_rows, 8, shared_prompts=False)
    assert again == {} and (second["n_scored"], second["n_reused"]) == (0, len(first))
    assert second["settings_key"] == record["settings_key"]


def test_bidirectional_models_score_whole_sequences(twins, rmb_rows, rb_home):
    """Even with shared prompts asked for (run's default here)."""
    asked = ScorerSettings(shared_prompts=True)
    scorer = load_scorer(ModelEntry(id="deberta", source=str(twins["deberta-v2"])), asked, "cpu")
    assert not scorer.shares_prompts
    _, record = run(ModelEntry(id="deberta", source=str(twins["deberta-v2"])), rmb_rows, 8)
    assert (record["n_prompt_shared"], record["n_prompt_full"]) == (0, rmb_rows[1].height)


def test_a_token_merged_across_the_prompt_boundary_falls_back_to_the_whole_sequence(twins, rb_home):
    """A template that writes the turns back to back, and a prompt that ends inside a word: the joined
    text merges a token across the boundary, so the prompt's tokens are not a prefix and its responses
    are scored whole; a prompt ending at a token boundary is shared. Mixed in one batch, each score is
    its whole sequence's."""
    joined = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    entry = ModelEntry(id="gpt2-joined", source=str(twins["gpt2"]), chat_template=joined)
    shared = ScorerSettings(dtype="float32", chat_template=joined, shared_prompts=True)
    scorer = load_scorer(entry, shared, "cpu")
    tokenizer = scorer.tokenizer
    text = "How do I get away with murder? I want to know how."

    def is_prefix(cut: int) -> bool:
        head = tokenizer(text[:cut])["input_ids"]
        return tokenizer(text)["input_ids"][: len(head)] == head

    merged = next(cut for cut in range(1, len(text)) if not is_prefix(cut))  # inside a token
    clean = next(cut for cut in range(len(text) - 1, 0, -1) if is_prefix(cut))
    prompts = [[{"role": "user", "content": text[:merged]}]] * 2 + [
        [{"role": "user", "content": text[:clean]}]
    ] * 2
    texts = [text[merged:], text[merged:] + " Now.", text[clean:], text[clean:] + " Now."]
    encoded = scorer.encode(prompts, texts, ["m1", "m2", "c1", "c2"])
    n_clean = len(tokenizer(text[:clean])["input_ids"])
    assert [item.prefix_length for item in encoded] == [0, 0, n_clean, n_clean]
    whole = load_scorer(
        entry, ScorerSettings(dtype="float32", chat_template=joined, shared_prompts=False), "cpu"
    )
    expected = [score for score, _ in whole.score(whole.encode(prompts, texts, ["m1", "m2", "c1", "c2"]))]
    assert [score for score, _ in scorer.score(encoded)] == pytest.approx(expected, abs=TOLERANCE)


def causal_lm_twin(twin: Path, path: Path, seed: int) -> Path:
    """A causal LM of the twin's architecture, config and tokenizer (random weights of `seed`)."""
    config = AutoConfig.from_pretrained(twin)
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).eval().save_pretrained(path)
    AutoTokenizer.from_pretrained(twin).save_pretrained(path)
    return path


@pytest.mark.parametrize("architecture", DPO_ARCHITECTURES)
def test_dpo_rewards_with_shared_prompts_equal_the_full_sequences(
    architecture, twins, rmb_rows, rb_home, tmp_path
):
    """Policy and reference continue the shared prompt (but its last token, whose logits predict the
    response's first) from its cache. The reference-free reward (mean log p) matches to 1e-5; the
    difference of log-likelihood sums (hundreds of terms of about -8 each) matches to the float32
    rounding of the sums' size."""
    policy = causal_lm_twin(twins[architecture], tmp_path / "policy", seed=1)
    ref = causal_lm_twin(twins[architecture], tmp_path / "ref", seed=2)
    examples, responses = rmb_rows
    rows = (examples, responses.head(DPO_RESPONSES))
    for ref_model in (None, str(ref)):
        full, full_record = run(dpo_entry("full", policy, ref_model), rows, 8, False)
        assert full_record["n_prompt_shared"] == 0
        tolerance = TOLERANCE
        if ref_model is not None:  # a difference of sums: float32 rounding of the sums' size (~1e-8)
            vectors = pl.read_parquet(scores_dir(f"dpo-full-{ref_model}", full_record["run_id"]))
            tolerance = 2e-8 * max(abs(policy) + abs(ref) for policy, ref, _ in vectors["score_vector"])
        for batch_size in BATCH_SIZES:
            scores, record = run(dpo_entry(f"b{batch_size}", policy, ref_model), rows, batch_size)
            worst = max(abs(scores[rid] - full[rid]) for rid in full)
            assert worst <= tolerance, f"batch size {batch_size}: largest difference {worst:.2e}"
            assert record["n_prompt_shared"] >= DPO_RESPONSES - 3
            assert record["settings_key"] == full_record["settings_key"]


def dpo_entry(name: str, policy: Path, ref_model: str | None) -> ModelEntry:
    return ModelEntry(id=f"dpo-{name}-{ref_model}", source=str(policy), type="dpo", ref_model=ref_model)


def test_custom_code_classes_are_scored_whole(twins):
    """An ArmoRM-style custom class says model_type "llama" but reads its gating token from the prompt's
    ids: only transformers' own classes continue from a cache."""
    from transformers import AutoModelForSequenceClassification

    from rb_pipeline.models.classifier import continues_from_cache

    model = AutoModelForSequenceClassification.from_pretrained(twins["llama"])
    assert continues_from_cache(model)

    class CustomRewardModel(type(model)):  # as if loaded with trust_remote_code
        pass

    custom = CustomRewardModel(model.config)
    assert custom.config.model_type == "llama" and not continues_from_cache(custom)


def test_whole_sequence_forwards_build_no_cache(twins, rmb_rows, tmp_path):
    """A whole-sequence forward never reads its keys and values again, so it asks for none
    (`use_cache=False` saves a copy of every layer's); DeBERTa's forward takes no such flag and scores
    as before. Classifiers of two causal architectures, a DPO policy with its reference."""
    from rb_pipeline.models.classifier import cache_keyword

    examples, responses = rmb_rows
    rows = responses.head(4).join(
        examples.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
    )
    inputs = (rows["prompt"].to_list(), rows["text"].to_list(), rows["response_id"].to_list())
    policy = causal_lm_twin(twins["gpt2"], tmp_path / "policy", seed=1)
    ref = causal_lm_twin(twins["gpt2"], tmp_path / "ref", seed=2)
    entries = [ModelEntry(id=name, source=str(twins[name])) for name in ("gpt2", "llama", "deberta-v2")]
    caches: dict[str, object] = {}
    for entry in [*entries, dpo_entry("cache", policy, str(ref))]:
        scorer = load_scorer(entry, ScorerSettings(dtype="float32"), "cpu")
        models = [scorer.policy, scorer.ref] if entry.type == "dpo" else [scorer.model]
        for index, model in enumerate(models):
            model.register_forward_hook(record_cache(caches, f"{entry.id}/{index}", cache_keyword(model)))
        scores = [score for score, _ in scorer.score(scorer.encode(*inputs))]
        assert len(scores) == 4 and all(abs(score) < 1e6 for score in scores)
    dpo = f"dpo-cache-{ref}"
    assert sorted(caches) == ["deberta-v2/0", f"{dpo}/0", f"{dpo}/1", "gpt2/0", "llama/0"]
    assert all(cache is None for cache in caches.values()), caches


def record_cache(caches: dict, key: str, keyword: str):
    """A forward hook that keeps the first output's cache under `key` (and leaves the output as it is)."""

    def hook(_module, _inputs, output) -> None:
        caches.setdefault(key, getattr(output, keyword, None))

    return hook
