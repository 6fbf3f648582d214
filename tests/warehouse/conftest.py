"""Fixtures of the warehouse tests."""

from __future__ import annotations

import pytest

from rb_pipeline.warehouse.views import build_warehouse
from tests.hand_made import write_hand_made_lake


@pytest.fixture
def warehouse(hand_made_catalog, rb_home):
    """The warehouse over the hand-made lake (tests/hand_made.py) with its runs of m1 and m2."""
    catalog = hand_made_catalog
    write_hand_made_lake(
        {
            # an older complete run with flipped scores, the run that counts, then a failed newer run
            "m1": {
                "r1-old": ("complete", ["hm", "hm-prior"], True),
                "r2": ("complete", ["hm", "hm-prior"], False),
                "r3-failed": ("failed", ["hm", "hm-prior"], True),
            },
            # scored on `hm` only: no prior sets, so the overall is the mean of A and B
            "m2": {"r4": ("complete", ["hm"], False)},
        }
    )
    return build_warehouse(catalog)
