"""The one reader of inbound JSON (sources/records.py): published result files are read as benchmark
files are, so what the data reader accepts (a byte-order mark) the importer accepts too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rb_pipeline.sources.records import SourceError, read_json
from rb_pipeline.sources.results.importer import ResultFileError, import_path


def test_several_json_values_are_read_as_their_list(tmp_path: Path) -> None:
    """JSON Lines, or objects written one after another (rewardbench's `save_to_hub`), with a BOM."""
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2} {"a": 3}\n')
    assert read_json(path) == [{"a": 1}, {"a": 2}, {"a": 3}]
    path.write_text('{"a": 1}\n{"a": }\n')
    with pytest.raises(SourceError, match=r"rows.jsonl: invalid JSON value #2 at line 2 column 7"):
        read_json(path)


def test_a_result_file_with_a_byte_order_mark_is_imported(rb_home: Path, tmp_path: Path) -> None:
    """The importer read its files with its own reader, which refused a BOM ("Unexpected UTF-8 BOM")."""
    path = tmp_path / "bom.json"
    document = {"model": "hand-made/bom", "alpacaeval-easy": 0.75, "mt-bench-easy": 0.5}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(document).encode())
    (run,) = import_path(path, log=lambda _: None)
    assert (run.model, run.format, run.n_subsets) == ("hand-made/bom", "rewardbench-metrics", 2)


def test_a_reading_error_is_a_result_file_error_naming_the_file(rb_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"model": "caf\xe9"}')
    with pytest.raises(
        ResultFileError, match=r"latin1.json: not UTF-8: byte 14 \(0xe9\) at line 1 column 15"
    ):
        import_path(path, log=lambda _: None)
