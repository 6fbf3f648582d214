"""RewardBench 2's judge protocols as upstream runs them (rewardbench/generative_v2.py,
scripts/run_generative_v2.py @ 05a9005): the parsers, the four-way arrangements, and both protocols end
to end through `rb-pipeline score` against a scripted OpenAI-compatible judge served here on 127.0.0.1
(standard library http.server). The server answers by the answer texts it is shown, so every number
below is worked out by hand from upstream's rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.judging import drawn_position, four_way_calls
from rb_pipeline.models.judge_prompts import (
    FOUR_WAY_SYSTEM,
    four_way_messages,
    parse_four_way,
    parse_rating,
    rating_messages,
)
from rb_pipeline.models.loader import load_judge
from tests.hand_made import rewardbench_ties_score

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ("Clear and correct.\n\n9", ("rated", 9.0)),
        ("10", ("rated", 10.0)),
        ("Rating: 7  \n", ("rated", 7.0)),  # trailing blanks are stripped first
        ("7/10", ("rated", 10.0)),  # upstream's regex takes the last number: 10 (its quirk, kept)
        ("Rating: 11", ("error", None)),  # no 1-10 at a word boundary at the end
        ("8.", ("error", None)),  # text after the rating
        ("Score 0", ("error", None)),
        ("", ("error", None)),
        (None, ("error", None)),
    ],
)
def test_parse_rating_is_get_single_ratings(reply, parsed):
    assert parse_rating(reply) == parsed


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("[[C]]", "C"),
        ("D is best: [[D]]", "D"),
        ("[[D]] ... no, [[B]]", "B"),  # process_judgement checks A, B, C, D in that order
        ("[[E]]", "error"),
        ("[C]", "error"),
        (None, "error"),
    ],
)
def test_parse_four_way_is_process_judgement(reply, letter):
    assert parse_four_way(reply) == (letter, None)


def test_four_way_arrangements_swap_the_chosen_into_each_position():
    """run_generative_v2.py: [chosen, r1, r2, r3], then the chosen swapped with position k; one
    arrangement per example is drawn (seeded) for the single-call credit."""
    prompt = [{"role": "user", "content": "q"}]
    examples = pl.DataFrame(
        {"benchmark": ["b"], "example_id": ["x/1"], "prompt": [prompt]},
        schema={
            "benchmark": pl.String,
            "example_id": pl.String,
            "prompt": pl.List(pl.Struct({"role": pl.String, "content": pl.String})),
        },
    )
    responses = pl.DataFrame(
        {
            "benchmark": ["b"] * 4,
            "example_id": ["x/1"] * 4,
            "response_id": ["c", "r1", "r2", "r3"],
            "text": ["C", "R1", "R2", "R3"],
            "label": ["chosen", "rejected", "rejected", "rejected"],
        }
    )
    calls = four_way_calls(responses, examples)
    assert calls["pair_order"].to_list() == ["chosen_at_A", "chosen_at_B", "chosen_at_C", "chosen_at_D"]
    assert calls["answer_ids"].to_list() == [
        ["c", "r1", "r2", "r3"],
        ["r1", "c", "r2", "r3"],
        ["r2", "r1", "c", "r3"],
        ["r3", "r1", "r2", "c"],
    ]
    assert calls["sampled"].to_list() == [k == drawn_position("x/1") for k in range(4)]
    with pytest.raises(ValueError, match="needs 1 chosen and 3 rejected"):
        four_way_calls(responses.head(3), examples)


def test_protocol_field():
    assert ModelEntry(id="j", type="generative").rb2_protocol == "ratings"  # the leaderboard's
    assert ModelEntry(id="j", type="pairwise-judge").rb2_protocol == "pairwise"
    assert ModelEntry(id="j", type="generative", protocol="four-way").rb2_protocol == "four-way"
    with pytest.raises(ValueError, match="four-way needs a single generative judge"):
        ModelEntry(id="j", type="pairwise-judge", protocol="four-way")


def test_local_judge_rates_and_picks_through_its_chat_template(rb_home, tmp_path):
    """A local transformers judge runs both protocols' prompts (greedy): each reply is parsed by the
    protocol's parser; an input over max_length is not judged (error, overflow counted)."""
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm

    entry = ModelEntry(
        id="t/local", type="generative", source=str(build_tiny_causal_lm(tmp_path / "lm")), max_new_tokens=6
    )
    judge = load_judge(entry, ScorerSettings(max_length=1024), "cpu")
    prompt = [{"role": "user", "content": "What is 2 + 2?"}]
    rated = judge.ask(
        [rating_messages(prompt, "4", ties=False), rating_messages(prompt, "5", ties=True)], parse_rating
    )
    assert [(j.verdict, j.judge_score) for j in rated] == [parse_rating(j.raw_output) for j in rated]
    assert all(j.n_tokens > 100 and j.truncated_tokens == 0 for j in rated)
    picked = judge.ask([four_way_messages(prompt, ["4", "5", "3", "22"])], parse_four_way)
    assert [(j.verdict, j.judge_score) for j in picked] == [parse_four_way(j.raw_output) for j in picked]
    short = load_judge(entry, ScorerSettings(max_length=40), "cpu")
    (over,) = short.ask([four_way_messages(prompt, ["4", "5", "3", "22"])], parse_four_way)
    assert over.verdict == "error" and over.raw_output is None and over.truncated_tokens > 0


# ---------------------------------------------------------------- a scripted judge on loopback

# Focus (rule rb2-top-share): example -> (question, chosen, 3 rejected). Each answer's rating reply:
RATING_REPLIES = {
    # f1: 9 vs 7, 5, 3: the chosen alone at the top -> 1
    "f1-c": "Good.\n9",
    "f1-r1": "7",
    "f1-r2": "5",
    "f1-r3": "3",
    # f2: 8 vs 8, 8, 2: three at the top, the chosen among them -> 1/3
    "f2-c": "8",
    "f2-r1": "8",
    "f2-r2": "8",
    "f2-r3": "2",
    # f3: the chosen's rating unparseable (dropped), 4, 3, 2 -> the top is a rejected -> 0
    "f3-c": "It is fine.",
    "f3-r1": "4",
    "f3-r2": "3",
    "f3-r3": "2",
    # f4: 6 vs unparseable (dropped), 6, 1 -> the chosen shares the top with one -> 1/2
    "f4-c": "6",
    "f4-r1": "six out of ten",
    "f4-r2": "6",
    "f4-r3": "1",
    # f5: every rating invalid -> upstream's 0.25
    "f5-c": "n/a",
    "f5-r1": "n/a",
    "f5-r2": "10/10 would read again!",
    "f5-r3": "",
    # Ties (rated with the Ties prompt). ref:1 9 vs 4, 6: accurate, gap_ref 9 - 6 = 3.
    "t1-ref-c": "9",
    "t1-ref-w1": "4",
    "t1-ref-w2": "6",
    # tied:1: correct 9, 7 vs invalid (-1), 5: accurate; spread 9 - 7 = 2, gap_tied 7 - 5 = 2
    "t1-c1": "9",
    "t1-c2": "7",
    "t1-w1": "no rating",
    "t1-w2": "5",
    # ref:2: 5 vs 8: not accurate, gap_ref -3; tied:2: 6, 6 vs 6: not accurate, spread 0, gap_tied 0
    "t2-ref-c": "5",
    "t2-ref-w": "8",
    "t2-c1": "6",
    "t2-c2": "6",
    "t2-w": "6",
}
FOCUS_CREDITS = {"f1": 1.0, "f2": 1 / 3, "f3": 0.0, "f4": 0.5, "f5": 0.25}
# Focus = (1 + 1/3 + 0 + 1/2 + 1/4) / 5 = 0.41666...
FOCUS_RATINGS = sum(FOCUS_CREDITS.values()) / 5
# Ties (process_single_model): ref accuracy (1 + 0) / 2, tied accuracy (1 + 0) / 2; prompt 1: gap_tied
# 2 > spread 2? no; min(3, 2) > 2? no; tanh(2 / 2 - 1) = 0. Prompt 2: 0 > 0 no; min(-3, 0) > 0 no;
# tanh(-3 / 0 - 1) = tanh(-inf) = -1 (numpy). 0.3 x 0.5 + 0.3 x 0.5 + 0.2 x 0 + 0.2 x 0 + 0.01 x (0 - 1) / 2
TIES = 0.3 * 0.5 + 0.3 * 0.5 + 0.01 * (0 + -1) / 2
# Four-way: the question -> the answer text the judge picks (None: an unparseable reply; "A": always A)
FOUR_WAY_PICKS = {"q-f1": "f1-c", "q-f2": "f2-r2", "q-f3": None, "q-f4": "A", "q-f5": "f5-c"}

ROWS = [
    {
        "id": f"f{n}",
        "prompt": f"q-f{n}",
        "chosen": [f"f{n}-c"],
        "rejected": [f"f{n}-r{i}" for i in (1, 2, 3)],
        "num_correct": 1,
        "subset": "Focus",
    }
    for n in range(1, 6)
] + [
    {
        "id": "ref:1",
        "prompt": "q-t1",
        "chosen": ["t1-ref-c"],
        "rejected": ["t1-ref-w1", "t1-ref-w2"],
        "num_correct": 1,
        "subset": "Ties",
    },
    {
        "id": "tied:1",
        "prompt": "q-t1",
        "chosen": ["t1-c1", "t1-c2"],
        "rejected": ["t1-w1", "t1-w2"],
        "num_correct": 2,
        "subset": "Ties",
    },
    {
        "id": "ref:2",
        "prompt": "q-t2",
        "chosen": ["t2-ref-c"],
        "rejected": ["t2-ref-w"],
        "num_correct": 1,
        "subset": "Ties",
    },
    {
        "id": "tied:2",
        "prompt": "q-t2",
        "chosen": ["t2-c1", "t2-c2"],
        "rejected": ["t2-w"],
        "num_correct": 2,
        "subset": "Ties",
    },
]


def upstream_rating(answer: str) -> float:
    """get_single_rating on the scripted reply: the rating, or upstream's -1."""
    _, rating = parse_rating(RATING_REPLIES[answer])
    return -1.0 if rating is None else rating


def test_hand_computed_numbers_match_upstreams_rules():
    """The numbers the end-to-end test expects, worked by hand above, are upstream's: the non-Ties
    credit as run_generative_v2.py computes it ((0 in winners) / len(winners) over the valid ratings,
    0.25 when none is valid) and Ties through a transcription of process_single_model (tests.hand_made)
    over the raw ratings, -1 kept."""
    for n in range(1, 6):
        ratings = [upstream_rating(a) for a in (f"f{n}-c", f"f{n}-r1", f"f{n}-r2", f"f{n}-r3")]
        valid = [r for r in ratings if r != -1]
        winners = [i for i, r in enumerate(ratings) if valid and r == max(valid)]
        assert FOCUS_CREDITS[f"f{n}"] == pytest.approx((0 in winners) / len(winners) if valid else 0.25)
    ties_rows = [
        (
            "Ties",
            f"Ties/{row['id']}",
            [upstream_rating(a) for a in row["chosen"]],
            [upstream_rating(a) for a in row["rejected"]],
        )
        for row in ROWS
        if row["subset"] == "Ties"
    ]
    assert rewardbench_ties_score(ties_rows) == pytest.approx(TIES)


BENCHMARK_YAML = """\
benchmark: rb2-hand
title: RewardBench 2 shaped (hand-made)
kind: best-of-n
rule: rb2-top-share
overall: {name: rb2-hand, column: rb2_hand}
local:
  - {format: rewardbench-2, path: rb2-hand/test.jsonl}
sections:
  focus: {title: Focus, column: rb2h_focus}
  ties: {title: Ties, column: rb2h_ties}
subsets:
  Focus: {section: focus, weight: 1, expected_rows: 5}
  Ties: {section: ties, weight: 1, expected_rows: 4, rule: rb2-ties}
"""

_ANSWER = re.compile(
    r"\[The Start of Assistant (\w)'s Answer\]\n(.*?)\n\[The End of Assistant \1's Answer\]", re.S
)


class ScriptedJudge:
    """An OpenAI-compatible `/v1/chat/completions` on 127.0.0.1 that answers from the scripts above and
    keeps every request it got."""

    def __init__(self) -> None:
        self.requests: list[list[dict]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body["messages"])
                reply = owner.reply(body["messages"])
                payload = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def reply(messages: list[dict]) -> str:
        user = messages[-1]["content"]
        if user.startswith("\n### Task Description"):  # a rating call
            answer = user.split("[Response]\n", 1)[1].rsplit("\n\n[Your judgement]", 1)[0]
            return RATING_REPLIES[answer]
        assert messages[0] == {"role": "system", "content": FOUR_WAY_SYSTEM}
        question = user.split("[User Question]\n", 1)[1].split("\n\n", 1)[0]
        pick = FOUR_WAY_PICKS[question]
        if pick is None:
            return "They are all good."
        if pick == "A":
            return "[[A]]"
        letters = {text: letter for letter, text in _ANSWER.findall(user)}
        return f"Best: [[{letters[pick]}]]"

    def __enter__(self) -> ScriptedJudge:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "rb_pipeline.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"rb-pipeline {args}:\n{result.stdout}\n{result.stderr}"
    return result


def sql(query: str, env: dict) -> list[dict]:
    return json.loads(run_cli("sql", query, "--format", "json", env=env).stdout)


@pytest.mark.slow(minutes=1)
def test_ratings_and_four_way_judges_end_to_end_through_score(tmp_path):
    """Two generative judges (ratings, the default; four-way) scored by `rb-pipeline score` on a
    RewardBench 2 shaped benchmark, against the scripted judge on loopback."""
    home, mirror = tmp_path / "home", tmp_path / "mirror"
    (home / "catalog" / "benchmarks").mkdir(parents=True)
    (home / "catalog" / "benchmarks" / "rb2-hand.yaml").write_text(BENCHMARK_YAML)
    (mirror / "rb2-hand").mkdir(parents=True)
    (mirror / "rb2-hand" / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    env = os.environ | {
        "RB_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "RB_MIRROR": str(mirror),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("RB_SOURCE", None)
    with ScriptedJudge() as judge:
        models = [
            {"id": "judge/ratings", "type": "generative", "api_base": judge.url, "api_model": "m"},
            {"id": "judge/four-way", "type": "generative", "api_base": judge.url, "protocol": "four-way"},
        ]
        (home / "models.yaml").write_text(json.dumps({"models": models}))
        run_cli("score", "--model", "judge/ratings", "--benchmark", "rb2-hand", env=env)
        n_ratings = len(judge.requests)
        run_cli("score", "--model", "judge/four-way", "--benchmark", "rb2-hand", env=env)
        four_way_requests = judge.requests[n_ratings:]
        # scored again: every call is reused from the lake (same settings), nothing is asked
        run_cli("score", "--model", "judge/ratings", "--benchmark", "rb2-hand", env=env)
        assert len(judge.requests) == n_ratings + len(four_way_requests)

    # ratings: one call per answer: 5 x 4 Focus + 3 + 4 + 2 + 3 Ties answers = 32; Ties with its own prompt
    assert n_ratings == 32
    rating_prompts = [m[-1]["content"] for m in judge.requests[:n_ratings]]
    assert sum("need not consider depth" in p for p in rating_prompts) == 12
    assert all(len(m) == 1 and m[0]["role"] == "user" for m in judge.requests[:n_ratings])  # no system
    # four-way: 4 arrangements x 5 Focus examples; Ties rated again (the Ties prompt)
    assert len(four_way_requests) == 20 + 12

    credits = sql(
        "select model, example_id, credit, order_consistent from example_outcomes"
        " where subset = 'Focus' order by model, example_id",
        env,
    )
    by_model = {}
    for row in credits:
        by_model.setdefault(row["model"], {})[row["example_id"].removeprefix("Focus/")] = row
    assert {k: r["credit"] for k, r in by_model["judge/ratings"].items()} == pytest.approx(FOCUS_CREDITS)
    # four-way, from the drawn arrangement: f1 the chosen -> 1; f2 a rejected -> 0; f3 no verdict -> 0.25
    # (upstream's error); f4 always "[[A]]": 1 only where the chosen was drawn at A; f5 the chosen -> 1
    f4 = 1.0 if drawn_position("Focus/f4") == 0 else 0.0
    four_way = by_model["judge/four-way"]
    assert {k: r["credit"] for k, r in four_way.items()} == {
        "f1": 1.0,
        "f2": 0.0,
        "f3": 0.25,
        "f4": f4,
        "f5": 1.0,
    }
    # the same answer wins in all four arrangements for f1, f2, f5, and f3 fails in all four (consistent,
    # as JudgeBench counts two failures); f4 (always A: a different answer each time) is not
    assert {k: r["order_consistent"] for k, r in four_way.items()} == {
        "f1": True,
        "f2": True,
        "f3": True,
        "f4": False,
        "f5": True,
    }
    # every position recorded: 4 rows per Focus example, one sampled
    positions = sql(
        "select example_id, count(*) as n, count(*) filter (where sampled) as drawn from judgments"
        " where model = 'judge/four-way' and protocol = 'four-way' group by 1 order by 1",
        env,
    )
    assert [(p["n"], p["drawn"]) for p in positions] == [(4, 1)] * 5

    board = {
        row["model"]: row
        for row in sql("select model, rb2h_focus, rb2h_ties, rb2_hand, coverage from leaderboard", env)
    }
    focus_four_way = (1 + 0 + 0.25 + f4 + 1) / 5
    assert board["judge/ratings"]["rb2h_focus"] == pytest.approx(FOCUS_RATINGS)
    assert board["judge/four-way"]["rb2h_focus"] == pytest.approx(focus_four_way)
    for model in board:  # Ties from the ratings for both protocols (upstream: always rated)
        assert board[model]["rb2h_ties"] == pytest.approx(TIES)
        assert board[model]["coverage"] is None  # Ties judged in full: nothing missing
    assert board["judge/ratings"]["rb2_hand"] == pytest.approx((FOCUS_RATINGS + TIES) / 2)
    # the judges' Ties score is a score, not an accuracy: subset_accuracy.score, accuracy NULL (issue 25)
    ties = sql("select n, accuracy, score from subset_accuracy where subset = 'Ties'", env)
    assert ties == [{"n": 4, "accuracy": None, "score": pytest.approx(TIES)}] * 2  # both judges
