"""Invariants that hold for every run: each request ends once, time order, determinism."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from webapp.engine import Simulation, parse_scenario, run_summary
from webapp.engine.events import FIELDS

from herd_support import run_events, scenario

VARIED = [
    ("classroom", {}),
    ("classroom", {"strategy": {"coalesce": "promise"}}),
    ("classroom", {"strategy": {"coalesce": "lock"}, "clients": {"retries": 2,
                                                                  "backoff": "full_jitter"}}),
    ("fleet", {"clients": {"count": 3000}, "strategy": {"coalesce": "distributed"}}),
    ("retry-storm", {"clients": {"count": 400}}),
    ("expiry-herd", {"clients": {"count": 4000}, "strategy": {"stale_while_revalidate": True}}),
    ("expiry-herd", {"clients": {"count": 4000}, "strategy": {"early_refresh_beta": 1.0}}),
    (None, {"servers": {"count": 3}, "strategy": {"coalesce": "distributed"},
            "faults": {"leader_dies": True, "fail_fetch": True},
            "clients": {"count": 300, "timeout_s": 2.0, "retries": 1},
            "datastore": {"service_ms": 200.0, "service_dist": "constant"}}),
]


@pytest.mark.parametrize("preset, overrides", VARIED)
def test_every_request_ends_exactly_once(preset, overrides):
    sim, events = run_events(parse_scenario(overrides, preset=preset))
    ends = Counter(ev.req for ev in events if ev.kind == "respond")
    started = {ev.req for ev in events if ev.kind == "arrive"}
    assert set(ends) == started
    assert all(n == 1 for n in ends.values())
    s = sim.summary()
    assert s["requests"] == len(started) == s["completed"] + s["errors"] + s["timeouts"]
    assert s["in_flight"] == 0 and sim.finished


@pytest.mark.parametrize("preset, overrides", VARIED)
def test_events_come_in_time_order_with_their_documented_fields(preset, overrides):
    _, events = run_events(parse_scenario(overrides, preset=preset))
    times = [ev.t for ev in events]
    assert times == sorted(times)
    for ev in events:
        assert len(ev) == 6 + len(FIELDS[ev.kind])
        d = ev.to_dict()
        assert {"t", "kind", "req", "viewer", "server", "key"} <= set(d)


def _log(scn) -> bytes:
    sim = Simulation(scn)
    return "\n".join(json.dumps(ev.to_dict(), sort_keys=True) for ev in sim.events()).encode()


def test_same_seed_gives_a_byte_identical_log_and_another_seed_a_different_one():
    base = {"strategy": {"coalesce": "lock"}, "clients": {"timeout_s": 1.0, "retries": 2,
                                                          "backoff": "full_jitter"}}
    one = _log(parse_scenario({**base, "seed": 11}, preset="classroom"))
    again = _log(parse_scenario({**base, "seed": 11}, preset="classroom"))
    other = _log(parse_scenario({**base, "seed": 12}, preset="classroom"))
    assert one == again
    assert one != other


def test_with_and_without_a_mitigation_see_identical_arrivals():
    def arrivals(coalesce):
        _, events = run_events(parse_scenario({"strategy": {"coalesce": coalesce}},
                                              preset="classroom"))
        return [(ev.t, ev.req, ev.viewer, ev.key) for ev in events
                if ev.kind == "arrive" and ev.attempt == 0]
    assert arrivals("none") == arrivals("promise") == arrivals("distributed")


def test_summary_only_runs_match_recorded_runs_and_keep_samples():
    scn = parse_scenario({}, preset="classroom")
    sim, events = run_events(scn)
    quiet = Simulation(scn, record_requests=False)
    quiet_events = list(quiet.events())
    assert {ev.kind for ev in quiet_events} <= {"sample", "db_state", "chunk_published",
                                                "server_down"}
    assert [e for e in events if e.kind == "sample"] == [e for e in quiet_events
                                                         if e.kind == "sample"]
    assert quiet.summary() == sim.summary() == run_summary(scn)


def test_samples_arrive_every_interval_with_exact_counters():
    scn = parse_scenario({"sample_interval_s": 0.1}, preset="classroom")
    sim, events = run_events(scn)
    samples = [ev for ev in events if ev.kind == "sample"]
    regular = samples[:-1]
    for i, ev in enumerate(regular, start=1):
        assert ev.t == pytest.approx(i * 0.1)
    last = samples[-1]
    s = sim.summary()
    assert (last.completed, last.errors, last.db_queries, last.arrived) == (
        s["completed"], s["errors"], s["db_queries"], s["attempts"])
    assert sum(ev.responses for ev in samples) == s["completed"]
    assert all(0.0 <= ev.utilisation <= 1.0 for ev in samples)
    assert {ev.state for ev in samples} <= {"up", "overloaded", "down"}


def test_advance_steps_through_the_same_events_as_the_generator():
    scn = parse_scenario({}, preset="classroom")
    _, expected = run_events(scn)
    sim = Simulation(scn)
    got, t = [], 0.0
    while not sim.finished:
        t += 0.25
        batch = sim.advance(t)
        assert all(ev.t <= t for ev in batch)
        got += batch
    assert got == expected


def test_summary_can_be_read_mid_run():
    sim = Simulation(parse_scenario({}, preset="classroom"))
    sim.advance(2.0)
    mid = sim.summary()
    assert mid["finished"] is False and 0 < mid["requests"] < 1200
    sim.run()
    assert sim.summary()["requests"] == 1200


def test_an_injected_request_is_a_real_request_for_the_newest_chunk():
    sim = Simulation(parse_scenario({}, preset="classroom"))
    sim.advance(5.0)
    rid = sim.inject()
    events = list(sim.events())
    mine = [ev for ev in events if ev.req == rid]
    assert mine[0].kind == "arrive" and mine[0].key == "chunk-1" and mine[0].t == 5.0
    assert [ev.kind for ev in mine].count("respond") == 1
    assert sim.summary()["requests"] == 1201


def test_injections_are_capped():
    from webapp.engine import ScenarioError
    from webapp.engine.simulation import MAX_INJECTED
    sim = Simulation(scenario(clients={"count": 1}))
    for _ in range(MAX_INJECTED):
        sim.inject(0.5)
    with pytest.raises(ScenarioError) as info:
        sim.inject()
    assert info.value.key == "inject"


def test_timed_out_work_goes_on_at_the_server_and_retries_add_load():
    s = run_summary(parse_scenario({}, preset="retry-storm"))
    assert s["retries"] > 0 and s["timeouts"] > 0
    assert s["db_queries"] == s["attempts"] > s["requests"]


def test_the_final_sample_counts_events_at_the_same_instant_as_a_sample():
    # One query from t=0 taking exactly 0.1 s ends at the 2nd sample time (0.1): the sample at t
    # comes after the events at t, so the last sample shows the request answered.
    scn = scenario(duration_s=0.1, sample_interval_s=0.05,
                   clients={"count": 1, "arrival": "ramp", "window_s": 0.0},
                   cache={"enabled": False},
                   datastore={"service_ms": 100.0, "service_dist": "constant"})
    sim, events = run_events(scn)
    samples = [ev for ev in events if ev.kind == "sample"]
    respond = next(ev for ev in events if ev.kind == "respond")
    assert respond.t == samples[-1].t == 0.1
    assert [ev.t for ev in samples] == [0.05, 0.1]           # no duplicate final sample
    assert (samples[-1].completed, samples[-1].inflight_requests, samples[-1].responses) == (
        1, 0, 1)
    assert events[-1] is samples[-1]


def test_the_final_sample_counts_a_request_injected_at_a_sample_instant():
    sim = Simulation(scenario(duration_s=0.1, sample_interval_s=0.05,
                              clients={"count": 1, "window_s": 0.0},
                              cache={"lookup_ms": 0.0},
                              workload={"warm_start": True}))
    sim.advance(0.1)                             # the sample at 0.1 is taken
    sim.inject()                                 # a cache hit answered at 0.1 itself
    events = list(sim.events())
    last = [ev for ev in events if ev.kind == "sample"][-1]
    s = sim.summary()
    assert (last.completed, last.inflight_requests) == (s["completed"], 0) == (2, 0)
