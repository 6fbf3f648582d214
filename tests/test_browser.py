"""Tier 5: a model scored through the instance, seen in a real browser.

`dagster dev` (the fixture of test_dagster_dev.py) serves the UI on 127.0.0.1; headless Chromium (Debian's
/usr/bin/chromium, installed by scripts/install_browser.sh) is driven over the DevTools protocol and the
test asserts on the rendered page text (`document.body.innerText`), never on GraphQL. Screenshots of every
page go to tests/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.test_dagster_dev import dagster_dev  # noqa: F401 (the fixture, requested by name below)

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser  # skipped, with its reason, where Chromium could not be installed (conftest)
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MODEL_KEY = "test-org--tiny"
# Offline, isolated and quiet: nothing but 127.0.0.1 is contacted.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
]


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol (websockets' sync client)."""

    def __init__(self, width: int = 1600, height: int = 1100, start_timeout: float = 30):
        from websockets.sync.client import connect  # uvicorn[standard], hence dagster-webserver, needs it

        self.profile = Path(tempfile.mkdtemp(prefix="rb-chromium-"))
        self.log = open(self.profile.parent / f"{self.profile.name}.log", "w")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0"]
            + [f"--window-size={width},{height}", "about:blank"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the zygote and renderers are stopped with it
        )
        self.ws = None
        try:
            port_file = self.profile / "DevToolsActivePort"  # "<port>\n<browser websocket path>"
            deadline = time.monotonic() + start_timeout
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(f"chromium did not start: {self.log_tail()}")
                time.sleep(0.1)
            port, path = port_file.read_text().splitlines()[:2]
            self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10, close_timeout=2)
            self.next_id = 0
            self.session = None
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    def log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-2000:]

    def call(self, method: str, timeout: float = 20, **params) -> dict:
        """One DevTools command (on the page's session once attached); events in between are dropped."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no reply to {method} in {timeout} s")
            reply = json.loads(self.ws.recv(timeout=remaining))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def open(self, url: str) -> None:
        """Navigate; the marker tells the old document from the new one."""
        self.evaluate("window.__rbOldPage = true")
        self.call("Page.navigate", url=url)

    def wait_for(self, patterns: list[str], name: str, timeout: float = 30) -> str:
        """Poll the rendered text until every regex (multiline) matches; screenshot the page either way."""
        deadline = time.monotonic() + timeout
        text, missing = "", patterns
        while time.monotonic() < deadline:
            if not self.evaluate("window.__rbOldPage === true"):
                text = self.text()
                missing = [p for p in patterns if not re.search(p, text, re.MULTILINE)]
                if not missing:
                    time.sleep(0.5)  # let the last fetches paint before the screenshot
                    self.screenshot(name)
                    return self.text()
            time.sleep(0.25)
        self.screenshot(name)
        raise AssertionError(
            f"{name}: {missing} not shown within {timeout} s; the page shows:\n{text[-3000:]}"
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
        Path(self.log.name).unlink(missing_ok=True)


def metadata_row(browser: Chromium, label: str) -> str:
    """The rendered text of the metadata table row whose key cell is `label`."""
    return browser.evaluate(
        f"""(() => {{
          const row = [...document.querySelectorAll('tr')]
            .find(r => r.cells.length > 0 && r.cells[0].innerText.trim() === {json.dumps(label)});
          return row ? row.innerText : null;
        }})()"""
    )


@pytest.mark.slow
def test_new_model_shows_in_the_dagster_ui(request):
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (apt-get install chromium) first")
    port = request.getfixturevalue("dagster_dev")  # after the check: a missing browser fails in seconds
    base = f"http://127.0.0.1:{port}"
    browser = Chromium()
    try:
        # (1) The asset catalog lists the assets; the lineage graph around `scores` draws them.
        browser.open(f"{base}/assets")
        browser.wait_for(
            [r"^scores$", r"^warehouse$", r"^normalized / rewardbench$", r"^normalized / rmb_bon$"],
            "1-asset-catalog",
        )
        browser.open(f"{base}/assets/scores?view=lineage&lineageScope=neighbors&lineageDepth=1")
        browser.wait_for([r"^datasets$", r"^rewardbench$", r"^scores$", r"^warehouse$"], "2-scores-lineage")

        # (2) The model's partition of `scores` is materialized, and both checks passed.
        browser.open(f"{base}/assets/scores?view=partitions&partition={MODEL_KEY}")
        text = browser.wait_for(
            [rf"^{MODEL_KEY}$", r"^Materialized \(1\)$", r"^Missing \(0\)$", r"^test-org/tiny$"],
            "3-scores-partition",
        )
        assert "Failed (1)" not in text
        assert (metadata_row(browser, "model") or "").split() == ["model", "test-org/tiny"]
        browser.open(f"{base}/assets/scores?view=checks")
        browser.wait_for(
            [r"^every_response_scored\nSucceeded$", r"^no_nan_scores\nSucceeded$", r"^Passed$"],
            "4-scores-checks",
        )

        # (2b) A dataset asset's blocking GX checks passed and show their numbers.
        browser.open(f"{base}/assets/normalized/rmb_bon?view=checks")
        text = browser.wait_for(
            [r"^examples_quality\nSucceeded$", r"^responses_quality\nSucceeded$",
             r"^no_rejected_rows\nSucceeded$", r"blocking", r"^all \d+ expectations passed$",
             r"^expectations", r"^unexpected\."],
            "4b-dataset-checks",
        )  # fmt: skip
        assert "Failed" not in text

        # (3) The warehouse's leaderboard metadata shows the model's row under its benchmark columns.
        browser.open(f"{base}/assets/warehouse")
        browser.wait_for(
            [r"^leaderboard$", r"rmb_helpfulness_bon", r"^section_chart$", r"^subset_heatmap$"], "5-warehouse"
        )
        leaderboard = metadata_row(browser, "leaderboard")
        assert leaderboard and "test-org/tiny" in leaderboard and "rmb_helpfulness_bon" in leaderboard, (
            leaderboard
        )
        assert re.search(r"test-org/tiny\s+0\.\d+", leaderboard), leaderboard

        # The section chart (a data: URI PNG in markdown metadata) renders in the "[Show Markdown]" dialog.
        clicked = browser.evaluate(
            """(() => {
              const row = [...document.querySelectorAll('tr')]
                .find(r => r.cells.length > 0 && r.cells[0].innerText.trim() === 'section_chart');
              const link = row && [...row.querySelectorAll('a, button')]
                .find(e => e.innerText.includes('Show Markdown'));
              if (link) link.click();
              return Boolean(link);
            })()"""
        )
        assert clicked, metadata_row(browser, "section_chart")
        deadline = time.monotonic() + 15
        image = None
        while time.monotonic() < deadline and not (image and image["loaded"]):
            time.sleep(0.25)
            image = browser.evaluate(
                """(() => {
                  const img = [...document.querySelectorAll('img')]
                    .find(i => i.src.startsWith('data:image/png'));
                  return img && {alt: img.alt, loaded: img.complete && img.naturalWidth > 0,
                                 width: img.getBoundingClientRect().width};
                })()"""
            )
        browser.screenshot("6-warehouse-section-chart")
        assert image and image["loaded"] and image["width"] > 100, image
        assert image["alt"] == "section scores by model"
    finally:
        browser.close()
