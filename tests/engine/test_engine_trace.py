"""A trace (engine/trace.py): a run on given arrivals and service times, beside a real one."""
from __future__ import annotations

import json

import pytest

from herd_support import run_events, scenario
from webapp.engine import Simulation
from webapp.engine.trace import Trace


def test_the_arrivals_and_service_times_are_the_traces():
    trace = Trace(arrivals=[(0.0, 7, "a"), (0.01, 3, "b"), (0.5, 7, "a"), (2.0, 900, "c")],
                  service_s=[0.2, 0.1, 0.3])
    scn = scenario(duration_s=0.1, clients={"window_s": 0.1}, cache={"enabled": False},
                   datastore={"connections": 1, "service_dist": "constant",
                              "service_ms": 50.0})
    sim = Simulation(scn, trace=trace)
    events = list(sim.events())
    first = [(ev.t, ev.viewer, ev.key) for ev in events if ev.kind == "arrive"]
    assert first == list(trace.arrivals)          # every arrival, even past duration_s
    started = [ev.service_ms for ev in events if ev.kind == "db_started"]
    assert started == pytest.approx([200.0, 100.0, 300.0, 50.0])   # then the scenario's own
    s = sim.summary()
    assert s["requests"] == s["completed"] == 4 and s["db_queries"] == 4


def _measured(scn) -> Trace:
    """What a driver would record of a run: first arrivals, and service times in start order."""
    _, events = run_events(scn)
    return Trace(arrivals=[(ev.t, ev.viewer, ev.key) for ev in events
                           if ev.kind == "arrive" and ev.attempt == 0],
                 service_s=[ev.service_ms / 1000.0 for ev in events if ev.kind == "db_started"])


@pytest.mark.parametrize("preset, overrides", [
    ("queueing", {"duration_s": 20.0, "clients": {"count": 1500}}),
    ("fleet", {"strategy": {"coalesce": "notify"}, "clients": {"count": 2000}}),
    ("metastable", {"duration_s": 20.0, "faults": {"slow_db_for_s": 0.0},
                    "clients": {"timeout_s": 0.1}}),
    ("expiry-herd", {"duration_s": 12.0, "clients": {"count": 6000},
                     "strategy": {"stale_while_revalidate": True}}),
])
def test_replaying_a_runs_own_trace_gives_the_same_run(preset, overrides):
    # The strongest check that a trace means what it says: fed a simulated run's own arrivals
    # and service times, the simulation makes that run again, event for event.
    scn = scenario(preset=preset, **overrides)
    _, original = run_events(scn)
    _, replayed = run_events(scn, trace=_measured(scn))
    assert [json.dumps(ev.to_dict()) for ev in replayed] == \
        [json.dumps(ev.to_dict()) for ev in original]


@pytest.mark.parametrize("arrivals, service, problem", [
    ([], (), "1 to 10,000,000 arrivals"),
    ([(0.0, 1)], (), "arrival 0 must be a tuple"),
    ([(1.0, 1, "k"), (0.5, 1, "k")], (), "arrival 1: t must be"),
    ([(float("nan"), 1, "k")], (), "arrival 0: t must be"),
    ([(0.0, -1, "k")], (), "viewer must be an integer >= 0"),
    ([(0.0, True, "k")], (), "viewer must be an integer >= 0"),
    ([(0.0, 1, "")], (), "key must be a string"),
    ([(0.0, 1, "k" * 65)], (), "key must be a string"),
    ([(0.0, 1, "k")], (0.1, 0.0), r"service_s\[1\] must be"),
    ([(0.0, 1, "k")], (float("inf"),), r"service_s\[0\] must be"),
])
def test_a_bad_trace_is_refused_at_once_saying_what_is_wrong(arrivals, service, problem):
    with pytest.raises(ValueError, match=problem):
        Trace(arrivals=arrivals, service_s=service)


def test_a_trace_replaces_only_a_hot_key_workload():
    trace = Trace(arrivals=[(0.0, 0, "k")])
    with pytest.raises(ValueError, match="hot_key"):
        Simulation(scenario(preset="classroom"), trace=trace)
    with pytest.raises(TypeError):
        Simulation(scenario(), trace=[(0.0, 0, "k")])


def test_warm_start_caches_every_key_of_the_trace():
    trace = Trace(arrivals=[(0.5, 0, "x"), (0.6, 1, "y"), (0.7, 2, "x")])
    sim, events = run_events(scenario(workload={"warm_start": True}), trace=trace)
    assert {ev.key for ev in events if ev.kind == "cache_set"} == {"x", "y"}
    assert sim.summary()["cache_hits"] == 3


def test_latency_runs_from_the_planned_arrival_when_the_trace_gives_one():
    """A request that came 0.3 s after it was planned (a late start of a real run) counts that
    0.3 s in its latency; the run itself is the same as without ``planned``."""
    arrivals = [(0.0, 0, "k"), (0.4, 1, "k"), (0.5, 2, "k")]
    scn = scenario(cache={"enabled": False},
                   datastore={"service_dist": "constant", "service_ms": 50.0})
    plain, plain_events = run_events(scn, trace=Trace(arrivals=arrivals))
    late, late_events = run_events(scn, trace=Trace(arrivals=arrivals,
                                                    planned=[0.0, 0.1, 0.5]))
    answered = {ev.viewer: ev.latency_ms for ev in late_events if ev.kind == "respond"}
    assert answered == pytest.approx({0: 50.0, 1: 350.0, 2: 50.0})
    assert [ev.t for ev in late_events] == [ev.t for ev in plain_events]
    assert late.summary()["latency_everyone_ms"]["max"] == pytest.approx(350.0)
    assert plain.summary()["latency_everyone_ms"]["max"] == pytest.approx(50.0)


@pytest.mark.parametrize("planned, problem", [
    ([0.0], "one instant per arrival"), ([0.0, -1.0], r"planned\[1\] must be"),
    ([0.0, float("nan")], r"planned\[1\] must be")])
def test_bad_planned_arrivals_are_refused(planned, problem):
    with pytest.raises(ValueError, match=problem):
        Trace(arrivals=[(0.0, 0, "k"), (0.1, 1, "k")], planned=planned)
