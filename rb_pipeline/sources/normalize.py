"""Normalize a catalog benchmark into the one shape every benchmark shares.

`examples`: benchmark, subset, example_id, prompt (list of {role, content}), source_revision,
source_file, source_row.  `responses`: benchmark, example_id, response_id, position, text, label,
source_model.  Rows that cannot be normalized go to `rejects` (file, row, subset when the catalog
fixes it, reason, excerpt): accepted rows + rejected rows = source rows, always. A source row is
accepted or rejected whole, even when it yields several examples (RM-Bench: 9 per row).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rb_pipeline.catalog.entries import Benchmark, LocalSource
from rb_pipeline.core.ids import content_hash
from rb_pipeline.core.paths import atomic_path, lake_dir, mirror_root, offline_var, source_mode
from rb_pipeline.core.schemas import EXAMPLES_SCHEMA, REJECTS_SCHEMA, RESPONSES_SCHEMA
from rb_pipeline.core.text import first_line
from rb_pipeline.sources.formats.registry import VALID_ROLES, RawExample, check_unicode, get_adapter
from rb_pipeline.sources.quality import ROLE_SEQUENCE
from rb_pipeline.sources.records import SourceError, file_stem, read_records
from rb_pipeline.sources.rows import RowError


@dataclass(frozen=True)
class SourceFile:
    path: Path
    origin: str  # "mirror", "sample", "local" (a user's file) or "hub"
    revision: str
    subset: str | None
    format: str


@dataclass(frozen=True)
class NormalizedBenchmark:
    examples: pl.DataFrame
    responses: pl.DataFrame
    rejects: pl.DataFrame
    source_rows: int
    sources: tuple[SourceFile, ...]
    accepted_rows: int = 0  # source rows that became examples (accepted + rejected = source rows)


def response_id(prompt: list[dict[str, str]], text: str) -> str:
    """Identical (prompt, response) texts share one id, so they are scored once."""
    return content_hash([[m["role"], m["content"]] for m in prompt], text)


def file_revision(path: Path) -> str:
    """`sha256:<12 hex>` of a file (or of a folder's files), recorded as the source revision."""
    digest = hashlib.sha256()
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return f"sha256:{digest.hexdigest()[:12]}"


def planned_origin(benchmark: Benchmark) -> str:
    """Where `source_files` will read the benchmark from, decided without downloading anything:
    `mirror` (every local file is in `$RB_MIRROR`, none a sample), `hub@<repo>@<revision>`, `sample`
    (`RB_SOURCE=sample`) or `local` (a user's file). Raises a one-line SourceError when the full data
    cannot be had (not in the mirror and no Hub source, or the Hub offline with no snapshot in the lake)."""
    origins = {source.resolve()[1] for source in benchmark.local}
    if origins == {"local"}:
        return "local"
    mode = source_mode()
    hub = benchmark.hub
    if mode == "sample":
        if not benchmark.local:
            raise SourceError(f"{benchmark.benchmark}: no shipped sample (Hub only): leave out --sample")
        return "sample"
    full_local = (
        bool(benchmark.local) and origins == {"mirror"} and not any(s.sample for s in benchmark.local)
    )
    if full_local and not (mode == "hub" and hub is not None):
        return "mirror"
    where = "not in RB_MIRROR" if mirror_root() is not None else "RB_MIRROR is not set"
    if hub is None:
        raise SourceError(
            f"{benchmark.benchmark}: {where} and the catalog names no Hub source: set RB_MIRROR to a "
            f"folder holding {benchmark.local[0].path}, or pass --sample for the shipped sample rows"
        )
    var = offline_var()
    if var and not all(snapshot_path(benchmark, split).exists() for split in hub.splits or (hub.split,)):
        if not benchmark.local:  # no copy can be in the mirror (e.g. ProcessBench: no licence to copy it)
            raise SourceError(
                f"{benchmark.benchmark}: its full data is on the Hub only ({hub.repo}) and the Hub is offline"
                f" ({var}=1): go online once to download it into the lake"
            )
        raise SourceError(
            f"{benchmark.benchmark}: {where} and the Hub is offline ({var}=1): set RB_MIRROR or go online"
        )
    return f"hub@{hub.repo}@{hub.revision}"


def source_problem(benchmark: Benchmark) -> str | None:
    """Why the benchmark's data cannot be had now (`planned_origin`'s one line), or None."""
    try:
        planned_origin(benchmark)
    except SourceError as exc:
        return str(exc)
    return None


def source_files(benchmark: Benchmark) -> list[SourceFile]:
    """The files to read, from where `planned_origin` says (the one place that decides the source)."""
    origin = planned_origin(benchmark)
    return _hub_snapshots(benchmark) if origin.startswith("hub@") else local_source_files(benchmark)


def local_source_files(benchmark: Benchmark, missing_ok: bool = False) -> list[SourceFile]:
    """The benchmark's local files (mirror, else shipped sample); a missing one is an error unless
    `missing_ok`, when it is skipped."""
    files = []
    for source in benchmark.local:
        path, origin = source.resolve()
        if not path.exists():
            if missing_ok:
                continue
            raise SourceError(f"{path}: not found ({benchmark.source_file}: local source {source.path})")
        files.extend(_expand(source, path, origin))
    return files


def _expand(source: LocalSource, path: Path, origin: str) -> Iterator[SourceFile]:
    origin = "sample" if source.sample else origin
    if not source.tree:
        yield SourceFile(path, origin, file_revision(path), source.subset, source.format)
        return
    for file in sorted(path.rglob("*.json")):
        subset = str(file.relative_to(path).with_suffix(""))
        yield SourceFile(file, origin, file_revision(file), subset, source.format)


def snapshot_path(benchmark: Benchmark, split: str | None) -> Path:
    """Where a Hub split is kept once downloaded: `lake/sources/<benchmark>/<split>@<revision>.parquet`."""
    assert benchmark.hub is not None
    return lake_dir("sources", benchmark.benchmark, f"{split}@{benchmark.hub.revision}.parquet")


def _hub_snapshots(benchmark: Benchmark) -> list[SourceFile]:
    """Download each pinned Hub split once into the lake as Parquet, and read it from there.

    With `splits:` every split is one subset named after it; with `split:` rows name their subset."""
    from datasets import load_dataset  # heavy import: only when a Hub source is used

    hub = benchmark.hub
    assert hub is not None
    files = []
    for split in hub.splits or (hub.split,):
        target = snapshot_path(benchmark, split)
        if not target.exists():
            try:
                dataset = load_dataset(hub.repo, hub.config, split=split, revision=hub.revision)
            except Exception as exc:  # offline, unknown repo/split/revision: one clear line
                reason = first_line(exc)
                raise SourceError(
                    f"{hub.repo}@{hub.revision} split {split!r}: cannot load from the Hub: {reason}"
                ) from exc
            with atomic_path(target) as tmp:
                dataset.to_parquet(str(tmp))
        subset = split if hub.splits else None
        files.append(SourceFile(target, "hub", f"{hub.repo}@{hub.revision}", subset, hub.format))
    return files


def check_example(raw: RawExample) -> None:
    """Row-level rules: valid roles, alternating roles, a prompt ending with the user, a chosen response.

    Only what cannot be scored is quarantined. An empty turn or an empty response text is kept: the
    official scripts score such rows (RMB's pairwise files hold 2 empty rejected answers and 5 empty
    last user turns, in its 14,543 pairs), so they are scored and counted by the non-blocking quality
    checks `text_not_blank` and `prompt_content_not_blank` (datasets.WARN_ONLY).
    A U+FFFD in a text is kept: it is a valid character of the published file (RMB's files hold it
    in 35 pairwise and 15 best-of-N rows, scored in RMB's own numbers); the quality suite reports it.
    Undecodable bytes in a file are a SourceError (formats.read_records)."""
    if not raw.prompt:
        raise RowError("empty prompt")
    for index, message in enumerate(raw.prompt):
        if message["role"] not in VALID_ROLES:
            raise RowError(f"prompt[{index}]: invalid role {message['role']!r}")
    roles = ",".join(message["role"] for message in raw.prompt)
    # the same rule as the blocking check `prompt_roles_alternate`: quarantined here, named by its row
    if raw.prompt[-1]["role"] == "user" and not re.match(ROLE_SEQUENCE, roles):
        raise RowError(f"prompt roles do not alternate user/assistant (system only first): {roles}")
    if raw.prompt[-1]["role"] != "user":
        raise RowError(f"prompt must end with a user turn, not {raw.prompt[-1]['role']!r}")
    if not raw.chosen:
        raise RowError("no chosen response")


BATCH_ROWS = 50_000


def normalize(benchmark: Benchmark, files: list[SourceFile] | None = None) -> NormalizedBenchmark:
    """Read every source file of a benchmark into examples, responses and rejects."""
    files = files if files is not None else source_files(benchmark)
    examples: list[dict] = []
    responses: list[dict] = []
    rejects: list[dict] = []
    first_seen: dict[str, str] = {}
    source_rows = accepted_rows = 0
    # rows become frames every BATCH_ROWS examples: a Python dict per row took 13 GB at 1M tiny rows
    done: dict[str, list[pl.DataFrame]] = {"examples": [], "responses": []}

    def to_frames() -> None:
        done["examples"].append(pl.DataFrame(examples, schema=EXAMPLES_SCHEMA))
        done["responses"].append(pl.DataFrame(responses, schema=RESPONSES_SCHEMA))
        examples.clear()
        responses.clear()

    for source in files:
        adapter = get_adapter(source.format)
        default_subset = file_stem(source.path)
        for row, record in read_records(source.path):
            source_rows += 1
            try:
                produced = adapter(record, source.subset)
                raws = produced if isinstance(produced, list) else [produced]
                if not raws:
                    raise RowError("the row holds no example")
                ids = []
                for raw in raws:
                    check_unicode(raw)
                    check_example(raw)
                    example_id = raw.source_id or content_hash(
                        raw.subset or default_subset,
                        raw.prompt,
                        [a.text for a in raw.chosen],
                        [a.text for a in raw.rejected],
                    )
                    if example_id in first_seen or example_id in ids:
                        where = first_seen.get(example_id, f"{source.path.name} row {row}")
                        raise RowError(f"duplicate example_id {example_id!r} (first at {where})")
                    ids.append(example_id)
            except RowError as exc:
                rejects.append(_reject(benchmark, source, row, str(exc), record))
                continue
            accepted_rows += 1
            for raw, example_id in zip(raws, ids, strict=True):
                first_seen[example_id] = f"{source.path.name} row {row}"
                examples.append(
                    {
                        "benchmark": benchmark.benchmark,
                        "subset": raw.subset or default_subset,
                        "example_id": example_id,
                        "prompt": raw.prompt,
                        "source_revision": source.revision,
                        "source_file": str(source.path),
                        "source_row": row,
                    }
                )
                labelled = [("chosen", a) for a in raw.chosen] + [("rejected", a) for a in raw.rejected]
                for position, (label, answer) in enumerate(labelled):
                    responses.append(
                        {
                            "benchmark": benchmark.benchmark,
                            "example_id": example_id,
                            "response_id": response_id(raw.prompt, answer.text),
                            "position": position,
                            "text": answer.text,
                            "label": label,
                            "source_model": answer.model,
                        }
                    )
            if len(examples) >= BATCH_ROWS:
                to_frames()
    to_frames()
    return NormalizedBenchmark(
        examples=pl.concat(done["examples"]),
        responses=pl.concat(done["responses"]),
        rejects=pl.DataFrame(rejects, schema=REJECTS_SCHEMA),
        source_rows=source_rows,
        sources=tuple(files),
        accepted_rows=accepted_rows,
    )


def _reject(benchmark: Benchmark, source: SourceFile, row: int, reason: str, record: object) -> dict:
    try:  # a lone surrogate is shown escaped: the excerpt is written as UTF-8
        excerpt = json.dumps(record, ensure_ascii=False, default=str)[:300]
        excerpt = excerpt.encode("utf-8", "backslashreplace").decode("utf-8")
    except RecursionError:
        excerpt = "(not shown: nested too deeply)"
    return {
        "benchmark": benchmark.benchmark,
        "source_file": str(source.path),
        "source_row": row,
        "subset": source.subset,
        "reason": reason,
        "excerpt": excerpt,
    }
