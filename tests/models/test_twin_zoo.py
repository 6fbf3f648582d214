"""The twin zoo: a tiny random twin of each architecture behind the public leaderboards' reward models
(GPT-2, GPT-NeoX, Llama with grouped-query attention, Mistral, Gemma 2, Qwen2, DeBERTa-v2, a
multi-objective head, a pairwise model), built offline, scored on real RMB rows (the shipped sample).

The reference is a plain transformers forward, one response at a time, in float32: the tokenizer's
chat template, the tokenizer's own truncation at the model's positions, `logits[0, 0]` (the
multi-objective head's `score`). The pipeline's per-example scores must equal it to 1e-5 at batch
sizes 1, 8 and 64 (padding, length-sorted batching and the context cap must change nothing).

The twins also carry the ways real checkpoints come: fp16 and bf16 weights (scored in float32: equal
to the plain float32 forward of the upcast weights), sharded safetensors, a tokenizer without a pad
token (padded with eos, as rewardbench does), a tokenizer without a chat template, and a config that
asks for custom code. Their tokenizers say "no limit" (int(1e30)), so the config's positions cap
max_length (2048 by default) and most rows get truncated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.lake import run_path, scores_dir
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models.judge_prompts import format_judge_prompt
from rb_pipeline.models.judges import PairwiseClassifierJudge
from rb_pipeline.models.loader import effective_settings, load_scorer
from rb_pipeline.models.registry import Comparison
from rb_pipeline.models.templates import NAMED_TEMPLATES
from rb_pipeline.models.tiny_models import NO_TOKENIZER_LIMIT, TWIN_ARCHITECTURES, build_tiny_twin

# The multi-objective head is a custom class registered with the Auto classes in that test module.

REPO = Path(__file__).resolve().parents[2]
POSITIONS = 192  # RMB best-of-N responses run from ~60 to >1000 tokens here: some fit, most are cut
N_RESPONSES = (
    72  # the rows of `rmb_rows` (tests/conftest.py): batch size 64 makes a full batch and a short one
)
BATCH_SIZES = (1, 8, 64)
TOLERANCE = 1e-5

# name -> build_tiny_twin options; every architecture once, each carrying one checkpoint variant
ZOO = {
    "gpt2": {"architecture": "gpt2"},
    "gpt-neox": {"architecture": "gpt_neox"},
    "llama-gqa-no-pad": {"architecture": "llama", "pad_token": False},
    "mistral-fp16": {"architecture": "mistral", "dtype": "float16"},
    "gemma2-sharded": {"architecture": "gemma2", "max_shard_size": "20KB"},
    "qwen2-bf16": {"architecture": "qwen2", "dtype": "bfloat16"},
    "deberta-v2": {"architecture": "deberta-v2"},
}
assert {options["architecture"] for options in ZOO.values()} == set(TWIN_ARCHITECTURES)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory, rmb_rows) -> dict[str, Path]:
    """Every twin, built once for this module (a second or so in all)."""
    texts = rmb_rows[1]["text"].to_list()
    root = tmp_path_factory.mktemp("zoo")
    return {
        name: build_tiny_twin(root / name, texts=texts, seed=seed, positions=POSITIONS, **options)
        for seed, (name, options) in enumerate(ZOO.items())
    }


def conversations(examples: pl.DataFrame, responses: pl.DataFrame) -> list[tuple[str, list[dict]]]:
    """(response_id, prompt + the response as the assistant's turn) of each response."""
    joined = responses.join(
        examples.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
    )
    return [
        (row["response_id"], [*row["prompt"], {"role": "assistant", "content": row["text"]}])
        for row in joined.iter_rows(named=True)
    ]


@torch.inference_mode()
def plain_forward(
    path: Path, chats: list[tuple[str, list[dict]]], limit: int, chat_template: str | None = None
) -> dict[str, tuple[float, int]]:
    """response_id -> (reward, untruncated length): plain transformers, batch 1, float32."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
    if tokenizer.pad_token is None:  # rewardbench: pad with eos, in the tokenizer and the config
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    out = {}
    for response_id, chat in chats:
        text = tokenizer.apply_chat_template(chat, chat_template=chat_template, tokenize=False)
        inputs = tokenizer(text, truncation=True, max_length=limit, return_tensors="pt")
        output = model(**inputs)
        reward = output.score[0, 0] if getattr(output, "score", None) is not None else output.logits[0, 0]
        out[response_id] = (float(reward), len(tokenizer(text)["input_ids"]))
    return out


def score_with_engine(
    entry: ModelEntry, rmb_rows, batch_size: int, **settings: object
) -> tuple[dict[str, float], dict]:
    """Score through `score_model`; (response_id -> score, the run's record)."""
    examples, responses = rmb_rows
    run = score_model(
        entry,
        responses,
        examples,
        ScorerSettings(dtype="float32", batch_size=batch_size, **settings),
        ["rmb-bon"],
        device="cpu",
        log=lambda _: None,
    )
    scores = pl.read_parquet(sorted(scores_dir(entry.id, run.run_id).glob("*.parquet")))
    record = pl.read_parquet(run_path(run.run_id)).row(0, named=True)
    return dict(zip(scores["response_id"], scores["score"], strict=True)), record


def assert_matches(scores: dict[str, float], expected: dict[str, tuple[float, int]]) -> None:
    assert scores.keys() == expected.keys()
    worst = max(abs(scores[rid] - expected[rid][0]) for rid in expected)
    assert worst <= TOLERANCE, f"largest difference {worst:.2e}"
    rewards = [value for value, _ in expected.values()]
    assert max(rewards) - min(rewards) > 0.05  # the rewards differ: equality is not trivially met


@pytest.mark.parametrize("name", list(ZOO))
def test_twin_scores_equal_a_plain_forward_at_every_batch_size(name, zoo, rmb_rows, rb_home):
    path = zoo[name]
    expected = plain_forward(path, conversations(*rmb_rows), POSITIONS)
    n_over = sum(length > POSITIONS for _, length in expected.values())
    assert 0 < n_over < N_RESPONSES  # some rows truncated, some not
    for batch_size in BATCH_SIZES:
        entry = ModelEntry(id=f"zoo/{name}-b{batch_size}", source=str(path))  # max_length 2048
        scores, record = score_with_engine(entry, rmb_rows, batch_size)
        assert_matches(scores, expected)
        # the run shows the cap used (the config's positions) and how many responses it cut
        assert (record["max_length"], record["n_truncated"]) == (POSITIONS, n_over)
        assert json.loads(record["settings"])["max_length"] == 2048  # what was asked


def test_twin_checkpoint_variants_are_what_they_claim(zoo):
    """The variants the zoo stands for are really in the files (else the tests above prove less)."""

    def dtypes(path: Path) -> set[torch.dtype]:
        found = set()
        for shard in path.glob("*.safetensors"):
            with safe_open(shard, "pt") as f:
                found |= {f.get_tensor(key).dtype for key in f.keys()}  # noqa: SIM118 (not a dict)
        return found

    assert dtypes(zoo["mistral-fp16"]) == {torch.float16}
    assert dtypes(zoo["qwen2-bf16"]) == {torch.bfloat16}
    assert dtypes(zoo["gpt2"]) == {torch.float32}
    assert len(list(zoo["gemma2-sharded"].glob("model-*-of-*.safetensors"))) > 1
    assert (zoo["gemma2-sharded"] / "model.safetensors.index.json").is_file()
    no_pad = AutoTokenizer.from_pretrained(zoo["llama-gqa-no-pad"])
    assert no_pad.pad_token is None
    llama = json.loads((zoo["llama-gqa-no-pad"] / "config.json").read_text())
    assert llama["num_key_value_heads"] < llama["num_attention_heads"]  # grouped-query attention
    assert llama["pad_token_id"] is None
    assert AutoTokenizer.from_pretrained(zoo["gpt2"]).model_max_length == NO_TOKENIZER_LIMIT


def test_multi_objective_head_equals_its_plain_forward(multi_objective_model, rmb_rows, rb_home):
    # no positions in its config: the tokenizer's model_max_length (1024) is the cap
    expected = plain_forward(multi_objective_model, conversations(*rmb_rows), 1024)
    n_over = sum(length > 1024 for _, length in expected.values())
    for batch_size in BATCH_SIZES:
        entry = ModelEntry(id=f"zoo/multi-objective-b{batch_size}", source=str(multi_objective_model))
        scores, record = score_with_engine(entry, rmb_rows, batch_size)
        assert_matches(scores, expected)
        assert (record["max_length"], record["n_truncated"]) == (1024, n_over)


def comparisons(rmb_rows, n: int) -> list[Comparison]:
    """The best answer against each loser, both orders, of the first lists (real RMB rows)."""
    examples, responses = rmb_rows
    joined = responses.join(
        examples.select("benchmark", "example_id", "prompt"), on=["benchmark", "example_id"]
    )
    out = []
    for _, group in joined.group_by("benchmark", "example_id", maintain_order=True):
        best = group.filter(pl.col("label") == "chosen").row(0, named=True)
        for loser in group.filter(pl.col("label") == "rejected").iter_rows(named=True):
            for a, b in ((best, loser), (loser, best)):
                out.append(Comparison(a["response_id"], b["response_id"], a["prompt"], a["text"], b["text"]))
    return out[:n]


@torch.inference_mode()
def test_pairwise_model_equals_its_plain_forward(tmp_path, rmb_rows, rb_home):
    """A pairwise model (one classifier input holding both answers) at 1024 positions: inputs that fit
    are judged by its score, equal to a plain forward; longer ones are 'error' with the overflow
    counted (a cut judge input would lose answer B), never an IndexError."""
    path = build_tiny_twin(tmp_path / "pair", "llama", texts=rmb_rows[1]["text"].to_list(), positions=1024)
    entry = ModelEntry(id="zoo/pairwise", type="pairwise-judge", source=str(path))
    batch = comparisons(rmb_rows, 40)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
    expected = []
    for c in batch:
        _, user = format_judge_prompt(c.prompt, c.answer_a, c.answer_b)
        text = tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False)
        ids = tokenizer(text, return_tensors="pt")["input_ids"]
        expected.append(
            float(model(input_ids=ids).logits[0, 0]) if ids.shape[1] <= 1024 else ids.shape[1] - 1024
        )
    n_fit = sum(isinstance(value, float) for value in expected)
    assert 0 < n_fit < len(batch)
    judge = PairwiseClassifierJudge(entry, ScorerSettings(dtype="float32"), "cpu")  # max_length 2048
    assert judge.settings.max_length == 1024
    for batch_size in BATCH_SIZES:
        judged = [
            j
            for start in range(0, len(batch), batch_size)
            for j in judge.judge(batch[start : start + batch_size])
        ]
        for judgment, value in zip(judged, expected, strict=True):
            if isinstance(value, float):
                assert judgment.judge_score == pytest.approx(value, abs=TOLERANCE)
                assert judgment.verdict == ("A" if value > 0 else "B")
            else:
                assert (judgment.verdict, judgment.truncated_tokens) == ("error", value)


def test_settings_key_uses_the_effective_length(zoo):
    entry = ModelEntry(id="zoo/gpt2", source=str(zoo["gpt2"]))
    asked = [ScorerSettings(max_length=n) for n in (POSITIONS, 2048, 8192)]
    effective = [effective_settings(entry, settings) for settings in asked]
    assert {settings.max_length for settings in effective} == {POSITIONS}
    assert len({settings.key(entry) for settings in effective}) == 1  # same effective length: same scores
    shorter = ScorerSettings(max_length=100)
    assert effective_settings(entry, shorter) is shorter  # under the cap: the key it always had
    # a generative judge keeps room for the tokens it writes
    judge = ModelEntry(id="zoo/judge", type="generative", source=str(zoo["gpt2"]), max_new_tokens=16)
    assert effective_settings(judge, ScorerSettings()).max_length == POSITIONS - 16


def test_a_tokenizer_without_chat_template_uses_the_entry_template_else_refuses(tmp_path, rmb_rows, rb_home):
    texts = rmb_rows[1]["text"].to_list()
    path = build_tiny_twin(tmp_path / "bare", "qwen2", texts=texts, positions=POSITIONS, chat_template=False)
    assert AutoTokenizer.from_pretrained(path).chat_template is None
    # no template anywhere: one clear refusal, never the turns joined without roles
    entry = ModelEntry(id="zoo/bare", source=str(path))
    with pytest.raises(RuntimeError) as refusal:
        load_scorer(entry, ScorerSettings(dtype="float32"), "cpu")
    message = str(refusal.value)
    assert "\n" not in message and "zoo/bare" in message and "no chat template" in message
    assert "chat_template" in message  # says what to set
    # the entry's named template, or a Jinja template written in the entry, is used
    for template in ("tulu", NAMED_TEMPLATES["pku-align"]):
        named = ModelEntry(id=f"zoo/bare-{len(template)}", source=str(path), chat_template=template)
        jinja = NAMED_TEMPLATES.get(template, template)
        expected = plain_forward(path, conversations(*rmb_rows), POSITIONS, chat_template=jinja)
        scores, _ = score_with_engine(named, rmb_rows, 8, chat_template=template)
        assert_matches(scores, expected)


def test_custom_code_is_refused_unless_the_entry_allows_it(zoo, tmp_path, rb_home, rmb_rows):
    """A config with `auto_map` (ArmoRM-style custom classes): refused in one line before anything is
    loaded. The custom module raises on import, so running it would fail the test; it is never run."""
    from rb_pipeline.models.context import refuse_custom_code

    path = tmp_path / "custom"
    shutil.copytree(zoo["llama-gqa-no-pad"], path)
    config = json.loads((path / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_custom.CustomRewardModel"}
    (path / "config.json").write_text(json.dumps(config))
    (path / "modeling_custom.py").write_text("raise AssertionError('custom code ran')\n")
    entry = ModelEntry(id="zoo/custom", source=str(path))
    for attempt in (
        lambda: load_scorer(entry, ScorerSettings(), "cpu"),
        lambda: score_with_engine(entry, rmb_rows, 8),
    ):
        with pytest.raises(RuntimeError) as refusal:
            attempt()
        message = str(refusal.value)
        assert "\n" not in message and "zoo/custom" in message
        assert "modeling_custom.CustomRewardModel" in message and "trust_remote_code: true" in message
    assert not list(scores_dir("zoo/custom").glob("run=*"))  # refused before a run started
    refuse_custom_code(str(path), "main", allowed=True)  # allowed by the entry: no refusal


def test_cli_scores_a_gpt2_twin_past_its_positions(tmp_path, rmb_rows):
    """`rb-pipeline score` end to end (its own process, Dagster, DuckDB) on a GPT-2 twin with fewer
    positions than the default max_length: no IndexError, the cap and the truncations are recorded."""
    examples, responses = rmb_rows
    path = build_tiny_twin(
        tmp_path / "gpt2-twin", "gpt2", texts=responses["text"].to_list(), positions=POSITIONS
    )
    # real RMB rows as a user's preference file: the best answer against its first loser
    rows = []
    for example in examples.iter_rows(named=True):
        group = responses.filter(pl.col("example_id") == example["example_id"])
        chosen = group.filter(pl.col("label") == "chosen")["text"].to_list()
        rejected = group.filter(pl.col("label") == "rejected")["text"].to_list()
        if chosen and rejected and [turn["role"] for turn in example["prompt"]] == ["user"]:
            prompt = example["prompt"][0]["content"]
            rows.append({"prompt": prompt, "chosen": chosen[0], "rejected": rejected[0]})
    rows = rows[:8]
    dataset = tmp_path / "rmb_rows.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in rows))
    home = tmp_path / "home"
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    env.pop("RB_MIRROR", None)
    result = subprocess.run(
        [sys.executable, "-m", "rb_pipeline.cli", "score", "--model", str(path), "--dataset", str(dataset)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "IndexError" not in result.stdout + result.stderr
    runs = pl.read_parquet(sorted((home / "lake" / "runs").rglob("*.parquet")))
    assert runs.height == 1
    run = runs.row(0, named=True)
    chats = [
        (
            f"{i}{label}",
            [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row[label]}],
        )
        for i, row in enumerate(rows)
        for label in ("chosen", "rejected")
    ]
    lengths = plain_forward(path, chats, POSITIONS)
    n_over = sum(length > POSITIONS for _, length in lengths.values())
    assert n_over > 0
    assert (run["status"], run["max_length"], run["n_responses"]) == ("complete", POSITIONS, 2 * len(rows))
    assert run["n_truncated"] == n_over
    assert f"{2 * len(rows)} responses, max_length {POSITIONS}, {n_over} truncated" in result.stdout
    # the scores are the plain forward's
    scores = pl.read_parquet(sorted((home / "lake" / "scores").rglob("*.parquet")))
    assert sorted(scores["score"].to_list()) == pytest.approx(
        sorted(value for value, _ in lengths.values()), abs=TOLERANCE
    )
