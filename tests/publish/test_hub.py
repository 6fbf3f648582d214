"""Hub export: the dataset folder and its card, and uploads (offline, retries, token hygiene).

One tiny lake + warehouse (shipped samples, a tiny offline classifier) is built per module. No test
reaches the internet: uploads go to a fake endpoint on 127.0.0.1 or to a stub API.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import datasets
import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import DatasetCard

from rb_pipeline.catalog.entries import ModelEntry, load_benchmarks
from rb_pipeline.core.lake import dataset_path, write_parquet
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models.tiny_models import build_tiny_classifier
from rb_pipeline.publish import hub
from rb_pipeline.publish.hub import (
    CONFIGS,
    REPORT_DIR,
    HubError,
    build_score_dataset,
    default_push_dir,
    push_score_dataset,
)
from rb_pipeline.sources.normalize import normalize
from rb_pipeline.sources.records import SourceError
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.loopback import QuietJSONHandler, serving

MODEL = "test-org/tiny"
REPO = "test-org/tiny-scores"
# Made at run time (no secret-shaped literal in the tree) and not shaped like a real `hf_...` token, so
# only the explicit scrubbing can hide it.
FAKE_TOKEN = "tok-FAKE-" + secrets.token_hex(8)
OFFLINE_LINE = "uploads need the network and HF_HUB_OFFLINE is set"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lake of the shipped samples scored by a tiny classifier, and its warehouse."""
    root = tmp_path_factory.mktemp("rb_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RB_HOME", str(root))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.delenv("RB_MIRROR", raising=False)  # the shipped samples, not full copies
        mp.setenv("RB_SOURCE", "sample")
        benchmarks = {}
        examples, responses = [], []
        for name, benchmark in load_benchmarks().items():
            if not benchmark.local or benchmark.kind == "steps":
                continue  # Hub-only: not in the shipped samples; step-level: scored by PRMs only
            try:
                data = normalize(benchmark)
            except SourceError:
                continue  # its sample file is not shipped (yet)
            benchmarks[name] = benchmark
            for table in ("examples", "responses", "rejects"):
                write_parquet(getattr(data, table), dataset_path(table, name))
            examples.append(data.examples)
            responses.append(data.responses)
        model = build_tiny_classifier(root / "models" / "tiny", seed=0)
        score_model(
            ModelEntry(id=MODEL, source=str(model)),
            pl.concat(responses),
            pl.concat(examples),
            ScorerSettings(max_length=256),
            list(benchmarks),
            device="cpu",
            log=lambda _: None,
        )
        assert {"rewardbench", "rmb-pairwise", "rmb-bon"} <= set(benchmarks)
        build_warehouse(benchmarks)
        yield root


@pytest.fixture(scope="module")
def dry_dir(hub_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dry") / "tiny-scores"
    assert push_score_dataset(MODEL, REPO, dry_run_dir=out) == str(out)
    return out


def _count(sql: str) -> int:
    return int(query(sql).item())


def _assert_clean(text: str) -> None:
    assert FAKE_TOKEN not in text
    assert FAKE_TOKEN[4:] not in text  # nor its tail


def _assert_unchained(error: BaseException) -> None:
    """The client's exception (which may hold the token) is neither the cause nor the context."""
    assert error.__cause__ is None and error.__context__ is None
    _assert_clean("".join(traceback.format_exception(error)))


# ---------------------------------------------------------------- the folder


def test_dry_run_folder_loads_with_datasets(dry_dir: Path, tmp_path: Path) -> None:
    where = f"where model = '{MODEL}'"
    expected = {
        "scores": _count(f"select count(*) from example_outcomes {where}"),
        "metrics": _count(f"select count(*) from subset_accuracy {where}"),
        "sections": _count(f"select count(*) from section_scores {where}"),
        "leaderboard": 1,
        "prm_scores": 0,  # not a process reward model
    }
    assert expected["scores"] > 100 and expected["metrics"] > 10
    written = [config for config in CONFIGS if expected[config]]  # `datasets` cannot load an empty file
    assert written == ["scores", "metrics", "sections", "leaderboard"]
    assert sorted(p.name for p in dry_dir.iterdir()) == sorted(["README.md", REPORT_DIR, *written])
    # the model's report beside the configs, linked from the card
    assert (dry_dir / REPORT_DIR / "models" / f"{MODEL.replace('/', '--')}.html").is_file()
    assert "(report/index.html)" in (dry_dir / "README.md").read_text()
    assert (dry_dir / "scores" / "train-00000-of-00001.parquet").is_file()
    for config in written:
        loaded = datasets.load_dataset(str(dry_dir), config, split="train", cache_dir=str(tmp_path))
        assert loaded.num_rows == expected[config], config
    scores = datasets.load_dataset(str(dry_dir), "scores", split="train", cache_dir=str(tmp_path))
    for column in ("benchmark", "subset", "example_id", "correct", "margin", "chosen_ids", "chosen_texts",
                   "chosen_scores", "rejected_ids", "rejected_texts", "rejected_scores"):  # fmt: skip
        assert column in scores.column_names
    board = datasets.load_dataset(str(dry_dir), "leaderboard", split="train", cache_dir=str(tmp_path))
    assert board[0]["model"] == MODEL


def test_scores_rows_follow_the_outcome_rule(dry_dir: Path) -> None:
    rows = pq.read_table(dry_dir / "scores").to_pylist()
    keys = [(r["benchmark"], r["example_id"]) for r in rows]
    assert len(keys) == len(set(keys)), "one row per example"
    checked = 0
    for row in rows:
        assert len(row["chosen_ids"]) == len(row["chosen_texts"]) == len(row["chosen_scores"]) >= 1
        assert len(row["rejected_ids"]) == len(row["rejected_texts"]) == len(row["rejected_scores"])
        if row["correct"] is None:  # only without rejected responses or with an unscored one
            assert not row["rejected_ids"] or None in row["chosen_scores"] + row["rejected_scores"]
            continue
        worst_chosen, best_rejected = min(row["chosen_scores"]), max(row["rejected_scores"])
        assert row["correct"] == (worst_chosen > best_rejected)
        assert math.isclose(row["margin"], worst_chosen - best_rejected, rel_tol=1e-9, abs_tol=1e-12)
        checked += 1
    assert checked > 0.9 * len(rows)
    bon = [r for r in rows if r["benchmark"] == "rmb-bon"]
    assert bon and all(len(r["rejected_ids"]) > 1 for r in bon), "best-of-N keeps every loser"
    # metrics agree with the per-example rows
    frame = pl.DataFrame(rows).group_by("benchmark", "subset").agg(pl.col("correct").cast(pl.Float64).mean())
    metrics = pl.read_parquet(dry_dir / "metrics").join(frame, on=["benchmark", "subset"])
    assert metrics.height == pl.read_parquet(dry_dir / "metrics").height
    assert (metrics["accuracy"] - metrics["correct"]).abs().max() < 1e-12


def test_card_has_yaml_header_numbers_and_provenance(dry_dir: Path) -> None:
    text = (dry_dir / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    card = DatasetCard.load(dry_dir / "README.md")
    meta = card.data.to_dict()
    assert [c["config_name"] for c in meta["configs"]] == [c for c in CONFIGS if c != "prm_scores"]  # no PRM
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "scores/train-*.parquet"}]
    assert meta["license"] and "rb-pipeline" in meta["tags"] and "rewardbench" in meta["tags"]
    board = query(f"select * from leaderboard where model = '{MODEL}'").row(0, named=True)
    # shipped samples: no section is scored in full, so the scores are empty and the card says why
    shown = [(k, v) for k, v in board.items() if isinstance(v, float)]
    for column, value in shown:
        assert f"| {column} | {value:.4f} |" in text
    assert board["coverage"] and f"Left empty (not every subset scored in full): {board['coverage']}" in text
    runs = query(f"select distinct run_id, git_hash, model_revision from runs where model = '{MODEL}'")
    for run_id, git_hash, revision in runs.iter_rows():
        assert run_id in text and git_hash in text and f"`{revision}`" in text
    assert '"max_length": 256' in text
    assert "rb-pipeline score --model test-org/tiny" in text
    assert (
        f"| transformers | {json.loads(query('select package_versions from runs').item())['transformers']} |"
        in text
    )
    assert f'load_dataset("{REPO}", "scores"' in text


def test_no_complete_run_is_one_clear_line(hub_home: Path, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="'nobody/none' has no complete run") as caught:
        build_score_dataset("nobody/none", tmp_path / "out")
    assert "\n" not in str(caught.value) and "rb-pipeline score --model nobody/none" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_rebuild_replaces_the_folder_but_never_foreign_files(hub_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_score_dataset(MODEL, out)
    (out / "scores" / "train-00007-of-00009.parquet").write_bytes(b"stale")
    build_score_dataset(MODEL, out)
    assert [p.name for p in (out / "scores").iterdir()] == ["train-00000-of-00001.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"], "no temporary folder left behind"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(HubError, match="not an rb-pipeline score dataset folder"):
        build_score_dataset(MODEL, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_large_scores_are_split_into_shards(
    hub_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "SHARD_BYTES", 20_000)
    out = build_score_dataset(MODEL, tmp_path / "sharded")
    shards = sorted(p.name for p in (out / "scores").iterdir())
    assert len(shards) > 2 and shards[0] == f"train-00000-of-{len(shards):05d}.parquet"
    loaded = datasets.load_dataset(str(out), "scores", split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == _count(f"select count(*) from example_outcomes where model = '{MODEL}'")
    assert len(set(zip(loaded["benchmark"], loaded["example_id"], strict=True))) == loaded.num_rows


# ---------------------------------------------------------------- uploads


class _StubApi:
    """Stands in for HfApi: fails `failures` times with the given exceptions, then succeeds."""

    def __init__(self, failures: list[BaseException] | None = None) -> None:
        self.failures = list(failures or [])
        self.calls: list[tuple[str, dict]] = []

    def create_repo(self, repo_id: str, **kwargs: object) -> str:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if self.failures:
            raise self.failures.pop(0)
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, **kwargs: object) -> object:
        self.calls.append(("upload_folder", kwargs))
        return object()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(hub, "_sleep", waited.append)
    return waited


def _online(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # read once, at import


def test_offline_push_fails_fast(
    hub_home: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    stub = _StubApi()
    monkeypatch.setattr(hub, "_api", lambda token: stub)
    start = time.perf_counter()
    with pytest.raises(HubError) as caught:
        push_score_dataset(MODEL, REPO, token=FAKE_TOKEN)
    assert time.perf_counter() - start < 2.0
    message = str(caught.value)
    assert OFFLINE_LINE in message and "\n" not in message
    _assert_clean(message)
    assert stub.calls == [] and sleeps == []


def test_push_retries_transient_errors_then_uploads(
    hub_home: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    _online(monkeypatch)
    stub = _StubApi([ConnectionError("connection reset"), TimeoutError("read timed out")])
    monkeypatch.setattr(hub, "_api", lambda token: stub)
    url = push_score_dataset(MODEL, REPO, private=True, token=FAKE_TOKEN)
    assert url == f"https://huggingface.co/datasets/{REPO}"
    assert sleeps == [1.0, 2.0]
    assert [name for name, _ in stub.calls] == ["create_repo"] * 3 + ["upload_folder"]
    create = stub.calls[0][1]
    assert create["repo_type"] == "dataset" and create["private"] is True and create["exist_ok"] is True
    upload = stub.calls[-1][1]
    assert upload["repo_id"] == REPO and upload["repo_type"] == "dataset"
    assert Path(upload["folder_path"]) == default_push_dir(MODEL)
    assert (default_push_dir(MODEL) / "README.md").is_file()
    assert default_push_dir(MODEL) == hub_home / "hub" / "test-org--tiny"


def test_token_is_scrubbed_from_reraised_errors_and_logs(
    hub_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _online(monkeypatch)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)  # from the environment this time
    leaky = f"proxy refused: Authorization: Bearer {FAKE_TOKEN}\nheaders={{'authorization': '{FAKE_TOKEN}'}}"
    # transient (retried, logged) and then fatal: both carry the token
    stub = _StubApi([ConnectionError(leaky), ValueError(leaky)])
    monkeypatch.setattr(hub, "_api", lambda token: stub)
    caplog.set_level("DEBUG")
    with pytest.raises(HubError) as caught:
        push_score_dataset(MODEL, REPO)
    message = str(caught.value)
    assert "proxy refused" in message and "***" in message and "\n" not in message
    assert sleeps == [1.0] and len(stub.calls) == 2
    _assert_clean(message)
    _assert_unchained(caught.value)
    _assert_clean(caplog.text)
    out, err = capfd.readouterr()
    _assert_clean(out + err)
    assert "retry 1/3" in caplog.text
    _assert_clean((default_push_dir(MODEL) / "README.md").read_text(encoding="utf-8"))


class _Unavailable(QuietJSONHandler):
    """Answers 503 to everything, echoing the Authorization header (a badly behaved proxy)."""

    hits: list[tuple[str, str, str | None]] = []

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("Authorization")
        self.hits.append((self.command, self.path, auth))
        self.send_json({"error": f"service unavailable (you sent {auth})"}, status=503)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _reply


@pytest.fixture
def fake_endpoint() -> Iterator[tuple[str, list]]:
    _Unavailable.hits = []
    with serving(_Unavailable) as url:
        yield url, _Unavailable.hits


def test_push_against_an_unavailable_endpoint(
    hub_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    sleeps: list[float],
    fake_endpoint: tuple[str, list],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from huggingface_hub import HfApi

    url, hits = fake_endpoint
    _online(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", url)
    # The raw client error carries what the server echoed, token included: scrubbing is needed.
    with pytest.raises(Exception) as raw:
        HfApi(endpoint=url, token=FAKE_TOKEN).create_repo(REPO, repo_type="dataset", exist_ok=True)
    assert FAKE_TOKEN in str(raw.value)
    hits.clear()
    caplog.set_level("DEBUG")

    with pytest.raises(HubError) as caught:
        push_score_dataset(MODEL, REPO, token=FAKE_TOKEN)
    message = str(caught.value)
    assert len(hits) == 1 + hub.RETRIES == 4, hits
    assert all(method == "POST" and path == "/api/repos/create" for method, path, _ in hits)
    assert all(auth == f"Bearer {FAKE_TOKEN}" for _, _, auth in hits), "the token was sent"
    assert sleeps == [1.0, 2.0, 4.0], "exponential backoff"
    assert "after 4 attempts" in message and "503" in message and "\n" not in message
    assert f"kept at {default_push_dir(MODEL)}" in message
    _assert_clean(message)
    _assert_unchained(caught.value)
    _assert_clean(caplog.text)
    out, err = capfd.readouterr()
    _assert_clean(out + err)
    kept = default_push_dir(MODEL)
    assert (kept / "README.md").is_file() and (kept / "scores" / "train-00000-of-00001.parquet").is_file()


class _LoopbackHub(QuietJSONHandler):
    """The Hub's upload protocol as huggingface_hub's HfApi speaks it (create_repo, then upload_folder:
    list the repo tree for `delete_patterns`, validate the card's YAML, preupload, commit), over plain HTTP on 127.0.0.1. Files are
    kept in `files` ({path: bytes}); every request is recorded as (method, path, Authorization, the
    other headers and the body) so a test can see where the token went. Every file is answered
    `regular` at preupload, so the commit carries the content (base64 in its ndjson): no LFS, no Xet."""

    files: dict[str, bytes] = {}
    requests: list[tuple[str, str, str | None, str]] = []

    def _route(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        others = "\n".join(f"{k}: {v}" for k, v in self.headers.items() if k.lower() != "authorization")
        path = self.path.split("?")[0]
        self.requests.append((self.command, path, self.headers.get("Authorization"), others + body.decode()))
        base = f"/api/datasets/{REPO}"
        if (self.command, path) == ("POST", "/api/repos/create"):
            self.send_json({"url": f"http://{self.headers['Host']}/datasets/{REPO}"})
        elif (self.command, path) == ("POST", "/api/validate-yaml"):  # the card's metadata, before upload
            front_matter = json.loads(body)["content"].split("---\n")[1]
            errors = [] if isinstance(yaml.safe_load(front_matter), dict) else [{"message": "no metadata"}]
            self.send_json({"errors": errors, "warnings": []}, status=400 if errors else 200)
        elif (self.command, path) == ("GET", f"{base}/tree/main"):
            self.send_json(
                [{"type": "file", "path": p, "size": len(b), "oid": "0" * 40} for p, b in self.files.items()]
            )
        elif (self.command, path) == ("POST", f"{base}/preupload/main"):
            files = json.loads(body)["files"]
            self.send_json(
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                    ]
                }
            )
        elif (self.command, path) == ("POST", f"{base}/commit/main"):
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "deletedFile":
                    del self.files[item["value"]["path"]]
            url = f"http://{self.headers['Host']}/datasets/{REPO}/commit/{'c' * 40}"
            self.send_json({"commitUrl": url, "commitOid": "c" * 40, "pullRequestUrl": None})
        else:
            self.send_json({"error": f"not served by the loopback Hub: {self.command} {path}"}, status=404)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _route


@pytest.fixture
def loopback_hub() -> Iterator[str]:
    _LoopbackHub.files, _LoopbackHub.requests = {}, []
    with serving(_LoopbackHub) as url:
        yield url


def test_push_uploads_over_http_and_the_dataset_loads_back(
    hub_home: Path, monkeypatch: pytest.MonkeyPatch, loopback_hub: str, tmp_path: Path
) -> None:
    """A real upload end to end: HfApi against a loopback server speaking the Hub's upload protocol.
    The files it received load with `datasets`; the token travelled only in the Authorization header."""
    _online(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", loopback_hub)
    # a shard of an earlier, larger upload: this one no longer has it, so it is deleted (delete_patterns)
    _LoopbackHub.files = {"scores/train-00001-of-00002.parquet": b"old shard"}
    url = push_score_dataset(MODEL, REPO, token=FAKE_TOKEN)
    assert url == f"{loopback_hub}/datasets/{REPO}"
    routes = [(method, path) for method, path, _, _ in _LoopbackHub.requests]
    base = f"/api/datasets/{REPO}"
    assert routes == [
        ("POST", "/api/repos/create"),
        ("GET", f"{base}/tree/main"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"{base}/preupload/main"),
        ("POST", f"{base}/commit/main"),
    ]
    assert all(auth == f"Bearer {FAKE_TOKEN}" for _, _, auth, _ in _LoopbackHub.requests)
    for _, path, _, rest in _LoopbackHub.requests:  # nowhere else: not in a URL, header or body
        _assert_clean(path + rest)
    # what the server holds is the folder that was built, byte for byte, and nothing stale
    folder = default_push_dir(MODEL)
    built = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert _LoopbackHub.files == built
    dataset = sorted(name for name in built if not name.startswith("report/"))
    written = [c for c in CONFIGS if c != "prm_scores"]  # a preference model: no PRM rows, no empty file
    assert dataset == sorted(["README.md", *(f"{c}/train-00000-of-00001.parquet" for c in written)])
    assert "report/index.html" in built  # the static report travels beside the dataset
    received = tmp_path / "received"
    for path, content in _LoopbackHub.files.items():
        (received / path).parent.mkdir(parents=True, exist_ok=True)
        (received / path).write_bytes(content)
    where = f"where model = '{MODEL}'"
    for config, sql in [
        ("scores", f"select count(*) from example_outcomes {where}"),
        ("metrics", f"select count(*) from subset_accuracy {where}"),
        ("leaderboard", f"select count(*) from leaderboard {where}"),
    ]:
        loaded = datasets.load_dataset(
            str(received), config, split="train", cache_dir=str(tmp_path / "cache")
        )
        assert loaded.num_rows == _count(sql), config
    board = datasets.load_dataset(
        str(received), "leaderboard", split="train", cache_dir=str(tmp_path / "cache")
    )
    assert board[0]["model"] == MODEL


def test_push_needs_a_token_and_a_valid_repo_id(hub_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    _online(monkeypatch)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    monkeypatch.setattr(hub, "_api", lambda token: pytest.fail("no upload without a token"))
    with pytest.raises(HubError, match="no Hugging Face token: set HF_TOKEN"):
        push_score_dataset(MODEL, REPO)
    with pytest.raises(HubError, match="invalid --repo-id"):
        push_score_dataset(MODEL, "not/a/valid//id", token=FAKE_TOKEN)


def test_model_card_metadata_lists_the_leaderboard(hub_home: Path, dry_dir: Path) -> None:
    meta = hub.model_card_metadata(MODEL, dataset_repo_id=REPO)
    results = meta["model-index"][0]["results"]
    board = query(f"select * from leaderboard where model = '{MODEL}'").row(0, named=True)
    n_board = sum(1 for v in board.values() if isinstance(v, float))  # empty scores are not results
    n_subsets = _count(f"select count(*) from subset_accuracy where model = '{MODEL}' and n > 0")
    assert len(results) == n_board + n_subsets
    # the strict-rule benchmarks' subset results, worked out here from the published per-example rows:
    # accuracy = the share of examples whose worst chosen score beats the best rejected one
    rows = pl.read_parquet(dry_dir / "scores").filter(
        pl.col("benchmark").is_in(["rewardbench", "rmb-pairwise", "rmb-bon"])
    )
    correct = rows.select(
        "benchmark",
        "subset",
        right=pl.col("chosen_scores").list.min() > pl.col("rejected_scores").list.max(),
    )
    by_hand = correct.group_by("benchmark", "subset").agg(pl.col("right").cast(pl.Float64).mean())
    expected = {f"{benchmark}/{subset}": value for benchmark, subset, value in by_hand.rows()}
    values = {r["dataset"]["name"]: r["metrics"][0]["value"] for r in results}
    assert len(expected) > 10
    assert {name: values[name] for name in expected} == pytest.approx(expected, abs=1e-12)


def test_hub_asset_writes_the_dry_run_folder(hub_home):
    from dagster import DagsterInstance, materialize

    from assets.hub import hub_dataset
    from rb_pipeline.core.paths import encode_model_id

    model_id = MODEL
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("models", [encode_model_id(model_id)])
        result = materialize([hub_dataset], partition_key=encode_model_id(model_id), instance=instance)
    metadata = result.asset_materializations_for_node("hub_dataset")[0].metadata
    assert "README.md" in metadata["files"].value
    assert model_id in metadata["card"].value
