"""Shared fixtures: offline settings, the shipped samples, a temporary lake, tiny models built once per
session, and the markers for what a fresh clone may lack:

- `mirror`: needs the full benchmark copies (`$RB_MIRROR`, default `../shared/data`); skipped, all with
  one stated reason, when that folder is absent (a public clone has no `../shared`).
- `browser`: needs Chromium (`scripts/install_browser.sh`); skipped with one stated reason when absent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Tests opt into the shipped samples (the CLI reads the full data by default); full-data tests unset it.
os.environ.setdefault("RB_SOURCE", "sample")

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("RB_MIRROR") or REPO.parent / "shared" / "data").resolve()
MIRROR_ABSENT = f"the benchmark mirror is absent ({MIRROR}): set RB_MIRROR to the full benchmark copies"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ABSENT = f"{CHROMIUM} is absent and scripts/install_browser.sh could not install it (apt)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"mirror: needs the full benchmark copies; skipped when {MIRROR_ABSENT}"
    )
    config.addinivalue_line("markers", "browser: needs Chromium; skipped when it could not be installed")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip what needs an absent mirror or browser, each with one reason (shown by `-ra`); run the files
    that hold slow tests first, the longest first (`slow(minutes=N)`: about N minutes for the whole file
    on two idle cores, the largest N of its tests; default 1), so the two xdist workers (scripts/test.sh,
    which keeps this order: `--no-loadscope-reorder`) finish close together."""
    minutes: dict[Path, float] = {}
    for item in items:
        if marker := item.get_closest_marker("slow"):
            minutes[item.path] = max(minutes.get(item.path, 0), marker.kwargs.get("minutes", 1))
    items.sort(key=lambda item: -minutes.get(item.path, 0))  # stable: each file keeps its order
    absent = {
        "mirror": None if MIRROR.is_dir() else MIRROR_ABSENT,
        "browser": None if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK) else CHROMIUM_ABSENT,
    }
    for item in items:
        for marker, reason in absent.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test collected is a failure (exit 1), never pytest's exit code 5: a wrong path or filter
    must not pass CI."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("\nno tests were collected: failing (a wrong path or -k filter?)")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def rb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty lake and Dagster home for one test."""
    home = tmp_path / "rb_home"
    monkeypatch.setenv("RB_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("RB_MIRROR", raising=False)
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    return home


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    """Texts from the shipped samples, to train the tiny tokenizer on."""
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.sources.normalize import normalize

    texts: list[str] = []
    for bench in load_benchmarks().values():
        if bench.local:
            texts += normalize(bench).responses["text"].to_list()[:100]
    return texts


RMB_BON_RESPONSES = (
    72  # tests/models/test_twin_zoo.py: batch size 64 then makes one full batch and a short one
)


@pytest.fixture(scope="session")
def rmb_rows():
    """(examples, responses) of the shipped RMB best-of-N sample: its first RMB_BON_RESPONSES distinct
    responses (real rows, about five per prompt)."""
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.sources.normalize import normalize

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RB_MIRROR", raising=False)  # the sample, not the full mirror
        data = normalize(load_benchmarks()["rmb-bon"])
    responses = data.responses.unique("response_id", keep="first", maintain_order=True)
    responses = responses.head(RMB_BON_RESPONSES)
    assert responses.height == RMB_BON_RESPONSES
    return data.examples, responses


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory, sample_texts: list[str]) -> Path:
    """A tiny GPT-2 sequence classifier with a chat template, built offline once per session."""
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("models") / "tiny-classifier", texts=sample_texts)


@dataclass(frozen=True)
class DagsterDev:
    """A running `dagster dev` webserver on 127.0.0.1."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture
def start_dagster_dev(rb_home: Path) -> Iterator[Callable[[], DagsterDev]]:
    """Start `dagster dev` from the repo root on the test's lake and Dagster home (call it once the
    test has prepared them), on a free port, as its own process group; stopped by its PID."""
    processes: list[subprocess.Popen] = []
    log_path = rb_home / "dagster-dev.log"

    def start(timeout: float = 180) -> DagsterDev:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            server = DagsterDev(sock.getsockname()[1])
        with open(log_path, "w") as log:
            processes.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "dagster"),
                        "dev",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(server.port),
                    ],
                    cwd=REPO,
                    env=os.environ.copy(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + timeout
        while True:  # ready once the code location's assets are served
            try:
                if server.graphql("{ assetNodes { id } }").get("data", {}).get("assetNodes"):
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline or processes[-1].poll() is not None:
                raise AssertionError(f"dagster dev did not come up:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)  # dagster dev can outlive SIGTERM after UI-launched runs
        with contextlib.suppress(ProcessLookupError):  # the webserver, daemon and code servers too
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def hand_made_catalog() -> dict:
    """The hand-made catalog (tests/hand_made.py) as catalog entries: benchmarks `hm` and `hm-prior`."""
    from rb_pipeline.catalog.entries import Benchmark
    from tests.hand_made import HAND_MADE_CATALOG

    return {name: Benchmark.model_validate(raw) for name, raw in HAND_MADE_CATALOG.items()}
