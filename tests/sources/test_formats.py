"""Format adapters on hand-made rows, and the file reader's edge cases."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rb_pipeline.sources.formats.registry import ADAPTERS, Answer, RawExample, detect_format, get_adapter
from rb_pipeline.sources.formats.rm_bench import rm_bench_level
from rb_pipeline.sources.records import SourceError, file_stem, read_records
from rb_pipeline.sources.rows import RowError


def adapt(name: str, record: dict, subset: str | None = None) -> RawExample | list[RawExample]:
    return get_adapter(name)(record, subset)


# ---------------------------------------------------------------- RewardBench 2


def rb2_row(**changes) -> dict:
    row = {
        "id": "17",
        "prompt": "Name a prime number below 10.",
        "chosen": ["7"],
        "rejected": ["8", "9", "10"],
        "num_correct": 1,
        "num_incorrect": 3,
        "total_completions": 4,
        "models": ["m1", "m2", "m3", "m4"],
        "subset": "Math",
        "additional_metadata": None,
    }
    return row | changes


def test_rewardbench2_row_is_one_chosen_and_three_rejected() -> None:
    raw = adapt("rewardbench-2", rb2_row())
    assert raw == RawExample(
        subset="Math",
        source_id="Math/17",
        prompt=[{"role": "user", "content": "Name a prime number below 10."}],
        chosen=[Answer("7")],
        rejected=[Answer("8"), Answer("9"), Answer("10")],
    )


def test_rewardbench2_ties_row_keeps_every_correct_answer() -> None:
    row = rb2_row(id="tied:3", subset="Ties", chosen=["2", "3", "5", "7"], rejected=["4"], num_correct=4)
    raw = adapt("rewardbench-2", row)
    assert raw.source_id == "Ties/tied:3"
    assert [a.text for a in raw.chosen] == ["2", "3", "5", "7"]
    assert [a.text for a in raw.rejected] == ["4"]


def test_rewardbench2_ids_repeat_across_subsets_so_they_are_qualified() -> None:
    ids = {adapt("rewardbench-2", rb2_row(subset=s)).source_id for s in ("Math", "Precise IF")}
    assert ids == {"Math/17", "Precise IF/17"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"chosen": []}, "field 'chosen' must hold at least one string, got 0"),
        ({"rejected": "8"}, "field 'rejected' must be a list, got a string"),
        ({"num_correct": 2}, "field 'num_correct' is 2 but 'chosen' holds 1 answers"),
        ({"prompt": None}, "field 'prompt' is null"),
    ],
)
def test_rewardbench2_bad_rows(changes: dict, reason: str) -> None:
    with pytest.raises(RowError, match=f"^{reason}$"):
        adapt("rewardbench-2", rb2_row(**changes))


# ---------------------------------------------------------------- RM-Bench


def test_rm_bench_row_is_nine_pairs_labelled_by_difficulty() -> None:
    row = {"id": 8, "prompt": "Q?", "chosen": ["c0", "c1", "c2"], "rejected": ["r0", "r1", "r2"]}
    pairs = adapt("rm-bench", row, "chat")
    assert len(pairs) == 9
    by_id = {p.source_id: p for p in pairs}
    assert by_id["chat/8:0:2"].subset == "chat/hard"  # concise chosen vs markdown rejected
    assert by_id["chat/8:1:1"].subset == "chat/normal"
    assert by_id["chat/8:2:0"].subset == "chat/easy"
    assert (by_id["chat/8:0:2"].chosen, by_id["chat/8:0:2"].rejected) == ([Answer("c0")], [Answer("r2")])
    levels = [p.subset.split("/")[1] for p in pairs]
    assert {level: levels.count(level) for level in set(levels)} == {"hard": 3, "normal": 3, "easy": 3}


def test_rm_bench_level_matches_the_official_matrix() -> None:
    # hard = upper triangle (np.triu(m, 1)), normal = diagonal, easy = lower triangle
    grid = [[rm_bench_level(i, j) for j in range(3)] for i in range(3)]
    assert grid == [["normal", "hard", "hard"], ["easy", "normal", "hard"], ["easy", "easy", "normal"]]


def test_rm_bench_row_needs_three_styles() -> None:
    row = {"id": 8, "prompt": "Q?", "chosen": ["c0", "c1"], "rejected": ["r0", "r1", "r2"]}
    with pytest.raises(RowError, match="must hold 3 strings, got 2"):
        adapt("rm-bench", row, "chat")


# ---------------------------------------------------------------- JudgeBench, HHH, prior sets


@pytest.mark.parametrize(
    ("source", "label", "category", "chosen"),
    [
        ("mmlu-pro-law", "A>B", "knowledge", "A"),
        ("livebench-reasoning", "B>A", "reasoning", "B"),
        ("livebench-math", "A>B", "math", "A"),
        ("livecodebench", "B>A", "coding", "B"),
    ],
)
def test_judgebench_row(source: str, label: str, category: str, chosen: str) -> None:
    row = {
        "pair_id": "p-1",
        "original_id": 3,
        "source": source,
        "question": "Q?",
        "response_A": "A",
        "response_B": "B",
        "label": label,
        "response_model": "gpt-4o-2024-05-13",
    }
    raw = adapt("judgebench", row)
    assert raw.subset == f"gpt-4o-2024-05-13/{category}"
    assert raw.source_id == "p-1"
    assert [a.text for a in raw.chosen] == [chosen]
    assert [a.text for a in raw.rejected] == ["B" if chosen == "A" else "A"]
    with pytest.raises(RowError, match="must be 'A>B' or 'B>A'"):
        adapt("judgebench", row | {"label": "A=B"})


def test_bigbench_pair_takes_the_choice_labelled_one() -> None:
    row = {"input": "Q?", "targets": {"choices": ["bad", "good"], "labels": [0, 1]}}
    raw = adapt("bigbench-pair", row, "anthropic_hhh")
    assert (raw.subset, raw.chosen, raw.rejected) == ("anthropic_hhh", [Answer("good")], [Answer("bad")])
    with pytest.raises(RowError, match="must hold 2 strings, got 3"):
        adapt("bigbench-pair", {"input": "Q?", "targets": {"choices": ["a", "b", "c"], "labels": [1, 0, 0]}})
    with pytest.raises(RowError, match="must be \\[1, 0\\] or \\[0, 1\\]"):
        adapt("bigbench-pair", {"input": "Q?", "targets": {"choices": ["a", "b"], "labels": [1, 1]}})


def test_pref_test_sets_row_reads_roles_by_position_and_qualifies_ids() -> None:
    row = {
        "prompt": [
            {"role": "user", "content": "Hi"},
            {"role": "gpt", "content": "Hello"},
            {"role": "human", "content": "Capital of France?"},
        ],
        "chosen": "Paris.",
        "rejected": "Lyon.",
        "id": 4,
    }
    raw = adapt("pref-test-sets", row, "anthropic_helpful")
    assert [m["role"] for m in raw.prompt] == ["user", "assistant", "user"]
    assert raw.source_id == "anthropic_helpful/4"


def test_preference_row_shapes() -> None:
    conversation = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    whole = adapt(
        "preference",
        {"chosen": conversation, "rejected": conversation[:1] + [conversation[1] | {"content": "B."}]},
    )
    assert whole.prompt == conversation[:1] and whole.chosen == [Answer("A.")] and whole.subset == ""
    renamed = adapt(
        "preference", {"question": "Q?", "chosen": "A.", "rejected": "B.", "subset": "s", "id": 3}
    )
    assert (renamed.prompt, renamed.subset, renamed.source_id) == (
        [{"role": "user", "content": "Q?"}],
        "s",
        "3",
    )


def test_messages_row_is_one_chosen_response() -> None:
    raw = adapt(
        "messages", {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    )
    assert (raw.prompt, raw.chosen, raw.rejected) == ([{"role": "user", "content": "Q?"}], [Answer("A.")], [])


RMB_PAIR = {
    "pair_uid": "u1",
    "category_path": "Pairwise_set/Helpfulness/Chat/Open QA",
    "conversation_input": [{"role": "user", "content": "Q?"}],
    "chosen": {"llm_name": "m1", "answer": "A."},
    "reject": {"llm_name": "m2", "answer": "B."},
}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        # a path into the row names a nested field; the deepest failure explains the row
        (RMB_PAIR | {"conversation_input": [{"role": "user", "content": ["Q?"]}]},
         "conversation_input[0].content must be a string, got a list"),
        (RMB_PAIR | {"conversation_input": [{"role": "user"}]}, "missing field 'conversation_input[0].content'"),
        (RMB_PAIR | {"chosen": "A."}, "field 'chosen' must be an object, got a string"),
        (RMB_PAIR | {"reject": {"answer": None}}, "reject.answer is null"),
        # a union's members are named together; strict: no coercion of a bool or a float to an id
        (RMB_PAIR | {"pair_uid": True}, "field 'pair_uid' must be a string or an integer, got bool"),
        (RMB_PAIR | {"pair_uid": 1.5}, "field 'pair_uid' must be a string or an integer, got float"),
        ([RMB_PAIR], "expected an object, got a list"),
        ({k: v for k, v in RMB_PAIR.items() if k != "category_path"}, "missing field 'category_path'"),
    ],
)  # fmt: skip
def test_row_errors_name_the_field(record: object, reason: str) -> None:
    with pytest.raises(RowError) as raised:
        adapt("rmb-pairwise", record)
    assert str(raised.value) == reason


def test_rmb_pairwise_row_keeps_the_answer_models() -> None:
    raw = adapt("rmb-pairwise", RMB_PAIR | {"ignored_extra_field": 1})
    assert raw == RawExample(
        subset="Pairwise_set/Helpfulness/Chat/Open QA",
        source_id="u1",
        prompt=[{"role": "user", "content": "Q?"}],
        chosen=[Answer("A.", "m1")],
        rejected=[Answer("B.", "m2")],
    )
    with pytest.raises(RowError, match="^field 'label' must be an integer, got bool$"):
        adapt("llmbar", {"input": "Q?", "output_1": "a", "output_2": "b", "label": True})


def test_rmb_best_of_n_row_keeps_every_loser() -> None:
    """RMB best-of-N: the best must beat every entry of loser_list (the paper's rule), so each loser is a
    rejected response, in order (mutant: only the first loser kept)."""
    record = {
        "bon_uid": "b1",
        "category_path": "BoN_set/Helpfulness/Chat/Open QA",
        "conversation_input": [{"role": "user", "content": "Q?"}],
        "bon_best": {"llm_name": "m1", "answer": "Best."},
        "loser_list": [{"llm_name": f"m{i}", "answer": f"Loser {i}."} for i in (2, 3, 4)],
    }
    raw = adapt("rmb-bon", record)
    assert raw == RawExample(
        subset="BoN_set/Helpfulness/Chat/Open QA",
        source_id="b1",
        prompt=[{"role": "user", "content": "Q?"}],
        chosen=[Answer("Best.", "m1")],
        rejected=[Answer("Loser 2.", "m2"), Answer("Loser 3.", "m3"), Answer("Loser 4.", "m4")],
    )


def test_every_catalog_format_is_registered() -> None:
    from rb_pipeline.catalog.entries import load_benchmarks

    for bench in load_benchmarks().values():
        for fmt in [s.format for s in bench.local] + ([bench.hub.format] if bench.hub else []):
            assert fmt in ADAPTERS, (bench.benchmark, fmt)


# ---------------------------------------------------------------- reading files


def test_read_records_accepts_bom_and_json_lines_in_json(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}\n\n{"a": 2}\n')
    assert list(read_records(path)) == [(0, {"a": 1}), (2, {"a": 2})]


def test_read_records_reports_trailing_garbage_at_its_position(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('[{"a": 1}]\n]\n')
    with pytest.raises(SourceError, match=r"rows.json: invalid JSON at line 2 column 1: Extra data$"):
        list(read_records(path))


def test_read_records_names_the_byte_line_and_column_of_bad_utf8_in_gzip(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": "ok"}\n{"a": "\xff"}\n'))
    with pytest.raises(SourceError, match=r"not UTF-8: byte 19 \(0xff\) at line 2 column 8$"):
        list(read_records(path))


def test_detect_format_and_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "My Prefs.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps({"messages": []}).encode()))
    assert detect_format(path) == "messages"
    assert file_stem(path) == "My Prefs"


def test_rm_bench_file_rows_are_accepted_or_rejected_whole(tmp_path: Path) -> None:
    from rb_pipeline.catalog.entries import Benchmark, LocalSource
    from rb_pipeline.sources.normalize import normalize

    good = {"id": 1, "prompt": "Q?", "chosen": ["c0", "c1", "c2"], "rejected": ["r0", "r1", "r2"]}
    bad = good | {"id": 2, "chosen": ["c0", " ", "c2"]}
    path = tmp_path / "chat_filtered.json"
    path.write_text(json.dumps([good, bad]))
    bench = Benchmark(
        benchmark="rm",
        title="RM",
        kind="preference",
        local=(LocalSource(format="rm-bench", subset="chat", path=str(path)),),
    )
    data = normalize(bench)
    assert (data.source_rows, data.accepted_rows, data.examples.height) == (2, 1, 9)
    assert data.rejects.select("source_row", "subset", "reason").rows() == [
        (1, "chat", "chosen[1] (detailed): empty text")
    ]
    # 18 responses, 6 distinct texts: a style variant shared by 3 pairs is scored once
    assert (data.responses.height, data.responses["response_id"].n_unique()) == (18, 6)
