"""What is recorded: roles, sampling of viewers, and the step limit (contract items 2, 4, 5)."""
from __future__ import annotations

import tracemalloc

import pytest

from herd_support import run_events
from webapp.engine import ScenarioError, Simulation, parse_scenario, run_summary
from webapp.engine.events import SAMPLE


def test_without_coalescing_a_fetch_is_direct_and_only_a_coalescing_leader_leads():
    roles = {}
    for mode in ("none", "lock", "notify", "promise", "distributed"):
        _, events = run_events(parse_scenario({"strategy": {"coalesce": mode}},
                                              preset="classroom"))
        roles[mode] = {ev.role for ev in events if ev.kind == "fetch_start"}
        assert {ev.role for ev in events if ev.kind == "cache_set"} == roles[mode]
    assert roles == {"none": {"direct"}, "lock": {"leader"}, "notify": {"leader"},
                     "promise": {"leader"}, "distributed": {"leader"}}


def test_leader_dies_without_coalescing_kills_the_first_direct_fetchers_server():
    scn = parse_scenario({"servers": {"count": 3}, "faults": {"leader_dies": True},
                          "clients": {"count": 300, "retries": 1}}, preset="classroom")
    _, events = run_events(scn)
    first = next(ev for ev in events if ev.kind == "fetch_start")
    down = [ev for ev in events if ev.kind == "server_down"]
    assert first.role == "direct" and [ev.server for ev in down] == [first.server]


def _with_an_injection(scn, **kw):
    sim = Simulation(scn, **kw)
    events = sim.advance(5.0)
    rid = sim.inject()
    return sim, events + list(sim.events()), rid


@pytest.mark.parametrize("every", [2, 7, 100])
def test_sample_every_records_only_some_viewers_and_changes_nothing_else(every):
    scn = parse_scenario({"clients": {"count": 700}}, preset="classroom")
    full_sim, full, _ = _with_an_injection(scn)
    sim, part, rid = _with_an_injection(scn, sample_every=every)
    injected = scn.clients.count
    viewers = {ev.viewer for ev in part if ev.viewer is not None}
    assert viewers and all(v % every == 0 or v >= injected for v in viewers)
    assert any(ev.req == rid and ev.kind == "respond" for ev in part)
    # Exactly the events of the recorded viewers, and every event about no viewer.
    assert part == [ev for ev in full if ev.viewer is None or ev.viewer % every == 0
                    or ev.viewer >= injected]
    assert sim.summary() == full_sim.summary() and sim.summary()["requests"] == 2801


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_sample_every_and_max_steps_must_be_whole_numbers(bad):
    scn = parse_scenario({"clients": {"count": 5}})
    with pytest.raises(ValueError):
        Simulation(scn, sample_every=bad)
    with pytest.raises(ValueError):
        Simulation(scn, max_steps=bad)


def test_max_steps_ends_the_run_early_and_cleanly():
    scn = parse_scenario({}, preset="classroom")
    whole = run_summary(scn)
    assert whole["truncated"] is False and whole["events"] > 2000
    sim = Simulation(scn, max_steps=1000)
    events = list(sim.events())
    s = sim.summary()
    assert sim.finished and sim.truncated and s["truncated"] is True and s["finished"] is True
    assert s["events"] == sim.steps == 1000
    assert events[-1].kind == SAMPLE and round(events[-1].t, 6) == s["sim_time_s"]
    assert events[-1].completed == s["completed"] and events[-1].inflight_requests == s["in_flight"]
    assert s["in_flight"] > 0 and s["requests"] < whole["requests"]
    with pytest.raises(ScenarioError) as info:
        sim.inject()
    assert info.value.key == "inject"
    assert run_summary(scn, max_steps=1000) == s


def test_a_limit_the_run_does_not_reach_changes_nothing():
    scn = parse_scenario({}, preset="classroom")
    whole = run_summary(scn)
    assert run_summary(scn, max_steps=whole["events"]) == whole
    assert run_summary(scn, max_steps=whole["events"] + 1) == whole


def test_advance_respects_the_limit_too():
    sim = Simulation(parse_scenario({}, preset="classroom"), max_steps=300)
    t = 0.0
    while not sim.finished:
        t += 0.5
        sim.advance(t)
    assert sim.truncated and sim.steps == 300


def test_a_million_viewers_cost_nothing_to_build_and_little_before_the_first_batch():
    scn = parse_scenario({}, preset="drake-live")
    assert scn.clients.count == 1_000_000
    tracemalloc.start()
    try:
        sim = Simulation(scn)
        built, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        batch = sim.events()
        next(batch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert built < 200_000 and peak < 5_000_000     # bytes: arrivals are made a block at a time
    assert 0 < sim.steps <= 4096
