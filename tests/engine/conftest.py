"""Fixtures for engine tests."""
from __future__ import annotations

from typing import Any

import pytest

from herd_support import merged
from webapp.engine import parse_scenario

# A cold hot key hit by a burst; constant, slow service so the herd is large and exact.
COLD_BURST = {
    "duration_s": 5.0,
    "clients": {"count": 400, "arrival": "burst", "window_s": 0.2},
    "cache": {"lookup_ms": 1.0},
    "datastore": {"connections": 8, "service_ms": 300.0, "service_dist": "constant"},
}


@pytest.fixture
def cold_burst():
    def make(**overrides: Any):
        return parse_scenario(merged(COLD_BURST, overrides))
    return make
