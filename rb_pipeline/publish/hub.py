"""Publish one model's scores to the Hugging Face Hub as a dataset (Parquet configs + dataset card).

`build_score_dataset` reads the warehouse (read-only) and writes a dataset folder (each config that has rows):

    README.md                                  dataset card: YAML header (configs, license, tags) + provenance
    scores/train-00000-of-00001.parquet        one row per example: outcome, margin, chosen/rejected ids, texts, scores
    metrics/train-00000-of-00001.parquet       one row per subset: n, accuracy, score (the `subset_accuracy` view)
    sections/train-00000-of-00001.parquet      one row per section (the `section_scores` view)
    leaderboard/train-00000-of-00001.parquet   the model's `leaderboard` row
    prm_scores/train-00000-of-00001.parquet    a process reward model's PRMBench / ProcessBench scores

It always describes the model's latest complete run per benchmark (the views' rule). The folder is
written under a temporary name and renamed into place, so a reader never sees half of it.

`push_score_dataset` builds that folder and uploads it with `huggingface_hub`. Transient network errors
are retried with exponential backoff; `HF_HUB_OFFLINE` fails at once. The token is never written to a
message, a log line or the card: every error text that leaves this module is scrubbed of it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import tenacity

from rb_pipeline.core.paths import atomic_dir, encode_model_id, offline_var, rb_home, warehouse_path
from rb_pipeline.core.settings import reproduce_flags
from rb_pipeline.core.text import first_line, table_cell
from rb_pipeline.publish.report import write_report
from rb_pipeline.warehouse.sql_rules import query_sql
from rb_pipeline.warehouse.views import connect

__all__ = [
    "CONFIGS",
    "HubError",
    "build_score_dataset",
    "default_push_dir",
    "model_card_metadata",
    "push_model_metadata",
    "push_score_dataset",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIGS = ("scores", "metrics", "sections", "leaderboard", "prm_scores")
REPORT_DIR = "report"  # the static report (publish.report) of the model, uploaded beside the configs
# The card's Jinja template, beside this module (package data, so it is there in any install)
CARD_TEMPLATE = resources.files("rb_pipeline.publish") / "dataset_card.md.jinja"
DEFAULT_LICENSE = "odc-by"  # RewardBench's license; the benchmark texts keep their sources' licenses
BASE_TAGS = ("rb-pipeline", "reward-model", "evaluation", "preference")
SPLIT = "train"
SHARD_BYTES = 256 * 1024 * 1024  # in-memory Arrow bytes per Parquet shard of `scores`
RETRIES = 3  # retries after the first attempt, for transient network errors
BACKOFF_SECONDS = 1.0  # first wait; doubled after each retry (1, 2, 4 s)
TRANSIENT_STATUS = (408, 429)  # besides every 5xx
_sleep: Callable[[float], None] = time.sleep  # replaced in tests


class HubError(RuntimeError):
    """A build or upload failed; the message is one line, names what failed, and holds no token."""


# ---------------------------------------------------------------- reading the warehouse


@dataclass(frozen=True)
class _Snapshot:
    """What the card and the configs need, read in one read-only session."""

    model_id: str
    warehouse: Path
    runs: list[dict]  # one per benchmark: the latest complete run that covered it
    tables: dict[str, pa.Table]


def _read_snapshot(model_id: str, warehouse: Path | None = None) -> _Snapshot:
    try:
        con = connect(read_only=True, path=warehouse)
    except FileNotFoundError as exc:
        raise HubError(str(exc)) from None
    except duckdb.Error as exc:
        raise HubError(f"cannot open the warehouse: {first_line(exc)}") from None
    params = {"model": model_id}
    try:
        with con:
            runs = con.sql(query_sql("hub/runs"), params=params).to_arrow_table().to_pylist()
            if not runs:
                raise HubError(_no_run_message(con, model_id))
            tables = {  # each from sql/queries/hub/<name>.sql
                name: con.sql(query_sql(f"hub/{name}"), params=params).to_arrow_table() for name in CONFIGS
            }
    except duckdb.Error as exc:
        raise HubError(f"reading the warehouse for model {model_id!r} failed: {first_line(exc)}") from None
    return _Snapshot(model_id, Path(warehouse) if warehouse else warehouse_path(), runs, tables)


def _no_run_message(con: duckdb.DuckDBPyConnection, model_id: str) -> str:
    statuses = con.sql(query_sql("hub/run_statuses"), params={"model": model_id}).fetchall()
    complete = {provenance for status, provenance, _ in statuses if status == "complete"}
    if complete == {"imported"}:  # imported results carry no per-response scores to publish
        return (
            f"model {model_id!r} has imported results only, and imported results are not pushed "
            f"(they hold no per-response scores): run `rb-pipeline score --model {model_id}` to score it here"
        )
    if statuses:
        by_status = Counter()
        for status, _, n in statuses:
            by_status[status] += n
        found = ", ".join(f"{n} {status}" for status, n in by_status.items())
        return (
            f"model {model_id!r} has no complete run in the warehouse (runs found: {found}); "
            f"run `rb-pipeline score --model {model_id}` first"
        )
    known = [row[0] for row in con.sql(query_sql("hub/models_with_runs")).fetchall()]
    hint = f" (models with complete runs: {', '.join(known[:10])}{', ...' if len(known) > 10 else ''})"
    return (
        f"model {model_id!r} has no complete run in the warehouse{hint if known else ''}; "
        f"run `rb-pipeline score --model {model_id}` first"
    )


# ---------------------------------------------------------------- writing the folder


def _shards(table: pa.Table) -> list[pa.Table]:
    """Row slices of about SHARD_BYTES (in memory) each; one shard for a small or empty table."""
    if table.num_rows == 0:
        return [table]
    count = min(table.num_rows, max(1, math.ceil(table.nbytes / SHARD_BYTES)))
    step = math.ceil(table.num_rows / count)
    return [table.slice(start, step) for start in range(0, table.num_rows, step)]


def _write_config(folder: Path, name: str, table: pa.Table) -> list[str]:
    """`<name>/train-0000i-of-0000n.parquet`; returns the relative file names."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    shards = _shards(table)
    names = []
    for index, shard in enumerate(shards):
        relative = f"{name}/{SPLIT}-{index:05d}-of-{len(shards):05d}.parquet"
        pq.write_table(shard, folder / relative, compression="zstd")
        names.append(relative)
    return names


def _is_dataset_folder(path: Path) -> bool:
    """Only an empty folder or one this module wrote may be replaced (never a user's other files)."""
    if not path.is_dir():
        return False
    return all(entry.name in {"README.md", REPORT_DIR, *CONFIGS} for entry in path.iterdir())


@contextmanager
def _atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder next to `final`; swap it into place only if the block succeeds."""
    if final.exists() and not _is_dataset_folder(final):
        raise HubError(
            f"{final}: exists and is not an rb-pipeline score dataset folder; choose a new or empty folder"
        )
    with atomic_dir(final) as tmp:
        yield tmp


def build_score_dataset(
    model_id: str,
    out_dir: Path,
    *,
    repo_id: str | None = None,
    license: str = DEFAULT_LICENSE,
    warehouse: Path | None = None,
) -> Path:
    """Write the Hub dataset folder of `model_id`'s latest complete runs to `out_dir` (replaced whole).

    `repo_id` only fills the card's loading snippet. Raises HubError (one line) when the model has no
    complete run, or when `out_dir` holds files this module did not write."""
    snapshot = _read_snapshot(model_id, warehouse)
    out_dir = Path(out_dir).resolve()
    with _atomic_dir(out_dir) as tmp:
        # only the configs with rows: `datasets` cannot load an empty Parquet file (a PRM has no
        # preference scores, a preference model no prm_scores)
        files = {
            name: _write_config(tmp, name, table) for name, table in snapshot.tables.items() if table.num_rows
        }
        write_report(tmp / REPORT_DIR, model=model_id, path=warehouse)
        card = render_card(snapshot, files, repo_id=repo_id, license=license)
        (tmp / "README.md").write_text(card, encoding="utf-8")
    return out_dir


# ---------------------------------------------------------------- the dataset card


def _cells(rows: list[list[object]]) -> list[list[str]]:
    return [[table_cell(cell, markdown=True) for cell in row] for row in rows]


def _size_category(n: int) -> str:
    for bound, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < bound:
            return label
    return "1M<n<10M"


def _grouped(runs: list[dict], key: str) -> list[tuple[str, list[str]]]:
    """Distinct values of a run field, each with the benchmarks whose run has it."""
    groups: dict[str, list[str]] = {}
    for run in runs:
        groups.setdefault(run[key] or "", []).append(run["benchmark"])
    return list(groups.items())


def _pretty_json(text: str) -> str:
    with suppress(TypeError, ValueError):
        text = json.dumps(json.loads(text), indent=2, sort_keys=True)
    return text


def _versions(text: str | None) -> dict:
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _reproduce_command(model_id: str, runs: list[dict]) -> str:
    parts = ["rb-pipeline", "score", "--model", shlex.quote(model_id)]
    settings = _settings(runs[0])
    if len({run["settings"] for run in runs}) == 1:
        parts += [shlex.quote(part) for part in reproduce_flags(settings)]
    return " ".join(parts)


def _settings(run: dict) -> dict:
    try:
        value = json.loads(run["settings"] or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _package_version() -> str:
    try:
        return metadata.version("rb-pipeline")
    except metadata.PackageNotFoundError:
        return "unknown"


CONFIG_DESCRIPTIONS = {
    "scores": "one row per example: benchmark, subset, example_id, run_id, correct, margin, prompt, and "
    "lists chosen_/rejected_ ids, texts and scores (in the source's order)",
    "metrics": "one row per subset: benchmark, subset, section, n, accuracy, score (the subset's score by "
    "its rule: the accuracy, or RewardBench 2's Ties score, whose accuracy is empty)",
    "sections": "one row per section: the catalog's weighted mean of subset accuracies",
    "leaderboard": "the model's leaderboard row",
    "prm_scores": "a process reward model's step-level scores: one row per PRMBench category, overall and "
    "group (PRMScore, F1, F1_neg) and per ProcessBench subset (acc_err, acc_cor, F1); empty otherwise",
}


def render_card(
    snapshot: _Snapshot,
    files: dict[str, list[str]],
    repo_id: str | None = None,
    license: str = DEFAULT_LICENSE,
) -> str:
    """The README.md: YAML header (configs, license, tags) and the run's provenance and numbers,
    rendered from `CARD_TEMPLATE` by huggingface_hub's `DatasetCard`."""
    from huggingface_hub import DatasetCard, DatasetCardData  # 0.2 s to import: only when a card is made

    model_id, runs, tables = snapshot.model_id, snapshot.runs, snapshot.tables
    benchmarks = [run["benchmark"] for run in runs]
    card_data = DatasetCardData(
        license=license,
        pretty_name=f"Reward-model scores: {model_id}",
        tags=[*BASE_TAGS, *sorted(set(benchmarks))],
        size_categories=[_size_category(tables["scores"].num_rows)],
        configs=[
            {
                "config_name": name,
                "data_files": [{"split": SPLIT, "path": f"{name}/{SPLIT}-*.parquet"}],
                **({"default": True} if name == "scores" else {}),
            }
            for name in files
        ],
    )
    leaderboard = tables["leaderboard"].to_pylist()
    board = leaderboard[0] if leaderboard else {}
    load_repo = repo_id or "ORG/NAME"
    card = DatasetCard.from_template(
        card_data,
        template_str=CARD_TEMPLATE.read_text(encoding="utf-8"),
        model_id=model_id,
        revisions=sorted({run["model_revision"] or "unknown" for run in runs}),
        benchmarks=benchmarks,
        package_version=_package_version(),
        n_examples=tables["scores"].num_rows,
        # the scores (coverage and provenance are text: coverage is shown below the table)
        leaderboard_rows=_cells([[k, v] for k, v in board.items() if isinstance(v, float)]),
        coverage=board.get("coverage"),
        section_rows=_cells(
            [
                [s["benchmark"], s["section"], s["score"], s.get("n_subsets"), s.get("n_examples")]
                for s in tables["sections"].to_pylist()
            ]
        ),
        prm_columns=list(tables["prm_scores"].column_names),
        prm_rows=_cells([list(row.values()) for row in tables["prm_scores"].to_pylist()]),
        subset_rows=_cells(
            [
                [m["benchmark"], m["subset"], m["n"], m["accuracy"], m["score"]]
                for m in tables["metrics"].to_pylist()
            ]
        ),
        config_rows=[
            [
                f"`{name}`",
                str(tables[name].num_rows),
                ", ".join(f"`{f}`" for f in files[name]),
                CONFIG_DESCRIPTIONS[name],
            ]
            for name in files
        ],
        load_configs=list(files)[:2],  # the loading snippet's examples
        load_repo=load_repo,
        split=SPLIT,
        run_rows=_cells(
            [
                [
                    r["benchmark"],
                    f"`{r['run_id']}`",
                    r["model_revision"],
                    r["model_type"],
                    r["device"],
                    r["provenance"],
                    _timestamp(r["ended_at"]),
                    r["n_responses"],
                    r["n_truncated"],
                ]
                for r in runs
            ]
        ),
        settings_groups=[
            {"benchmarks": where, "settings": _pretty_json(settings)}
            for settings, where in _grouped(runs, "settings")
        ],
        git_groups=[
            {"benchmarks": where, "git_hash": git or "unknown"} for git, where in _grouped(runs, "git_hash")
        ],
        warehouse=snapshot.warehouse.name,
        version_groups=[
            {"benchmarks": where, "versions": _cells(sorted(_versions(versions).items()))}
            for versions, where in _grouped(runs, "package_versions")
            if _versions(versions)
        ],
        reproduce_command=_reproduce_command(model_id, runs),
        push_command=f"rb-pipeline push --model {shlex.quote(model_id)} --repo-id {load_repo}",
    )
    return str(card)


def _timestamp(value: object) -> str:
    if value is None:
        return "–"
    iso = getattr(value, "isoformat", None)
    return iso(timespec="seconds") if iso else str(value)


# ---------------------------------------------------------------- uploading


def default_push_dir(model_id: str) -> Path:
    """Where `push` builds the folder when no `--dry-run DIR` is given: `$RB_HOME/hub/<org--name>`."""
    return rb_home() / "hub" / encode_model_id(model_id)


def _one_line(text: str, limit: int = 400) -> str:
    """An error text on one line: its non-empty lines joined, boilerplate links dropped, cut at `limit`."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("For more information check")]
    joined = " | ".join(lines)
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


def _scrubber(secrets: list[str | None]) -> Callable[[str], str]:
    """Replace every secret (and anything shaped like a Hugging Face token) with `***`."""
    found = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in found:
            text = text.replace(secret, "***")
        return _TOKEN_PATTERN.sub("hf_***", text)

    return scrub


def _offline_message(var: str) -> str:
    return (
        f"cannot push to the Hub: uploads need the network and {var} is set "
        "(unset it to upload, or use --dry-run DIR to write the folder only)"
    )


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _network_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [TimeoutError, ConnectionError]
    for module, names in (
        ("httpx2", ("TransportError",)),
        ("httpx", ("TransportError",)),
        ("requests.exceptions", ("ConnectionError", "Timeout")),
    ):
        try:
            imported = __import__(module, fromlist=list(names))
        except ImportError:
            continue
        types += [getattr(imported, name) for name in names if hasattr(imported, name)]
    return tuple(types)


def _classify(exc: BaseException) -> str:
    """`offline`, `transient` (worth retrying) or `fatal`."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    network = _network_error_types()
    for link in _exception_chain(exc):
        if isinstance(link, OfflineModeIsEnabled):
            return "offline"
        if isinstance(link, HfHubHTTPError):
            response = getattr(link, "response", None)
            status = getattr(response, "status_code", None)
            return (
                "transient"
                if status is not None and (status >= 500 or status in TRANSIENT_STATUS)
                else "fatal"
            )
        if isinstance(link, network):
            return "transient"
    return "fatal"


def _status_hint(exc: BaseException, repo_id: str) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return f" (check that the token can write to {repo_id})"
    return ""


def _with_retries(
    what: str, call: Callable[[], T], scrub: Callable[[str], str], repo_id: str, kept: Path | None = None
) -> T:
    """Run `call`; retry transient network errors RETRIES times (exponential backoff), then fail in one line.

    The HubError is raised outside the `except` block, so it carries no `__context__`: the client's
    exception (whose text or request headers may hold the token) is not chained to it."""
    tail = f"; the local folder is kept at {kept}" if kept is not None else ""

    def reason(exc: BaseException) -> str:
        return _one_line(scrub(str(exc)) or type(exc).__name__)  # scrub before cutting

    def log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception()
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: %s; retry %d/%d in %.1f s", what, reason(exc), state.attempt_number, RETRIES, delay)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda exc: _classify(exc) == "transient"),
        stop=tenacity.stop_after_attempt(RETRIES + 1),
        wait=tenacity.wait_exponential(multiplier=BACKOFF_SECONDS),  # 1, 2, 4 s
        sleep=lambda seconds: _sleep(seconds),  # looked up per call: tests replace `_sleep`
        before_sleep=log_retry,
        reraise=True,  # the last error itself, classified below
    )
    error: HubError | None = None
    try:
        return retrying(call)
    except Exception as exc:  # classified here; nothing unexpected is swallowed silently
        kind = _classify(exc)
        if kind == "offline":
            error = HubError(_offline_message("HF_HUB_OFFLINE"))
        elif kind == "transient":
            error = HubError(
                f"{what} failed after {RETRIES + 1} attempts (network error): {reason(exc)}{tail}"
            )
        else:
            error = HubError(f"{what} failed: {reason(exc)}{_status_hint(exc, repo_id)}{tail}")
    raise error


def _validate_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"invalid --repo-id {repo_id!r}: {first_line(exc)}") from None


def _resolve_token(token: str | None) -> str | None:
    import huggingface_hub

    return token or os.environ.get("HF_TOKEN") or huggingface_hub.get_token()


def _upload_credentials(token: str | None) -> tuple[str, Callable[[str], str]]:
    """(the token, a function that blanks every form of it out of a text) for an upload; a one-line
    HubError when the Hub is switched off or no token can be found."""
    var = offline_var()
    if var is not None:
        raise HubError(_offline_message(var))
    secret = _resolve_token(token)
    scrub = _scrubber([token, os.environ.get("HF_TOKEN"), secret])
    if not secret:
        raise HubError("no Hugging Face token: set HF_TOKEN (or log in with `hf auth login`) to upload")
    return secret, scrub


def _api(token: str):
    from huggingface_hub import HfApi

    # HF_ENDPOINT is read now (huggingface_hub reads it once, at import)
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)


def push_score_dataset(
    model_id: str,
    repo_id: str,
    private: bool = False,
    dry_run_dir: Path | None = None,
    token: str | None = None,
) -> str:
    """Build the model's score dataset and upload it to the Hub dataset repo `repo_id`.

    With `dry_run_dir`, only write the folder there and return its path. Otherwise build into
    `$RB_HOME/hub/<org--name>` (kept after a failed upload), create the repo if needed, upload, and
    return the repo's URL. The token comes from `token`, else `HF_TOKEN`, else the stored login."""
    _validate_repo_id(repo_id)
    if dry_run_dir is not None:
        return str(build_score_dataset(model_id, Path(dry_run_dir), repo_id=repo_id))
    secret, scrub = _upload_credentials(token)
    folder = build_score_dataset(model_id, default_push_dir(model_id), repo_id=repo_id)
    card = (folder / "README.md").read_text(encoding="utf-8")
    if scrub(card) != card:  # the card is built from the warehouse alone; refuse to publish a secret
        raise HubError(f"{folder / 'README.md'}: contains the Hub token; not uploading")
    api = _api(secret)
    url = _with_retries(
        f"creating dataset repo {repo_id}",
        lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
        scrub,
        repo_id,
        folder,
    )
    n_shards = len(list((folder / "scores").glob("*.parquet")))
    _with_retries(
        f"uploading {folder} to {repo_id}",
        lambda: api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=folder,
            commit_message=f"rb-pipeline scores of {model_id}",
            commit_description=f"Uploaded by rb-pipeline {_package_version()} ({n_shards} score shards).",
            # remove shards of an earlier upload that this one no longer has
            delete_patterns=[f"{name}/*.parquet" for name in CONFIGS] + [f"{REPORT_DIR}/**"],
        ),
        scrub,
        repo_id,
        folder,
    )
    log.info("uploaded %s to %s", folder, url)
    return str(url)


# ---------------------------------------------------------------- optional: model-index metadata


def model_card_metadata(
    model_id: str, dataset_repo_id: str | None = None, warehouse: Path | None = None
) -> dict:
    """`model-index` metadata for the model's own card (like rewardbench's `--upload_model_metadata_to_hf`):
    one accuracy result per leaderboard column (overall and section scores) and per subset."""
    from huggingface_hub import EvalResult, ModelCardData

    snapshot = _read_snapshot(model_id, warehouse)
    source = {"url": f"https://huggingface.co/datasets/{dataset_repo_id}"} if dataset_repo_id else {}
    results = []
    board = snapshot.tables["leaderboard"].to_pylist()
    for column, value in (board[0] if board else {}).items():
        if not isinstance(value, float):  # model, coverage, provenance, empty scores
            continue
        results.append(
            EvalResult(
                task_type="preference_evaluation",
                dataset_type=column,
                dataset_name=column,
                metric_type="accuracy",
                metric_value=float(value),
                source_name="rb-pipeline" if source else None,
                source_url=source.get("url"),
            )
        )
    for subset in snapshot.tables["metrics"].to_pylist():
        # the subset's score: its accuracy, or its rule's own score (RewardBench 2's Ties), named so
        score = subset.get("score", subset.get("accuracy"))
        if score is None:
            continue
        name = f"{subset['benchmark']}/{subset['subset']}"  # a result is keyed by its dataset type
        results.append(
            EvalResult(
                task_type="preference_evaluation",
                dataset_type=name,
                dataset_name=name,
                metric_type="accuracy" if subset.get("accuracy") is not None else "score",
                metric_value=float(score),
                source_name="rb-pipeline" if source else None,
                source_url=source.get("url"),
            )
        )
    data = ModelCardData(model_name=model_id, eval_results=results or None)
    return data.to_dict()


def push_model_metadata(model_id: str, dataset_repo_id: str | None = None, token: str | None = None) -> str:
    """Merge `model_card_metadata` into the model repo's card on the Hub (needs write access to it)."""
    secret, scrub = _upload_credentials(token)
    meta = model_card_metadata(model_id, dataset_repo_id)

    def update() -> str:
        from huggingface_hub import metadata_update  # uses the endpoint huggingface_hub read at import

        return metadata_update(
            model_id,
            meta,
            repo_type="model",
            overwrite=True,
            token=secret,
            commit_message="Update evaluation results via rb-pipeline",
        )

    return _with_retries(f"updating the model card of {model_id}", update, scrub, model_id)
