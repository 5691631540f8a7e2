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
# A run with inputs: a killed server, a mitigation switched (and back), a slowdown, injections.
INPUTS = [{"t": 0.02, "kind": "kill_server", "server": 1},
          {"t": 0.03, "kind": "set", "key": "strategy.coalesce", "value": "lock"},
          {"t": 0.05, "kind": "slow_db", "factor": 2.0, "for_s": 5.0},
          {"t": 0.2, "kind": "inject"}, {"t": 0.5, "kind": "expire_key"},
          {"t": 0.6, "kind": "set", "key": "strategy.coalesce", "value": "promise"},
          {"t": 30.0, "kind": "inject"}]


@pytest.fixture
def no_collector():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _module(o: object) -> str:
    """The module an object comes from: a function's own, else its type's."""
    own = getattr(o, "__module__", None) if callable(o) and not isinstance(o, type) else None
    return own if isinstance(own, str) else type(o).__module__


def _engine_cycles() -> list[str]:
    """What the collector would free that is the engine's (objects of webapp.engine's modules or
    of its strategies). Not ``gc.collect() == 0``: other threads of a test process (a browser
    test's driver, a server's) make garbage of their own while a test runs."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = [f"{_module(o)}: {type(o).__qualname__}" for o in gc.garbage
                 if _module(o).startswith(("webapp.engine", "webapp.strategies"))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def _refs(sim):
    """Weak references to the Simulation and to the parts that point at each other."""
    life = sim._life
    parts = [sim, sim._loop, life, life.db, life.moments, sim._workload, sim._inputs,
             *life.mitigations.built.values()]
    return [weakref.ref(p) for p in parts]


@pytest.mark.parametrize("how", ["finished", "abandoned"])
@pytest.mark.parametrize("preset, overrides, inputs", [(*run, ()) for run in RUNS] + [
    ("fleet", {"clients": {"count": 2000}, "strategy": {"coalesce": "promise"}}, INPUTS)])
def test_a_dropped_simulation_is_freed_at_once(no_collector, preset, overrides, inputs, how):
    sim = Simulation(parse_scenario(overrides, preset=preset), inputs=inputs)
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
    assert _engine_cycles() == []                  # no cycle of the engine's was left for the collector


def test_a_summary_only_run_is_freed_too(no_collector):
    sim = Simulation(parse_scenario({"clients": {"count": 50_000}}, preset="drake-live"),
                     record_requests=False).run()
    summary = sim.summary()
    refs = _refs(sim)
    del sim
    assert [r() for r in refs] == [None] * len(refs) and summary["finished"]
    assert _engine_cycles() == []
