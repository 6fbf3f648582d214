"""Cut the shipped samples in data/samples/ from full benchmark copies: the first rows of each file.

Usage: python scripts/make_samples.py ../shared/data   (the layout under data/samples/ mirrors it)
Samples are real rows, never edited: JSON lists keep their first records, JSON Lines files (also
`.json` files that hold JSON Lines, like Anthropic HHH's) keep their first lines byte for byte.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROWS_PER_FILE = {"rmb": 2, "llmbar": 4, "hhh": 3, "rm-bench": 2, "judgebench": 4, "prmbench": 2}
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def cut_json_list(source: Path, target: Path, rows: int) -> None:
    records = json.loads(source.read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(records[:rows], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def cut_json_lines(source: Path, target: Path, rows: int) -> None:
    lines = [line for line in source.read_bytes().splitlines(keepends=True) if line.strip()]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(lines[:rows]))


def main(mirror: Path) -> None:
    shutil.rmtree(SAMPLES, ignore_errors=True)
    for source in sorted((mirror / "rmb" / "RMB_dataset").rglob("*.json")):
        cut_json_list(source, SAMPLES / source.relative_to(mirror), ROWS_PER_FILE["rmb"])
    for source in sorted((mirror / "rewardbench-sources" / "llmbar").glob("*.json")):
        cut_json_list(source, SAMPLES / source.relative_to(mirror), ROWS_PER_FILE["llmbar"])
    four_rows = mirror / "rewardbench-sources" / "rewardbench_sample_4rows.jsonl"
    shutil.copy(four_rows, SAMPLES / four_rows.relative_to(mirror))
    for source in sorted((mirror / "rewardbench-sources" / "hhh_alignment").glob("*.json")):
        cut_json_lines(source, SAMPLES / source.relative_to(mirror), ROWS_PER_FILE["hhh"])
    for source in sorted((mirror / "rm-bench").glob("*_filtered.json")):
        cut_json_list(source, SAMPLES / source.relative_to(mirror), ROWS_PER_FILE["rm-bench"])
    for source in sorted((mirror / "judgebench").glob("*.jsonl")):
        cut_json_lines(source, SAMPLES / source.relative_to(mirror), ROWS_PER_FILE["judgebench"])
    for source in sorted((mirror / "prmbench").glob("*.jsonl")):
        cut_json_lines(source, SAMPLES / source.relative_to(mirror), ROWS_PER_FILE["prmbench"])
    shutil.copy(mirror / "prmbench" / "LICENSE", SAMPLES / "prmbench" / "LICENSE")  # Apache-2.0


if __name__ == "__main__":
    main(Path(sys.argv[1]))
