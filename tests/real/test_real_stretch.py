"""A herd this machine cannot make is stretched (fleet.RealRun._fit_herd) into a scenario the
engine accepts: the queries as far as their cap, a lock's or marker's lease with them, within the
longest lease a scenario may ask (a 1 ms query stretched to 2 s took a 5 s lease to 1,267 s on a
busy machine, and the run failed with "'strategy.lease_ms' is out of range")."""
from __future__ import annotations

import pytest

from webapp.engine.scenario import parse_scenario
from webapp.real import fleet
from webapp.real.settings import RealSettings


def _run(service_ms: float, lease_ms: float) -> fleet.RealRun:
    scenario = parse_scenario({
        "clients": {"count": 2000, "arrival": "burst", "window_s": 0.0},
        "servers": {"count": 1}, "duration_s": 2.0,
        "datastore": {"service_ms": service_ms},
        "strategy": {"coalesce": "distributed", "lease_ms": lease_ms}})
    notices: list[str] = []
    run = fleet.RealRun(scenario, RealSettings(), endpoints=None, on_notice=notices.append)
    run.notices = notices   # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("take_in_s", [0.02, 1.0, 30.0])
def test_a_stretched_herd_is_a_scenario_the_engine_accepts(take_in_s):
    run = _run(service_ms=1.0, lease_ms=5000.0)
    scale = run._fit_herd(take_in_s)
    s = run.scenario
    assert scale > 1 and run.notices and run.herd["service_scale"] == round(scale, 3)
    assert s.datastore.service_ms == pytest.approx(min(3000 * take_in_s, 2000.0), rel=1e-3)
    assert s.strategy.lease_ms == min(5000.0 * scale, fleet.LEASE_MAX_MS)
    assert s.strategy.lease_ms > s.datastore.service_ms          # it outlasts a live fetch
    parse_scenario(s.to_dict())                                  # and the engine takes it


def test_a_herd_this_machine_can_make_is_left_as_it_was():
    run = _run(service_ms=500.0, lease_ms=5000.0)
    assert run._fit_herd(0.001) == 1.0
    assert run.scenario.strategy.lease_ms == 5000.0 and run.notices == []
