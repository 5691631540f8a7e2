"""A finished or abandoned Simulation is freed by reference counting alone (contract item 6).

With the cycle collector off, a run that left reference cycles behind would stay in memory for
good; these tests drop a Simulation and check, through weak references, that it and its parts
are gone at once, and that the collector then finds nothing of theirs to collect.
"""
from __future__ import annotations

import gc
import weakref

import pytest

from webapp.engine import Simulation, parse_scenario

RUNS = [
    ("classroom", {}),
    ("classroom", {"strategy": {"coalesce": "lock"}, "clients": {"retries": 2,
                                                                  "backoff": "full_jitter"}}),
    ("fleet", {"clients": {"count": 2000}, "strategy": {"coalesce": "distributed"},
               "faults": {"leader_dies": True}}),
    ("fleet", {"clients": {"count": 2000}, "strategy": {"coalesce": "promise"},
               "faults": {"fail_fetch": True}}),
    ("expiry-herd", {"clients": {"count": 3000}, "cache": {"ttl_jitter": 0.2},
                     "strategy": {"stale_while_revalidate": True, "early_refresh_beta": 1.0}}),
    ("classroom", {"strategy": {"prewarm": True}}),
]


@pytest.fixture
def no_collector():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _refs(sim):
    """Weak references to the Simulation and to the parts that point at each other."""
    life = sim._life
    parts = [sim, sim._loop, life, life.db, sim._workload, *life.mitigations.all]
    return [weakref.ref(p) for p in parts]


@pytest.mark.parametrize("how", ["finished", "abandoned"])
@pytest.mark.parametrize("preset, overrides", RUNS)
def test_a_dropped_simulation_is_freed_at_once(no_collector, preset, overrides, how):
    sim = Simulation(parse_scenario(overrides, preset=preset))
    events = sim.events()
    if how == "finished":
        for _ in events:
            pass
        assert sim.finished
    else:
        for _, _ in zip(range(800), events):      # mid-run: work still queued everywhere
            pass
        assert not sim.finished
    refs = _refs(sim)
    del sim, events
    assert [r() for r in refs] == [None] * len(refs)
    assert gc.collect() == 0                       # no cycle was left for the collector


def test_a_summary_only_run_is_freed_too(no_collector):
    sim = Simulation(parse_scenario({"clients": {"count": 50_000}}, preset="drake-live"),
                     record_requests=False).run()
    summary = sim.summary()
    refs = _refs(sim)
    del sim
    assert [r() for r in refs] == [None] * len(refs) and summary["finished"]
    assert gc.collect() == 0
