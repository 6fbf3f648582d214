"""Tier 5: a model the UI has never seen, added, scored and ranked by clicks and typing alone.

A real `dagster dev` (conftest's `start_dagster_dev`) serves a lake with the sample data; Playwright
drives Debian's Chromium (/usr/bin/chromium, from scripts/install_browser.sh; Playwright never downloads
a browser here) through the Add partition dialog, the launchpad, the run page and the warehouse's
metadata, asserting on what the page shows. A screenshot of each step goes to tests/artifacts/
(gitignored) for a human to look at.
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
# What the researcher types in the launchpad: what differs from a model entry's defaults.
RUN_CONFIG = (
    "ops: {scores: {config: {benchmarks: [rmb-bon], max_length: 256, dtype: float32, chat_template: raw}}}"
)


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


def wait_for_run(page, name: str) -> None:
    """On a run's page: wait until it ends, then require success."""
    status = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first
    status.wait_for(timeout=RUN_TIMEOUT_MS)
    shot(page, name)
    assert status.inner_text() == "Success", page.locator("body").inner_text()[-3000:]


@pytest.mark.slow
def test_a_new_model_from_the_ui_alone(ui, rb_home, start_dagster_dev):
    from playwright.sync_api import expect

    from assets.launch import materialize_datasets
    from rb_pipeline.catalog.entries import user_models_path
    from rb_pipeline.core.paths import encode_model_id
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    # Set-up, not under test: the sample data's dataset assets, and a model folder nobody registered.
    model_dir = build_tiny_classifier(
        rb_home / "models" / "tiny-rm", texts=["hand-made text for the tokenizer"]
    )
    model_id = str(model_dir)  # a local model is named by its absolute path
    key = encode_model_id(model_id)  # typed as the partition key: '/' written as '--'
    assert key.startswith("--") and not user_models_path().exists()
    materialize_datasets(["rmb-bon"])
    base = start_dagster_dev().url
    page = ui
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)

    # (1) The asset catalog lists the assets; the lineage graph around `scores` draws them.
    page.goto(f"{base}/assets")
    for name in ("scores", "warehouse", "normalized / rewardbench", "normalized / rmb_bon"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    shot(page, "01-asset-catalog")
    page.goto(f"{base}/assets/scores?view=lineage&lineageScope=neighbors&lineageDepth=1")
    for name in ("datasets", "rewardbench", "scores", "warehouse"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    shot(page, "02-scores-lineage")

    # (2) The scores asset's launchpad: add the model's partition, type the run config, materialize.
    page.goto(f"{base}/assets/scores?view=partitions")
    expect(page.get_by_text("Missing (0)", exact=True)).to_be_visible()  # no model has a partition yet
    page.locator("button:right-of(:text('Materialize…'))").first.click()  # the button's menu
    page.get_by_role("menuitem", name="Open launchpad").click()
    upstream = page.get_by_role("dialog").filter(has_text="upstream assets listed below")
    expect(upstream).to_contain_text("normalized / reward_bench_2")  # Hub-only: not materialized offline
    upstream.get_by_role("button", name="Confirm").click()
    launchpad = page.get_by_role("dialog").filter(has_text="Launchpad")
    launchpad.get_by_role("button", name="Add new partition").click()
    add = page.get_by_role("dialog").filter(has_text="Add a partition for models")
    add.get_by_placeholder("name", exact=True).press_sequentially(key)
    shot(page, "03-add-partition")
    add.get_by_role("button", name="Save").click()
    expect(add).to_be_hidden()
    expect(launchpad.get_by_placeholder("Partition")).to_have_value(key)
    launchpad.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(RUN_CONFIG)  # replaces the scaffold
    expect(launchpad.locator(".CodeMirror")).to_contain_text("chat_template: raw}}}")
    expect(launchpad.get_by_text("No errors", exact=True)).to_be_visible()  # the config validates
    shot(page, "04-launchpad")
    launchpad.get_by_role("button", name="Materialize").click()

    # (3) The run page: the run succeeds; the model's entry was recorded with what was typed.
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+$"))
    expect(page.get_by_text(f"partition: {key}")).to_be_visible()
    wait_for_run(page, "05-scores-run")
    (entry,) = yaml.safe_load(user_models_path().read_text())["models"]
    assert {k: entry.get(k) for k in ("id", "max_length", "dtype", "chat_template")} == {
        "id": model_id, "max_length": 256, "dtype": "float32", "chat_template": "raw"
    }  # fmt: skip

    # (4) The partition is materialized with the model's metadata, and both checks passed.
    page.goto(f"{base}/assets/scores?view=partitions&partition={key}")
    expect(page.get_by_text("Materialized (1)", exact=True)).to_be_visible()
    expect(page.get_by_text("Failed (0)", exact=True)).to_be_visible()
    expect(metadata_row(page, "model")).to_contain_text(model_id)
    expect(metadata_row(page, "entry_recorded")).to_contain_text(str(user_models_path()))
    expect(metadata_row(page, "settings")).to_contain_text('"max_length": 256')
    shot(page, "06-scores-partition")
    page.goto(f"{base}/assets/scores?view=checks")
    for check in ("every_response_scored", "no_nan_scores"):
        expect(check_entry(page, check)).to_contain_text("Succeeded")
    expect(page.get_by_text(re.compile(r"^\d+ of \d+ responses have a score$"))).to_be_visible()
    shot(page, "07-scores-checks")

    # (5) A dataset asset's blocking GX checks passed and show their numbers.
    page.goto(f"{base}/assets/normalized/rmb_bon?view=checks")
    for check in ("examples_quality", "responses_quality", "no_rejected_rows"):
        expect(check_entry(page, check)).to_contain_text("Succeeded")
    expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^all \d+ expectations passed$")).first).to_be_visible()
    expect(metadata_row(page, "failed")).to_contain_text("0")
    expect(metadata_row(page, "unexpected.example_id_unique")).to_contain_text("0")
    expect(page.get_by_text("Failed", exact=True)).to_have_count(0)
    shot(page, "08-dataset-checks")

    # (6) The warehouse, materialized from its page, ranks the model in its leaderboard metadata.
    page.goto(f"{base}/assets/warehouse")
    page.get_by_role("button", name="Materialize").click()
    page.get_by_role("link", name="View", exact=True).click()  # in the "Launched run" toast
    wait_for_run(page, "09-warehouse-run")
    page.goto(f"{base}/assets/warehouse")
    leaderboard = metadata_row(page, "leaderboard")
    headers = leaderboard.get_by_role("columnheader")
    expect(headers).to_contain_text(["model", "coverage"])  # in this order, among others
    model_row = leaderboard.get_by_role("row").filter(has=page.get_by_role("cell", name=model_id, exact=True))
    # shipped samples cover part of each subset: its scores are left empty (columns empty for every model
    # are not shown) and `coverage` says what is missing
    coverage = headers.all_inner_texts().index("coverage")
    expect(model_row.get_by_role("cell").nth(coverage)).to_contain_text("rmb_helpfulness_bon: empty, missing")
    shot(page, "10-warehouse-leaderboard")

    # The section chart (a data: URI PNG in markdown metadata) renders in the "[Show Markdown]" dialog.
    metadata_row(page, "section_chart").get_by_text("Show Markdown").click()
    chart = page.get_by_role("img", name="section scores by model")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0 && img.width > 100")
    shot(page, "11-warehouse-section-chart")
