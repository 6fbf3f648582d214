"""Pairwise judges: the parser, the credit rules on hand-made judgments, and judges end to end.

The HTTP judge is tested against a real OpenAI-compatible server started here on 127.0.0.1: it runs a
tiny causal LM's `generate` on the messages it receives. In its `always-a` / `always-b` modes a
LogitsProcessor forces the model to write "[[A]]" / "[[B]]" (a position-biased judge, so the numbers
are known by hand); in `greedy` mode the random model writes what it writes (unparseable: 'error').
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
import torch
from pydantic import ValidationError
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList

from rb_pipeline.catalog.entries import Benchmark, ModelEntry, load_models, register_model
from rb_pipeline.core.lake import read_dataset, write_parquet
from rb_pipeline.core.schemas import JUDGMENTS_SCHEMA
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.judging import judgments_dir, sampled_order
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models import judges
from rb_pipeline.models.judge_prompts import format_judge_prompt, parse_verdict, system_prompt
from rb_pipeline.models.loader import load_judge
from rb_pipeline.models.registry import Comparison
from rb_pipeline.sources.normalize import response_id
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.hand_made import example_row, response_row, write_dataset, write_run_row, write_scores

API_KEY = "test-key-" + secrets.token_hex(4)  # made at run time: no key-shaped literal in the tree

# ---------------------------------------------------------------- a hand-made benchmark

CATALOG = {
    "jb": Benchmark.model_validate(
        {
            "benchmark": "jb",
            "title": "judge bench (hand-made)",
            "kind": "preference",
            "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
            "subsets": {"pairs": {}, "bon": {}},
        }
    )
}
# example_id: (subset, prompt, chosen texts, rejected texts); e5 repeats e1 (judged once)
EXAMPLES = {
    "e1": ("pairs", "What is the capital of France?", ["Paris."], ["Lyon."]),
    "e2": ("pairs", "What is 12 plus 30?", ["42."], ["41."]),
    "e3": ("pairs", "Is water wet?", ["Yes, it is."], ["No."]),
    "e4": ("pairs", "Say thank you.", ["Thank you!"], ["No thanks."]),
    "e5": ("pairs", "What is the capital of France?", ["Paris."], ["Lyon."]),
    "b1": (
        "bon",
        "How do I sort a list?",
        ["sorted(items)"],
        ["items.sort", "print(items)", "reverse(items)"],
    ),
}


def write_judge_dataset(
    examples: dict = EXAMPLES, hashed_ids: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The examples and responses of `jb` in the lake; ids are content hashes, or `<example>-c<i>` /
    `<example>-r<i>` (hand-made judgments)."""
    example_rows, response_rows = [], []
    for row, (example_id, (subset, question, chosen, rejected)) in enumerate(examples.items()):
        prompt = [{"role": "user", "content": question}]
        example_rows.append(example_row("jb", subset, example_id, prompt, row))
        labelled = [("chosen", t, f"c{i}") for i, t in enumerate(chosen)]
        labelled += [("rejected", t, f"r{i}") for i, t in enumerate(rejected)]
        for position, (label, text, short) in enumerate(labelled):
            rid = response_id(prompt, text) if hashed_ids else f"{example_id}-{short}"
            response_rows.append(response_row("jb", example_id, rid, position, text, label))
    return write_dataset("jb", example_rows, response_rows)


def write_judge_run(
    model: str, run_id: str, rows: list[tuple], ended: datetime = datetime(2026, 1, 2, tzinfo=UTC)
) -> None:
    """Hand-made judgments: rows of (example_id, chosen, rejected, pair_order, sampled, verdict, judge)."""
    records = []
    for example_id, chosen, rejected, order, sampled, verdict, judge in rows:
        a, b = (chosen, rejected) if order == "chosen_first" else (rejected, chosen)
        records.append(
            {
                "model": model,
                "run_id": run_id,
                "settings_key": "k",
                "benchmark": "jb",
                "example_id": example_id,
                "response_a_id": f"{example_id}-{a}",
                "response_b_id": f"{example_id}-{b}",
                "pair_order": order,
                "sampled": sampled,
                "judge": judge,
                "judge_model": f"judge-{judge}",
                "verdict": verdict,
                "raw_output": None,
                "judge_score": None,
                "n_tokens": 0,
                "truncated_tokens": 0,
                "reused": False,
            }
        )
    write_parquet(
        pl.DataFrame(records, schema=JUDGMENTS_SCHEMA), judgments_dir(model, run_id) / "part-0.parquet"
    )
    write_run_row(model, run_id, ["jb"], ended, model_type="generative")


def rows_of(sql: str, path: Path) -> list[dict]:
    return query(sql, path).to_dicts()


# ---------------------------------------------------------------- parser and prompts


@pytest.mark.parametrize(
    ("output", "verdict"),
    [
        ("[[A]]", "A"),
        ("Assistant B is more accurate. Final verdict: [[B]].", "B"),
        ("Both are equally good. [[C]]", "tie"),
        ("[[A]] ... on reflection [[B]]", "A"),  # rewardbench checks "[[A]]" first
        ("[[B]] ... no, [[A]]", "A"),
        ("[[C]] or maybe [[B]]", "B"),  # "[[B]]" is checked before "[[C]]" (FastChat's order)
        ("[A]", "error"),
        ("[[a]]", "error"),  # case-sensitive, as rewardbench's `in`
        ("A is better", "error"),
        ("", "error"),
        (None, "error"),
    ],
)
def test_parse_verdict_follows_rewardbench(output, verdict):
    assert parse_verdict(output) == verdict


def test_judge_prompts_are_rewardbench_pair_v2():
    system, user = format_judge_prompt([{"role": "user", "content": "Q?"}], "ans A", "ans B")
    assert system == system_prompt("pair-v2")
    assert system.startswith("Please act as an impartial judge and evaluate the quality of the responses")
    assert system.endswith('"[[A]]" if assistant A is better, "[[B]]" if assistant B is better.')
    assert "[[C]]" not in system  # rewardbench removed the tie option
    assert system_prompt("pair-v2-tie").endswith(', and "[[C]]" for a tie.')
    assert user == (
        "[User Question]\nQ?\n\n[The Start of Assistant A's Answer]\nans A\n[The End of Assistant A's Answer]"
        "\n\n[The Start of Assistant B's Answer]\nans B\n[The End of Assistant B's Answer]"
    )
    turns = [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "Q2"},
    ]
    system, user = format_judge_prompt(turns, "ans A", "ans B")
    assert "focus on who provides a better answer to the second user question" in system
    assert "### User:\nQ2\n\n### Assistant A:\nans A" in user and "### Assistant B:\nfirst" in user
    _, user = format_judge_prompt([{"role": "system", "content": "Be brief."}, *turns[:1]], "x", "y")
    assert user.startswith("[User Question]\n### System:\nBe brief.\n\n### User:\nQ1\n\n")


def test_sampled_order_is_seeded_per_pair_and_balanced():
    assert sampled_order("e1", "c", "r") == sampled_order("e1", "c", "r")
    # pinned: changing the seed or the hash changes every judge's official number
    assert [sampled_order(f"x{i}", "c", "r") for i in range(6)] == [
        "rejected_first",
        "chosen_first",
        "rejected_first",
        "chosen_first",
        "rejected_first",
        "chosen_first",
    ]
    draws = [sampled_order(f"x{i}", "c", "r") for i in range(400)]
    assert 160 < draws.count("chosen_first") < 240


def test_entry_validation():
    with pytest.raises(ValidationError, match="odd number of judges"):
        ModelEntry(id="poll", type="generative", judges=("a", "b"))
    with pytest.raises(ValidationError, match="judges: only a model of type pairwise-judge or generative"):
        ModelEntry(id="x", type="classifier", judges=("a",))
    with pytest.raises(ValidationError, match="api_base: only a model of type generative"):
        ModelEntry(id="x", type="classifier", api_base="http://127.0.0.1:1/v1")


# ---------------------------------------------------------------- the credit rules (SQL)


def test_credit_rules_on_hand_made_judgments(rb_home):
    write_judge_dataset(
        {
            **{e: ("pairs", f"q {e}", ["c"], ["r"]) for e in ("e1", "e2", "e3", "e4", "e5")},
            **{b: ("bon", f"q {b}", ["c"], ["x", "y", "z"]) for b in ("b1", "b2", "b3")},
        },
        hashed_ids=False,
    )
    cf, rf = "chosen_first", "rejected_first"
    rows = [
        # e1: chosen wins in both orders (A when first, B when second): 1; both orders 1; consistent
        ("e1", "c0", "r0", cf, True, "A", 0),
        ("e1", "c0", "r0", rf, False, "B", 0),
        # e2: always says A (position bias); the drawn order shows the rejected first: 0; both orders 0
        ("e2", "c0", "r0", cf, False, "A", 0),
        ("e2", "c0", "r0", rf, True, "A", 0),
        # e3: tie in the drawn order: 0.5, correct NULL; the other order names the chosen: both orders 1
        ("e3", "c0", "r0", cf, True, "tie", 0),
        ("e3", "c0", "r0", rf, False, "B", 0),
        # e4: unparseable in both orders: 0.5; both orders 0; consistent (JudgeBench: None == None)
        ("e4", "c0", "r0", cf, False, "error", 0),
        ("e4", "c0", "r0", rf, True, "error", 0),
        # e5: chosen wins when second (B); drawn order rejected_first: 1; both orders 1
        ("e5", "c0", "r0", cf, False, "A", 0),
        ("e5", "c0", "r0", rf, True, "B", 0),
    ]
    # best-of-4: drawn-order winners b1 (chosen, chosen, tie) -> 0.5; b2 (chosen, rejected, tie) -> 0;
    # b3 (chosen x3) -> 1. The other order always names the chosen, so both orders: b1 1, b2 0 (+1 -1
    # on y), b3 1.
    for example_id, drawn in {
        "b1": ("A", "A", "tie"),
        "b2": ("A", "B", "tie"),
        "b3": ("A", "A", "A"),
    }.items():
        for loser, verdict in zip(("r0", "r1", "r2"), drawn, strict=True):
            rows += [
                (example_id, "c0", loser, cf, True, verdict, 0),
                (example_id, "c0", loser, rf, False, "B", 0),
            ]
    write_judge_run("judge/one", "run-1", rows)
    # an older run with the opposite verdicts is not read
    flipped = [(*r[:5], {"A": "B", "B": "A"}.get(r[5], r[5]), 0) for r in rows]
    write_judge_run("judge/one", "run-0", flipped, ended=datetime(2025, 1, 1, tzinfo=UTC))
    # a pointwise model on the same examples: credit = correct::double
    rm_scores = [(f"{e}-c0", 1.0) for e in ("e1", "e2", "e3", "e4", "e5")]
    rm_scores += [(f"{e}-r0", 0.0 if e != "e2" else 2.0) for e in ("e1", "e2", "e3", "e4", "e5")]
    write_scores("rm", "rm-1", dict(rm_scores))
    write_run_row("rm", "rm-1", ["jb"], datetime(2026, 1, 1, tzinfo=UTC), model_type="classifier")
    path = build_warehouse(CATALOG)

    outcomes = rows_of(
        "select example_id, correct, margin, credit, credit_both_orders, order_consistent"
        " from example_outcomes where model = 'judge/one' order by example_id",
        path,
    )
    assert outcomes == [
        {
            "example_id": "b1",
            "correct": None,
            "margin": None,
            "credit": 0.5,
            "credit_both_orders": 1.0,
            "order_consistent": False,
        },
        {
            "example_id": "b2",
            "correct": False,
            "margin": None,
            "credit": 0.0,
            "credit_both_orders": 0.0,
            "order_consistent": False,
        },
        {
            "example_id": "b3",
            "correct": True,
            "margin": None,
            "credit": 1.0,
            "credit_both_orders": 1.0,
            "order_consistent": True,
        },
        {
            "example_id": "e1",
            "correct": True,
            "margin": None,
            "credit": 1.0,
            "credit_both_orders": 1.0,
            "order_consistent": True,
        },
        {
            "example_id": "e2",
            "correct": False,
            "margin": None,
            "credit": 0.0,
            "credit_both_orders": 0.0,
            "order_consistent": False,
        },
        {
            "example_id": "e3",
            "correct": None,
            "margin": None,
            "credit": 0.5,
            "credit_both_orders": 1.0,
            "order_consistent": False,
        },
        {
            "example_id": "e4",
            "correct": None,
            "margin": None,
            "credit": 0.5,
            "credit_both_orders": 0.0,
            "order_consistent": True,
        },
        {
            "example_id": "e5",
            "correct": True,
            "margin": None,
            "credit": 1.0,
            "credit_both_orders": 1.0,
            "order_consistent": True,
        },
    ]
    # pairs: (1 + 0 + 0.5 + 0.5 + 1) / 5 = 0.6, ties counted in n; bon: (0.5 + 0 + 1) / 3 = 0.5
    assert rows_of(
        "select subset, n, accuracy from subset_accuracy where model = 'judge/one' order by 1", path
    ) == [
        {"subset": "bon", "n": 3, "accuracy": pytest.approx(0.5)},
        {"subset": "pairs", "n": 5, "accuracy": pytest.approx(0.6)},
    ]
    # both orders (JudgeBench): pairs 3 / 5, bon 2 / 3; consistency: pairs 3 / 5 (e1, e4, e5), bon 1 / 3
    history = rows_of(
        "select subset, accuracy_both_orders, order_consistency from subset_accuracy_history"
        " where run_id = 'run-1' order by 1",
        path,
    )
    assert history == [
        {
            "subset": "bon",
            "accuracy_both_orders": pytest.approx(2 / 3),
            "order_consistency": pytest.approx(1 / 3),
        },
        {
            "subset": "pairs",
            "accuracy_both_orders": pytest.approx(0.6),
            "order_consistency": pytest.approx(0.6),
        },
    ]
    pointwise = rows_of(
        "select example_id, correct, credit, credit_both_orders, order_consistent from example_outcomes"
        " where model = 'rm' and subset = 'pairs' order by 1",
        path,
    )
    assert [r["credit"] for r in pointwise] == [1.0, 0.0, 1.0, 1.0, 1.0]
    assert all(r["credit"] == r["credit_both_orders"] == float(r["correct"]) for r in pointwise)
    assert all(r["order_consistent"] is None for r in pointwise)
    assert rows_of("select subset, n, accuracy from subset_accuracy where model = 'rm' order by 1", path) == [
        {"subset": "bon", "n": 0, "accuracy": None},  # not scored: not counted
        {"subset": "pairs", "n": 5, "accuracy": 0.8},
    ]


def test_judgebench_and_rewardbench_2_rules_for_judges(rb_home):
    """The subset's catalog rule decides a judge's credit (issue 12, fixes 2 and 3):
    judgebench-both-orders: JudgeBench's metrics.py (both orders, +1 / -1 per order, right when > 0);
    rb2-top-share: run_generative_v2.py: 0 when a rejected wins, else 1 / (1 + tied or unparseable);
    rb2-ties: upstream scores Ties from per-response ratings, which a pairwise judge does not give:
    no credit (never a fallback to plain accuracy), so the section stays empty with its coverage."""
    catalog = {
        "jb": Benchmark.model_validate(
            {
                "benchmark": "jb",
                "title": "judge rules (hand-made)",
                "kind": "preference",
                "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
                "sections": {"t": {"title": "Ties", "column": "hand_ties"}},
                "subsets": {
                    "pairs": {"rule": "judgebench-both-orders"},
                    "bon": {"rule": "rb2-top-share"},
                    "ties": {"rule": "rb2-ties", "section": "t", "weight": 1},
                },
            }
        )
    }
    write_judge_dataset(
        {
            **{e: ("pairs", f"q {e}", ["c"], ["r"]) for e in ("e1", "e2", "e3", "e4")},
            **{b: ("bon", f"q {b}", ["c"], ["x", "y", "z"]) for b in ("b1", "b2", "b3", "b4")},
            "t1": ("ties", "q t1", ["c"], ["x"]),
        },
        hashed_ids=False,
    )
    cf, rf = "chosen_first", "rejected_first"
    # pairs, (chosen_first verdict, rejected_first verdict), the drawn order is chosen_first:
    # e1 (A, B): +2 -> 1; e2 (A, A): +1 -1 = 0 -> 0 (position bias); e3 (tie, B): +1 -> 1 (JudgeBench
    # counts one win and a tie as right); e4 (error, error): 0 -> 0. RewardBench's rule would give
    # 1, 1, 0.5, 0.5 here (one order, tie 0.5): accuracy 0.75 instead of JudgeBench's 0.5.
    pairs = {"e1": ("A", "B"), "e2": ("A", "A"), "e3": ("tie", "B"), "e4": ("error", "error")}
    rows = [(e, "c0", "r0", cf, True, first, 0) for e, (first, _) in pairs.items()]
    rows += [(e, "c0", "r0", rf, False, second, 0) for e, (_, second) in pairs.items()]
    # best-of-4, drawn-order verdicts vs each loser: b1 (A, A, tie) -> 1/2; b2 (A, B, tie) -> 0;
    # b3 (error, error, error) -> 1/4 (upstream's 0.25 for an unparseable 4-way verdict); b4 (A, A, A) -> 1
    for example_id, drawn in {
        "b1": ("A", "A", "tie"),
        "b2": ("A", "B", "tie"),
        "b3": ("error", "error", "error"),
        "b4": ("A", "A", "A"),
    }.items():
        for loser, verdict in zip(("r0", "r1", "r2"), drawn, strict=True):
            rows += [
                (example_id, "c0", loser, cf, True, verdict, 0),
                (example_id, "c0", loser, rf, False, "B", 0),
            ]
    rows += [("t1", "c0", "r0", cf, True, "A", 0), ("t1", "c0", "r0", rf, False, "B", 0)]
    write_judge_run("judge/rules", "run-1", rows)
    path = build_warehouse(catalog)

    credits = rows_of(
        "select example_id, rule, credit, correct from example_outcomes_history order by example_id", path
    )
    assert [(r["example_id"], r["rule"], r["credit"]) for r in credits] == [
        ("b1", "rb2-top-share", 0.5),
        ("b2", "rb2-top-share", 0.0),
        ("b3", "rb2-top-share", 0.25),
        ("b4", "rb2-top-share", 1.0),
        ("e1", "judgebench-both-orders", 1.0),
        ("e2", "judgebench-both-orders", 0.0),
        ("e3", "judgebench-both-orders", 1.0),
        ("e4", "judgebench-both-orders", 0.0),
        ("t1", "rb2-ties", None),
    ]
    # pairs (1 + 0 + 1 + 0) / 4 = 0.5; bon (0.5 + 0 + 0.25 + 1) / 4 = 0.4375; ties: nothing scored
    assert rows_of("select subset, n, accuracy from subset_accuracy order by 1", path) == [
        {"subset": "bon", "n": 4, "accuracy": pytest.approx(0.4375)},
        {"subset": "pairs", "n": 4, "accuracy": pytest.approx(0.5)},
        {"subset": "ties", "n": 0, "accuracy": None},
    ]
    (board,) = rows_of("select hand_ties, coverage from leaderboard", path)
    assert board == {"hand_ties": None, "coverage": "hand_ties: empty, missing ties (0/?)"}
    names = {r["rule"] for r in rows_of("select rule from scoring_rules", path)}
    assert {"strict", "judge-tie-credit", "rb2-top-share", "rb2-ties", "judgebench-both-orders"} <= names


def test_ensemble_takes_the_majority_verdict(rb_home):
    write_judge_dataset(
        {e: ("pairs", f"q {e}", ["c"], ["r"]) for e in ("e1", "e2", "e3", "e4", "e5")}, hashed_ids=False
    )
    cf, rf = "chosen_first", "rejected_first"
    votes = {  # the three judges' verdicts in the drawn order (chosen first)
        "e1": ("A", "A", "B"),  # chosen, chosen, rejected -> chosen: 1
        "e2": ("B", "B", "A"),  # -> rejected: 0
        "e3": ("A", "B", "error"),  # no majority -> tie: 0.5
        "e4": ("error", "error", "A"),  # error -> 0.5
        "e5": ("tie", "tie", "A"),  # tie -> 0.5
    }
    rows = []
    for example_id, verdicts in votes.items():
        for judge, verdict in enumerate(verdicts):
            rows += [
                (example_id, "c0", "r0", cf, True, verdict, judge),
                (example_id, "c0", "r0", rf, False, "B", judge),
            ]
    write_judge_run("judge/poll", "poll-1", rows)
    path = build_warehouse(CATALOG)
    credits = rows_of(
        "select example_id, credit from example_outcomes where model = 'judge/poll' order by 1", path
    )
    assert [r["credit"] for r in credits] == [1.0, 0.0, 0.5, 0.5, 0.5]
    assert rows_of("select n, accuracy from subset_accuracy where model = 'judge/poll'", path) == [
        {"n": 5, "accuracy": pytest.approx(0.5)}
    ]


# ---------------------------------------------------------------- a real local OpenAI-compatible server


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("judge-models") / "tiny-lm")


class ForceText(LogitsProcessor):
    """Make the model write exactly `target` (token ids), then end of sequence."""

    def __init__(self, target: list[int], prompt_length: int, eos_id: int) -> None:
        self.target, self.prompt_length, self.eos_id = target, prompt_length, eos_id

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_length
        token = self.target[step] if step < len(self.target) else self.eos_id
        forced = torch.full_like(scores, float("-inf"))
        forced[:, token] = 0.0
        return forced


class TinyChatServer:
    """`POST /v1/chat/completions` served by a tiny transformers causal LM, on 127.0.0.1."""

    FORCED = {"always-a": "[[A]]", "always-b": "[[B]]"}

    def __init__(self, model_dir: Path, api_key: str | None = None, fail_first: int = 0, delay: float = 0.0):
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        self.api_key, self.fail_first, self.delay = api_key, fail_first, delay
        self.bodies: list[dict] = []
        self.auth: list[str | None] = []
        self.n_requests = 0
        self.lock = threading.Lock()

    def reply(self, body: dict) -> str:
        tokenizer = self.tokenizer
        text = tokenizer.apply_chat_template(body["messages"], tokenize=False, add_generation_prompt=True)
        inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt")
        length = inputs["input_ids"].shape[1]
        processors = LogitsProcessorList()
        if body["model"] in self.FORCED:
            target = tokenizer(self.FORCED[body["model"]], add_special_tokens=False)["input_ids"]
            processors.append(ForceText(target, length, tokenizer.eos_token_id))
        with self.lock, torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=min(int(body.get("max_tokens", 16)), 16),
                do_sample=False,
                logits_processor=processors,
                pad_token_id=tokenizer.pad_token_id,
            )
        return tokenizer.decode(output[0, length:], skip_special_tokens=True)

    def __enter__(self) -> TinyChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.n_requests += 1
                    n = server.n_requests
                if server.delay:
                    time.sleep(server.delay)
                if self.path != "/v1/chat/completions":
                    return self.send(404, {"error": {"message": f"no route {self.path}"}})
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self.send(401, {"error": {"message": "invalid api key"}})
                if body["model"] == "too-long":  # vLLM's answer to a prompt over the context
                    return self.send(400, {"error": {"message": "maximum context length exceeded"}})
                if n <= server.fail_first:
                    # the client waits as long as the server asks (OpenAI's header): keeps the test fast
                    return self.send(503, {"error": {"message": "warming up"}}, {"retry-after-ms": "10"})
                server.bodies.append(body)
                server.auth.append(self.headers.get("Authorization"))
                content = server.reply(body)
                self.send(
                    200,
                    {
                        "id": f"cmpl-{n}",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


def http_judge(server: TinyChatServer, mode: str = "always-a", **fields) -> ModelEntry:
    return ModelEntry(
        id=fields.pop("id", "test/http-judge"),
        type="generative",
        api_base=server.api_base,
        api_model=mode,
        api_key_env="RB_TEST_JUDGE_KEY",
        max_new_tokens=16,
        request_timeout=fields.pop("request_timeout", 20),
        max_retries=fields.pop("max_retries", 1),
        **fields,
    )


def run_judge(entry: ModelEntry, **kwargs):
    """Judge `jb` through score_model (the entry point the scores asset calls)."""
    return score_model(
        entry,
        read_dataset("responses", "jb"),
        read_dataset("examples", "jb"),
        kwargs.pop("settings", ScorerSettings(batch_size=4)),
        ["jb"],
        device="cpu",
        log=lambda _: None,
        **kwargs,
    )


def lake_judgments(model_id: str, run_id: str) -> pl.DataFrame:
    return pl.read_parquet(sorted(judgments_dir(model_id, run_id).glob("*.parquet")))


def test_http_judge_end_to_end_through_the_warehouse(rb_home, tiny_lm, monkeypatch):
    monkeypatch.setenv("RB_TEST_JUDGE_KEY", API_KEY)
    write_judge_dataset()
    with TinyChatServer(tiny_lm, api_key=API_KEY) as server:
        result = run_judge(http_judge(server))
    # 4 distinct pairs (e5 repeats e1) + 3 best-of-4 comparisons, each in both orders: 14 calls
    assert (result.n_responses, result.n_scored, result.n_reused) == (14, 14, 0)
    assert server.n_requests == 14 and len(server.bodies) == 14
    assert set(server.auth) == {f"Bearer {API_KEY}"}
    body = server.bodies[0]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("always-a", 0, 16)
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == system_prompt("pair-v2")

    rows = lake_judgments("test/http-judge", result.run_id)
    assert rows.height == 5 * 2 + 3 * 2  # one row per (example, ordered pair): e5 has its own rows
    assert (rows["raw_output"] == "[[A]]").all() and (rows["verdict"] == "A").all()
    per_pair = rows.group_by("example_id", "response_a_id", "response_b_id").len()
    assert per_pair["len"].max() == 1
    orders = rows.group_by("example_id").agg(pl.col("pair_order").sort()).sort("example_id")
    assert orders["pair_order"].to_list()[0] == ["chosen_first"] * 3 + ["rejected_first"] * 3  # b1
    assert all(o == ["chosen_first", "rejected_first"] for o in orders["pair_order"].to_list()[1:])
    assert rows.filter(pl.col("sampled")).height == 5 + 3  # one drawn order per comparison

    run = pl.read_parquet(rb_home / "lake" / "runs" / f"{result.run_id}.parquet").row(0, named=True)
    assert (run["status"], run["model_type"]) == ("complete", "generative")
    assert API_KEY not in json.dumps(run, default=str)

    # The judge always answers A, so a comparison is won exactly when its drawn order shows the chosen
    # response first. The draws (fixed seed, pinned here):
    drawn = {
        row["example_id"]: row["pair_order"]
        for row in rows.filter(pl.col("sampled")).sort("example_id", "response_b_id").iter_rows(named=True)
        if row["example_id"] != "b1"
    }
    assert drawn == {
        "e1": "chosen_first",
        "e2": "rejected_first",
        "e3": "rejected_first",
        "e4": "rejected_first",
        "e5": "chosen_first",
    }
    b1 = rows.filter((pl.col("example_id") == "b1") & pl.col("sampled"))["pair_order"].to_list()
    assert sorted(b1) == ["chosen_first", "rejected_first", "rejected_first"]  # it loses two: 0
    path = build_warehouse(CATALOG)
    # pairs: e1 and e5 won, e2 e3 e4 lost: 2 / 5; bon: b1 lost a comparison: 0
    assert rows_of(
        "select subset, n, accuracy from subset_accuracy where model = 'test/http-judge' order by 1", path
    ) == [{"subset": "bon", "n": 1, "accuracy": 0.0}, {"subset": "pairs", "n": 5, "accuracy": 0.4}]
    # both orders: every comparison is +1 -1 = 0 (never won), and never consistent
    assert rows_of(
        "select sum(credit_both_orders) as s, bool_or(order_consistent) as c from example_outcomes"
        " where model = 'test/http-judge'",
        path,
    ) == [{"s": 0.0, "c": False}]


def test_http_judge_retries_then_gives_up_with_bounded_time(rb_home, tiny_lm, monkeypatch):
    monkeypatch.setenv("RB_TEST_JUDGE_KEY", API_KEY)
    write_judge_dataset({"e1": EXAMPLES["e1"]})
    with TinyChatServer(tiny_lm, api_key=API_KEY, fail_first=1) as server:  # one 503, then fine
        result = run_judge(http_judge(server, max_retries=2), settings=ScorerSettings(batch_size=1))
        assert result.n_scored == 2 and server.n_requests == 3
    with TinyChatServer(tiny_lm, api_key=API_KEY, fail_first=10**6) as server:  # always 503
        with pytest.raises(judges.JudgeServerError, match=r"HTTP 503: warming up \(after 3 attempts\)"):
            run_judge(
                http_judge(server, id="test/down", max_retries=2), settings=ScorerSettings(batch_size=1)
            )
        assert server.n_requests == 3
    with TinyChatServer(tiny_lm, api_key=API_KEY) as server:  # an input the server refuses: not retried
        refused = run_judge(http_judge(server, "too-long", id="test/refused", max_retries=2))
        assert server.n_requests == 2  # e1 in both orders, once each
    rows = lake_judgments("test/refused", refused.run_id)
    assert rows["verdict"].to_list() == ["error", "error"]
    assert set(rows["raw_output"]) == {"HTTP 400: maximum context length exceeded"}
    failed = pl.read_parquet(sorted((rb_home / "lake" / "runs").glob("*.parquet"))).filter(
        pl.col("model") == "test/down"
    )
    assert failed["status"].to_list() == ["failed"]
    with TinyChatServer(tiny_lm, api_key=API_KEY, delay=2.0) as server:  # slower than the timeout
        start = time.monotonic()
        with pytest.raises(judges.JudgeServerError, match="timed out"):
            run_judge(
                http_judge(server, id="test/slow", max_retries=1, request_timeout=0.3),
                settings=ScorerSettings(batch_size=1),
            )
        assert time.monotonic() - start < 5
    monkeypatch.setenv("RB_TEST_JUDGE_KEY", "sk-wrong")
    with TinyChatServer(tiny_lm, api_key=API_KEY) as server:  # a wrong key is not retried
        with pytest.raises(judges.JudgeServerError, match="HTTP 401: invalid api key") as error:
            run_judge(
                http_judge(server, id="test/badkey", max_retries=3), settings=ScorerSettings(batch_size=1)
            )
        assert server.n_requests == 1 and "sk-wrong" not in str(error.value)
    monkeypatch.delenv("RB_TEST_JUDGE_KEY")
    with pytest.raises(RuntimeError, match="environment variable RB_TEST_JUDGE_KEY"):
        load_judge(http_judge(server), ScorerSettings(), "cpu")


def test_resume_judges_only_what_is_missing(rb_home, tiny_lm, monkeypatch):
    monkeypatch.setenv("RB_TEST_JUDGE_KEY", API_KEY)
    write_judge_dataset({k: EXAMPLES[k] for k in ("e1", "e2", "e5", "b1")})  # 2 + 3 comparisons: 10 calls
    real_judge = judges.OpenAICompatibleJudge.judge
    calls = {"n": 0}

    def dying_judge(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real_judge(self, batch)

    with TinyChatServer(tiny_lm, api_key=API_KEY) as server:
        entry = http_judge(server)
        monkeypatch.setattr(judges.OpenAICompatibleJudge, "judge", dying_judge)
        with pytest.raises(RuntimeError, match="simulated crash"):
            run_judge(entry, settings=ScorerSettings(batch_size=2), shard_rows=1)
        assert server.n_requests == 4  # two batches of two, each flushed before the crash
        monkeypatch.setattr(judges.OpenAICompatibleJudge, "judge", real_judge)
        resumed = run_judge(entry, settings=ScorerSettings(batch_size=2))
        assert (resumed.n_reused, resumed.n_scored) == (4, 6) and server.n_requests == 10
        judged = [(b["messages"][1]["content"]) for b in server.bodies]
        assert len(set(judged)) == len(judged) == 10  # every (prompt, A, B) judged exactly once
        rows = lake_judgments(entry.id, resumed.run_id)
        assert rows.height == 3 * 2 + 3 * 2 and rows.filter(pl.col("reused")).height >= 4
        again = run_judge(entry)  # a complete run: everything is reused
        assert (again.n_reused, again.n_scored) == (10, 0) and server.n_requests == 10
        longer = run_judge(entry.model_copy(update={"max_new_tokens": 8}))  # other settings: judged again
        assert longer.n_scored == 10 and server.n_requests == 20
        assert server.bodies[-1]["max_tokens"] == 8


def test_ensemble_entry_runs_each_member(rb_home, tiny_lm, monkeypatch):
    monkeypatch.setenv("RB_TEST_JUDGE_KEY", API_KEY)
    write_judge_dataset({k: EXAMPLES[k] for k in ("e1", "e2")})
    with TinyChatServer(tiny_lm, api_key=API_KEY) as server:
        for member, mode in (("judge/a1", "always-a"), ("judge/b", "always-b"), ("judge/a2", "always-a")):
            register_model(http_judge(server, mode, id=member))
        poll = ModelEntry(id="judge/poll", type="generative", judges=("judge/a1", "judge/b", "judge/a2"))
        register_model(poll)
        assert load_models()["judge/poll"].judges == ("judge/a1", "judge/b", "judge/a2")
        result = run_judge(poll)
        single = run_judge(http_judge(server, id="judge/single"))
    assert (result.n_responses, result.n_scored) == (3 * 4, 3 * 4)
    rows = lake_judgments("judge/poll", result.run_id)
    assert rows.group_by("judge", "judge_model", "verdict").len().sort("judge").rows() == [
        (0, "judge/a1", "A", 4),
        (1, "judge/b", "B", 4),
        (2, "judge/a2", "A", 4),
    ]
    path = build_warehouse(CATALOG)
    # two of three always say A: the majority is A, so the ensemble scores as the single always-A judge
    sql = "select example_id, credit from example_outcomes where model = '{}' order by 1"
    assert rows_of(sql.format("judge/poll"), path) == rows_of(sql.format("judge/single"), path)
    # e1's draw shows the chosen first (won), e2's the rejected first (lost)
    assert [r["credit"] for r in rows_of(sql.format("judge/poll"), path)] == [1.0, 0.0]
    assert single.n_scored == 4


# ---------------------------------------------------------------- local transformers judges


def test_local_generative_judge_parses_what_the_model_writes(rb_home, tiny_lm):
    write_judge_dataset({"e1": EXAMPLES["e1"], "e2": EXAMPLES["e2"]})
    entry = ModelEntry(
        id="test/local-judge", type="generative", source=str(tiny_lm), max_new_tokens=8, max_length=1024
    )
    result = run_judge(entry, settings=ScorerSettings(batch_size=4, max_length=1024))
    rows = lake_judgments(entry.id, result.run_id)
    assert rows.height == 4 and (rows["n_tokens"] > 100).all() and (rows["truncated_tokens"] == 0).all()
    assert rows["raw_output"].is_not_null().all()
    # the random model writes no verdict (none of rewardbench's markers "[[A]]", "[[B]]", "[[C]]"):
    # every comparison is an error, worth 0.5
    markers = ("[[A]]", "[[B]]", "[[C]]")
    assert not [text for text in rows["raw_output"].to_list() if any(m in text for m in markers)]
    assert rows["verdict"].to_list() == ["error"] * 4
    path = build_warehouse(CATALOG)
    credits = rows_of("select credit from example_outcomes where model = 'test/local-judge'", path)
    assert [r["credit"] for r in credits] == [0.5, 0.5]
    # an input longer than max_length is not judged: error, with the overflow counted
    short = run_judge(entry.model_copy(update={"id": "test/short"}), settings=ScorerSettings(max_length=50))
    rows = lake_judgments("test/short", short.run_id)
    assert (rows["verdict"] == "error").all() and rows["raw_output"].is_null().all()
    assert (rows["truncated_tokens"] > 0).all() and short.n_truncated == 4


def test_pairwise_classifier_judge(rb_home, tmp_path):
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    write_judge_dataset({"e1": EXAMPLES["e1"], "e2": EXAMPLES["e2"], "b1": EXAMPLES["b1"]})
    model_dir = build_tiny_classifier(tmp_path / "tiny-pair-classifier", seed=3)
    entry = ModelEntry(id="test/pair-rm", type="pairwise-judge", source=str(model_dir), max_length=1024)
    result = run_judge(entry, settings=ScorerSettings(batch_size=3, max_length=1024))
    rows = lake_judgments(entry.id, result.run_id)
    assert rows.height == 2 * 2 + 3 * 2 and rows["judge_score"].is_not_null().all()
    assert rows["verdict"].to_list() == ["A" if s > 0 else "B" for s in rows["judge_score"].to_list()]
    # the score is the model's logit on the one input holding both answers
    judge = load_judge(entry, ScorerSettings(max_length=1024), "cpu")
    examples, responses = read_dataset("examples", "jb"), read_dataset("responses", "jb")
    row = rows.row(0, named=True)
    text_of = dict(zip(responses["response_id"], responses["text"], strict=True))
    prompt = examples.filter(pl.col("example_id") == row["example_id"])["prompt"].to_list()[0]
    comparison = Comparison(
        row["response_a_id"],
        row["response_b_id"],
        prompt,
        text_of[row["response_a_id"]],
        text_of[row["response_b_id"]],
    )
    # written out here: rewardbench's single-turn pair prompt as the one user turn of the tiny
    # classifier's chat template (tiny_models.CHAT_TEMPLATE: "<|user|>\n" content "<|endoftext|>\n")
    text = (
        f"<|user|>\n[User Question]\n{prompt[0]['content']}\n\n"
        f"[The Start of Assistant A's Answer]\n{comparison.answer_a}\n[The End of Assistant A's Answer]\n\n"
        f"[The Start of Assistant B's Answer]\n{comparison.answer_b}\n[The End of Assistant B's Answer]"
        "<|endoftext|>\n"
    )
    assert judge.input_text(comparison) == text
    with torch.inference_mode():
        logit = judge.model(**judge.tokenizer(text, return_tensors="pt")).logits[0, 0].item()
    assert row["judge_score"] == pytest.approx(logit, abs=1e-5)
