"""Fixtures for engine tests."""
from __future__ import annotations

from typing import Any

import pytest

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
        merged = {k: dict(v) if isinstance(v, dict) else v for k, v in COLD_BURST.items()}
        for section, values in overrides.items():
            if isinstance(values, dict):
                merged.setdefault(section, {}).update(values)
            else:
                merged[section] = values
        return parse_scenario(merged)
    return make
