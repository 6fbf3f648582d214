"""Tier 5: models the UI has never seen, scored and ranked by clicks and typing alone, on a FRESH lake.

A real `dagster dev` (conftest's `start_dagster_dev`) starts on an empty RB_HOME with the shipped sample
data (RB_SOURCE=sample) and nothing materialized: no Python API or CLI call prepares the lake. The only
set-up is the users' model folders on disk (tiny models built offline). Playwright drives Debian's
Chromium (/usr/bin/chromium; Playwright never downloads a browser here) through the `score_new_model`
launchpad, the scores asset's "Add partition" dialog, the run pages and the warehouse's metadata,
asserting on what the page shows. A screenshot of each step goes to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser  # skipped, with its reason, where Chromium could not be installed (conftest)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
RUN_TIMEOUT_MS = 300_000  # a run's worker process imports torch and dagster on a busy 2-core machine
# What the researcher changes from the defaults shown: one small benchmark, a short length.
SETTINGS = "benchmarks: [rmb-bon], max_length: 256, dtype: float32, chat_template: raw"
BACKGROUND_SHARE = 0.9  # a blank chart is (nearly) all one colour


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches the system Chromium, headless."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is absent: run `bash scripts/install_browser.sh` (Debian's chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1100}}


@pytest.fixture
def ui(page):
    """The test's page; the last thing it showed is kept as a screenshot, pass or fail."""
    yield page
    shot(page, "last-page")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def metadata_row(page, label: str):
    """The metadata table row whose key cell is `label`."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=label, exact=True))


def check_entry(page, name: str):
    """A check's entry in the asset's Checks list: its name and its latest status."""
    return page.get_by_title(name, exact=True).locator("xpath=..")


def wait_for_run(page, name: str, expected: str = "Success") -> None:
    """On a run's page: wait until it ends, then require `expected`."""
    status = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first
    status.wait_for(timeout=RUN_TIMEOUT_MS)
    shot(page, name)
    assert status.inner_text() == expected, page.locator("body").inner_text()[-3000:]


def wait_until(page, url: str, locator, name: str) -> None:
    """Reload `url` until `locator` shows (what the daemon launches appears within seconds to minutes)."""
    from playwright.sync_api import expect

    for _ in range(RUN_TIMEOUT_MS // 10_000):
        page.goto(url)
        try:
            expect(locator).to_be_visible(timeout=10_000)
            shot(page, name)
            return
        except AssertionError:
            continue
    shot(page, name)
    raise AssertionError(f"{name}: never showed {locator}")


def share_of_commonest_colour(png: bytes) -> float:
    """The share of the image's pixels that have its commonest colour (its background)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = image.getcolors(maxcolors=image.width * image.height)
    return max(n for n, _ in counts) / (image.width * image.height)


def launch_new_model(page, base: str, model: str, first: bool = True) -> None:
    """The `score_new_model` launchpad: the form shows every default (the `first` time: later the
    launchpad keeps what was typed last); type the model and what differs."""
    from playwright.sync_api import expect

    page.goto(f"{base}/jobs")
    page.get_by_text("score_new_model", exact=True).click()
    page.get_by_text("Launchpad", exact=True).click()
    editor = page.locator(".CodeMirror")
    if first:
        for default in ("max_length: 2048", "batch_size: 8", "dtype: auto", "type: classifier"):
            expect(editor).to_contain_text(default)  # the real defaults, not nulls
        expect(page.get_by_text('Missing required config entry "model"')).to_be_visible()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"ops: {{add_model: {{config: {{model: {model}, {SETTINGS}}}}}}}")
    expect(page.get_by_text("No errors", exact=True)).to_be_visible()
    shot(page, "launchpad-" + re.sub(r"\W+", "-", model).strip("-")[-30:])
    page.get_by_role("button", name="Launch Run").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+$"))


@pytest.mark.slow(minutes=4)
def test_new_models_from_the_ui_alone_on_a_fresh_lake(ui, rb_home, start_dagster_dev):
    from playwright.sync_api import expect

    from rb_pipeline.catalog.entries import user_models_path
    from rb_pipeline.core.paths import encode_model_id
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    # The users' model folders (not lake state): nothing is materialized, no partition exists.
    texts = ["hand-made text for the tokenizer"]
    first_model = str(build_tiny_classifier(rb_home / "models" / "tiny-rm", texts=texts))
    second_model = str(build_tiny_classifier(rb_home / "models" / "other-rm", texts=texts))
    assert not (rb_home / "lake").exists() and not user_models_path().exists()
    base = start_dagster_dev().url
    page = ui
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)

    # (1) A new model by its folder path, in the score_new_model form; its scores run follows by itself.
    launch_new_model(page, base, first_model)
    wait_for_run(page, "01-add-model-run")
    key = encode_model_id(first_model)
    scores_page = f"{base}/assets/scores?view=partitions&partition={key}"
    # Reloaded until the partition's own metadata shows: the partition list may count it materialized a
    # moment before its detail panel has the materialization (the panel does not refresh by itself).
    wait_until(page, scores_page, metadata_row(page, "model"), "02-scores-partition")
    expect(page.get_by_text("Materialized (1)", exact=True)).to_be_visible()
    expect(page.get_by_text("Failed (0)", exact=True)).to_be_visible()
    expect(metadata_row(page, "model")).to_contain_text(first_model)
    expect(metadata_row(page, "settings")).to_contain_text('"max_length": 256')
    expect(metadata_row(page, "benchmarks_skipped")).to_contain_text("none")
    (entry,) = yaml.safe_load(user_models_path().read_text())["models"]
    assert {k: entry.get(k) for k in ("id", "max_length", "dtype", "chat_template")} == {
        "id": first_model, "max_length": 256, "dtype": "float32", "chat_template": "raw"
    }  # fmt: skip

    # (2) The dataset the run needed was built in that run, its blocking checks passed.
    checks_page = f"{base}/assets/normalized/rmb_bon?view=checks"
    wait_until(
        page, checks_page, check_entry(page, "examples_quality").get_by_text("Succeeded"), "03-dataset-checks"
    )
    for check in ("examples_quality", "responses_quality", "no_rejected_rows"):
        expect(check_entry(page, check)).to_contain_text("Succeeded")
    expect(page.get_by_text(re.compile(r"^all \d+ expectations passed$")).first).to_be_visible()
    shot(page, "03-dataset-checks")

    # (3) The warehouse updated by itself (its automation sensor) and ranks the model with numbers.
    warehouse_page = f"{base}/assets/warehouse"
    model_cell = page.get_by_role("cell", name=first_model, exact=True).first
    wait_until(page, warehouse_page, model_cell, "04-warehouse-leaderboard")
    leaderboard = metadata_row(page, "leaderboard")
    row = leaderboard.get_by_role("row").filter(has=page.get_by_role("cell", name=first_model, exact=True))
    expect(row.first).to_contain_text(re.compile(r"0\.\d+|1\.0"))  # a score, not a blank
    expect(row.first).to_contain_text(re.compile(r"\d+/\d+ subsets"))  # shipped samples: partial, said so

    # (4) A chart is drawn: its pixels are not all background.
    metadata_row(page, "subset_chart").get_by_text("Show Markdown").click()
    chart = page.get_by_role("img", name="score per subset with bootstrap intervals")
    expect(chart).to_be_visible()
    png = chart.screenshot(path=ARTIFACTS / "05-subset-chart.png")
    assert share_of_commonest_colour(png) < BACKGROUND_SHARE
    page.keyboard.press("Escape")

    # (5) The "Add partition" route on the scores asset: a second folder, first launch succeeds.
    second_key = encode_model_id(second_model)
    page.goto(f"{base}/assets/scores?view=partitions")
    page.locator("button:right-of(:text('Materialize…'))").first.click()  # the button's menu
    page.get_by_role("menuitem", name="Open launchpad").click()
    # Dagster warns of the never-built datasets (Hub-only ones, or not needed yet): the run builds or
    # skips them itself, so confirming is safe
    upstream = page.get_by_role("dialog").filter(has_text="upstream assets listed below")
    expect(upstream).to_contain_text("normalized / reward_bench_2")
    upstream.get_by_role("button", name="Confirm").click()
    launchpad = page.get_by_role("dialog").filter(has_text="Launchpad")
    launchpad.get_by_role("button", name="Add new partition").click()
    add = page.get_by_role("dialog").filter(has_text="Add a partition for models")
    add.get_by_placeholder("name", exact=True).press_sequentially(second_key)
    shot(page, "06-add-partition")
    add.get_by_role("button", name="Save").click()
    expect(add).to_be_hidden()
    expect(launchpad.get_by_placeholder("Partition")).to_have_value(second_key)
    launchpad.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"ops: {{scores: {{config: {{{SETTINGS}}}}}}}")
    expect(launchpad.get_by_text("No errors", exact=True)).to_be_visible()
    launchpad.get_by_role("button", name="Materialize").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+$"))
    wait_for_run(page, "07-add-partition-scores-run")

    # (6) A Hub id while offline: the run fails with one line a person can act on.
    launch_new_model(page, base, "org/never-seen", first=False)
    wait_for_run(page, "08-hub-id-offline", expected="Failure")
    expect(
        page.get_by_text(
            re.compile(
                "model org/never-seen: not a local folder, not in the Hub cache, and the Hub is offline"
            )
        ).first
    ).to_be_visible()
