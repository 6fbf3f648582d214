"""Every file in tests/bad_input/ meets the outcome tests/bad_input/expected.yaml gives it.

A file is either refused whole (SourceError naming the file and the position) or normalized with
its bad rows quarantined in `rejects`; nothing is dropped silently: examples + rejects = source rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rb_pipeline.sources.datasets import dataset_benchmark
from rb_pipeline.sources.normalize import NormalizedBenchmark, normalize
from rb_pipeline.sources.records import SourceError

CORPUS = Path(__file__).parents[1] / "bad_input"
CASES: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))["cases"]


def load(name: str) -> NormalizedBenchmark:
    case = CASES[name]
    return normalize(dataset_benchmark(CORPUS / name, case.get("format")))


def test_every_file_has_an_expected_outcome() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.yaml"}
    assert files == set(CASES)
    assert len(CASES) >= 25
    assert all(case.get("defect") for case in CASES.values())


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "error" in c or "error_match" in c))
def test_unreadable_file_is_refused_naming_file_and_position(name: str) -> None:
    case = CASES[name]
    path = str((CORPUS / name).resolve())
    with pytest.raises(SourceError) as raised:
        load(name)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    if "error" in case:
        assert message == case["error"].replace("{file}", path)
    else:
        assert re.search(case["error_match"].replace("{file}", re.escape(path)), message), message


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "source_rows" in c))
def test_bad_rows_are_quarantined_and_counted(name: str) -> None:
    case = CASES[name]
    data = load(name)
    rejects = dict(zip(data.rejects["source_row"].to_list(), data.rejects["reason"].to_list(), strict=True))
    assert rejects == {int(row): reason for row, reason in case["rejects"].items()}
    assert data.source_rows == case["source_rows"]
    assert data.examples.height == case["examples"]
    assert data.responses.height == case["responses"]
    # nothing is dropped silently: every source row is an example or a reject
    assert data.examples.height + data.rejects.height == data.source_rows
    assert data.accepted_rows + data.rejects.height == data.source_rows
    assert set(data.rejects["source_file"].to_list()) <= {str((CORPUS / name).resolve())}
    if "subsets" in case:
        counts = dict(data.examples.group_by("subset").len().iter_rows())
        assert counts == case["subsets"]
    if "kind" in case:
        assert dataset_benchmark(CORPUS / name, case.get("format")).kind == case["kind"]


def test_user_file_is_named_after_its_stem_and_defaults_its_subset() -> None:
    bench = dataset_benchmark(CORPUS / "good.jsonl.gz")
    assert (bench.kind, bench.local[0].format) == ("preference", "preference")
    assert (
        re.fullmatch(r"good-[0-9a-f]{8}", bench.benchmark) and bench.title == "good.jsonl.gz (local dataset)"
    )
    data = normalize(bench)
    assert data.examples["subset"].unique().to_list() == ["good"]
    assert {source.origin for source in data.sources} == {"local"}
    # response ids hash prompt + text: identical (prompt, response) pairs are scored once. The file's two
    # rows give four distinct (prompt, text) pairs; each id worked out without the code: the first 32 hex
    # of sha256('[[["user","What is 2 + 2?"]],"2 + 2 = 4."]') and so on (tests/sources/test_response_id.py)
    assert data.responses.select("text", "response_id").rows() == [
        ("2 + 2 = 4.", "12253aa8899d4f691cd2633cdc785a01"),
        ("2 + 2 = 5.", "409ddb0f6bd63954b618cccdb0ec29c6"),
        ("Red is a primary colour.", "a1ea9a1dcfe549f3e21d88861c884109"),
        ("Green, obviously.", "968a384e8fb2821a0d33c7fb0485bbda"),
    ]


def test_messages_file_has_only_chosen_responses() -> None:
    data = load("messages_only.jsonl")
    assert data.responses["label"].unique().to_list() == ["chosen"]
    assert data.examples["prompt"].to_list()[1][0] == {"role": "system", "content": "Be brief."}


def test_non_alternating_roles_are_quarantined_and_the_blocking_check_passes(rb_home: Path) -> None:
    """Rows whose prompt roles do not alternate used to pass the row checks and fail the blocking check
    `prompt_roles_alternate` for the whole file, naming no row; the dataset was then left out of every
    later `score`. Now they are quarantined by row (file, row, the roles) and the file's suite passes."""
    from rb_pipeline.sources.datasets import materialize_benchmark

    data, verdicts = materialize_benchmark(dataset_benchmark(CORPUS / "prompt_roles_not_alternating.jsonl"))
    assert [v.passed for v in verdicts] == [True, True], [v.summary for v in verdicts]
    assert (
        data.rejects["source_file"].to_list()
        == [str((CORPUS / "prompt_roles_not_alternating.jsonl").resolve())] * 2
    )
    assert data.examples.height == 1  # row 0 of 3 kept; rows 1 and 2 quarantined


def test_rows_become_frames_batch_by_batch_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalization holds at most BATCH_ROWS rows as Python dicts (1M tiny rows peaked at 2.3 GB
    RSS, 1.2 GB batched): batches of 2 give the frames one batch gives, rows in file order."""
    from rb_pipeline.sources import normalize as module

    whole = load("mixed_rows.jsonl")
    monkeypatch.setattr(module, "BATCH_ROWS", 2)
    batched = load("mixed_rows.jsonl")
    assert whole.examples.height > 2  # more than one batch
    assert batched.examples.equals(whole.examples) and batched.responses.equals(whole.responses)
    assert batched.rejects.equals(whole.rejects)
