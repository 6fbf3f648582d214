"""The report asset: materialized in a real (ephemeral) Dagster instance over the hand-made warehouse,
it writes $RB_HOME/report and names the index in its metadata."""

from __future__ import annotations

from pathlib import Path

from dagster import materialize

from assets.report import report
from rb_pipeline.warehouse.views import build_warehouse
from tests.hand_made import write_hand_made_lake


def test_report_asset_writes_the_site_and_names_its_path(hand_made_catalog, rb_home):
    write_hand_made_lake({"m1": {"r1": ("complete", ["hm", "hm-prior"], False)}})
    build_warehouse(hand_made_catalog)
    result = materialize([report])
    assert result.success
    (event,) = result.asset_materializations_for_node("report")
    index = Path(event.metadata["path"].value)
    assert index == rb_home / "report" / "index.html" and index.is_file()
    assert "models/m1.html" in event.metadata["pages"].value
    assert 'href="models/m1.html"' in index.read_text()
