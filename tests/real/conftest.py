"""Real services for the real-lab tests: one private Redis and PostgreSQL per test session.

They run from ``.herdlab/test`` (the cluster is made once and reused). Missing binaries are an
error, never a skip: ``make test`` installs them (tests/require.sh).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from webapp.engine.events import ARRIVE, RESPOND, SAMPLE, SAMPLE_FIELDS
from webapp.engine.scenario import apply_overrides, parse_scenario
from webapp.real.fleet import RealRun
from webapp.real.services import Endpoints, Services
from webapp.real.settings import parse_settings, split_overrides

ROOT = Path(__file__).resolve().parents[2] / ".herdlab" / "test"
# A synchronised burst of identical reads of one cold key, 50 ms queries, pools of 20 in all.
BURST = ["clients.count=500", "clients.window_s=0", "real.synchronised=true",
         "datastore.connections=20", "datastore.service_ms=50",
         "datastore.service_dist=constant", "duration_s=1"]


@pytest.fixture(scope="session")
def test_services() -> Services:
    svc = Services(ROOT)
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def services(test_services: Services) -> Endpoints:
    return test_services.endpoints


def real_run(endpoints: Endpoints, *sets: str) -> tuple[list[tuple], dict[str, Any], RealRun]:
    """Run ``sets`` (scenario and real.* keys) for real; check what every run must satisfy."""
    scenario_sets, real_sets = split_overrides(list(sets))
    scenario = parse_scenario(apply_overrides({}, scenario_sets))
    run = RealRun(scenario, parse_settings(assignments=real_sets), endpoints)
    events = list(run.events())
    summary = run.summary()
    assert_sound(events, summary)
    return events, summary, run


def assert_sound(events: list[tuple], summary: dict[str, Any]) -> None:
    """Time order; every request that arrived ended exactly once; the last sample agrees with
    the summary."""
    times = [ev[0] for ev in events]
    assert times == sorted(times)
    arrived = {ev[2] for ev in events if ev[1] == ARRIVE}
    ends = [ev[2] for ev in events if ev[1] == RESPOND]
    assert len(ends) == len(set(ends)) == len(arrived) == summary["requests"]
    assert set(ends) == arrived
    last = dict(zip(SAMPLE_FIELDS, [ev for ev in events if ev[1] == SAMPLE][-1][6:]))
    for name in ("completed", "errors", "timeouts", "db_rejected", "db_failed", "db_cancelled", "coalesced",
                 "cache_hits", "cache_misses"):
        assert last[name] == summary[name], name
    assert last["inflight_requests"] == summary["in_flight"] == 0
