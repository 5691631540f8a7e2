"""Moments: each preset's story is told by the moments it needs, they agree with the events
around them, and every way of running a seed finds the same ones."""
from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from webapp.engine import Simulation, parse_scenario, run_summary
from webapp.engine.events import MOMENT
from webapp.engine.moments import MAX_PER_WHAT, WAVE_MIN, WHATS, compact

from herd_support import run_events, scenario

DRAKE_100K = {"clients": {"count": 100_000}}


def _whats(moments, *whats):
    return [m.what for m in moments if not whats or m.what in whats]


def _moments(preset, overrides=None):
    return Simulation(parse_scenario(overrides or {}, preset=preset),
                      record_requests=False).run().moments


# ------------------------------------------------------------------ each preset's story
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drake_live_without_mitigation_overloads_goes_down_and_recovers(seed):
    moments = _moments("drake-live", {**DRAKE_100K, "seed": seed})
    assert _whats(moments, "db_overloaded", "db_down", "db_recovered") == [
        "db_overloaded", "db_down", "db_recovered"]
    first, overloaded, down, recovered = (next(m for m in moments if m.what == w) for w in (
        "first_miss", "db_overloaded", "db_down", "db_recovered"))
    assert first.key == "chunk-0" and first.t < overloaded.t < down.t < recovered.t
    assert overloaded.next == "crash" and overloaded.until == pytest.approx(overloaded.t + 0.5)
    assert down.until == recovered.t == pytest.approx(down.t + 5.0)
    s = run_summary(parse_scenario({**DRAKE_100K, "seed": seed}, preset="drake-live"))
    assert down.number == s["errors"]                     # every query it held, failed


def test_drake_live_with_promise_resolves_once_per_server_and_never_overloads():
    scn = parse_scenario({**DRAKE_100K, "strategy": {"coalesce": "promise"}}, preset="drake-live")
    sim = Simulation(scn, record_requests=False).run()
    resolved = [m for m in sim.moments if m.what == "resolved"]
    assert sorted(m.server for m in resolved) == list(range(8))
    assert all(m.ok and m.next == "answered" for m in resolved)
    assert sum(m.number for m in resolved) == sim.summary()["coalesced"]
    assert not _whats(sim.moments, "db_overloaded", "db_down")


def test_classroom_with_promise_resolves_once_per_chunk_releasing_that_chunks_coalesced():
    scn = parse_scenario({"strategy": {"coalesce": "promise"}}, preset="classroom")
    sim, events = run_events(scn)
    coalesced = Counter(ev.key for ev in events if ev.kind == "respond" and ev.source == "promise")
    resolved = [m for m in sim.moments if m.what == "resolved"]
    assert [m.key for m in resolved] == ["chunk-0", "chunk-1", "chunk-2", "chunk-3"]
    assert {m.key: m.number for m in resolved} == coalesced
    assert _whats(sim.moments, "first_miss") == ["first_miss"] * 4
    assert not _whats(sim.moments, "db_overloaded", "db_down")


def test_classroom_without_mitigation_crashes_on_the_second_chunk():
    moments = _moments("classroom")
    db = [(m.what, round(m.t)) for m in moments if m.what.startswith("db_")]
    assert db[:3] == [("db_overloaded", 4), ("db_down", 5), ("db_recovered", 8)]
    peaks = {m.key: m.number for m in moments if m.what == "herd_peak"}
    assert peaks["chunk-1"] == 300            # the crash failed the whole herd at once


@pytest.mark.parametrize("coalesce", ["lock", "notify", "distributed"])
def test_a_lock_notify_or_marker_resolves_once_per_herd_for_the_whole_fleet(coalesce):
    scn = parse_scenario({"strategy": {"coalesce": coalesce}, "clients": {"count": 3000}},
                         preset="fleet")
    sim, events = run_events(scn)
    (resolved,) = [m for m in sim.moments if m.what == "resolved"]
    # Coalesced too: who read the cache before the value landed but reached the promise table
    # a round trip later, after it, and joined a server's call still polling the marker.
    late = sum(ev.kind in ("lock_wait", "marker_wait", "promise_wait") and ev.t > resolved.t
               for ev in events)
    assert resolved.number == sim.summary()["coalesced"] - late
    assert late == 0 or coalesce == "distributed"
    assert resolved.next == {"lock": "next_poll", "notify": "answered",
                             "distributed": "next_poll"}[coalesce]


def test_expiry_herds_begin_at_each_expiry_unless_a_read_path_mitigation_hides_them():
    plain = _moments("expiry-herd")
    firsts = [m for m in plain if m.what == "first_miss"]
    assert len(firsts) >= 2 and firsts[0].t == pytest.approx(10.0, abs=0.01)
    assert all(m.next == "all_fetch" for m in firsts)
    for mitigation in ({"stale_while_revalidate": True}, {"early_refresh_beta": 1.0}):
        assert not _whats(_moments("expiry-herd", {"strategy": mitigation}), "first_miss")


def test_retry_waves_come_with_exponential_backoff_and_not_with_full_jitter():
    waves = [m for m in _moments("retry-waves") if m.what == "retry_wave"]
    downs = [m for m in _moments("retry-waves") if m.what == "db_down"]
    assert len(waves) >= 3 and all(m.number >= WAVE_MIN for m in waves)
    # The first wave is the first crash's victims (and those refused just after) coming back
    # one backoff (1 s) later.
    assert waves[0].t == pytest.approx(downs[0].t + 1.0)
    assert downs[0].number <= waves[0].number <= downs[0].number + WAVE_MIN
    assert not _whats(_moments("retry-waves", {"clients": {"backoff": "full_jitter"}}),
                      "retry_wave")
    assert not _whats(_moments("retry-storm"), "retry_wave")      # timeouts spread out


def test_the_metastable_trigger_starts_ends_and_the_overload_outlasts_it():
    moments = _moments("metastable")
    slow = [m for m in moments if m.what in ("slow_start", "slow_end")]
    assert [(m.what, m.t, m.factor, m.until) for m in slow] == [
        ("slow_start", 10.0, 4.0, 13.0), ("slow_end", 13.0, None, None)]
    assert _whats(moments, "db_overloaded", "db_recovered") == ["db_overloaded"]
    fixed = _moments("metastable", {"datastore": {"queue_limit": 40},
                                    "clients": {"retry_budget": 0.1}})
    assert _whats(fixed, "slow_start", "slow_end") == ["slow_start", "slow_end"]
    assert "db_overloaded" not in _whats(fixed)


@pytest.mark.parametrize("coalesce", ["lock", "notify", "promise", "distributed"])
def test_a_dead_leaders_key_is_taken_over_by_another_server_when_nobody_else_fetches(coalesce):
    scn = scenario(duration_s=3.0, servers={"count": 3},
                   clients={"count": 300, "arrival": "ramp", "window_s": 1.0, "retries": 1},
                   datastore={"service_ms": 200.0, "service_dist": "constant"},
                   strategy={"coalesce": coalesce, "lease_ms": 600.0, "lock_poll_ms": 100.0},
                   faults={"leader_dies": True})
    sim, events = run_events(scn)
    (down,) = [m for m in sim.moments if m.what == "server_down"]
    (dead,) = [ev for ev in events if ev.kind == "server_down"]
    assert (down.t, down.server, down.next) == (dead.t, dead.server, "retry_elsewhere")
    takeovers = [m for m in sim.moments if m.what == "takeover"]
    if coalesce == "promise":       # every server leads its own fetch: nobody needs to take over
        first_set = next(ev for ev in events if ev.kind == "cache_set" and ev.t > dead.t)
        assert not takeovers and first_set.server != dead.server
        return
    assert len(takeovers) == 1 and takeovers[0].from_server == dead.server != takeovers[0].server
    fetch = next(ev for ev in events if ev.kind == "fetch_start" and ev.t >= takeovers[0].t)
    assert (fetch.t, fetch.req, fetch.server, fetch.role) == (
        takeovers[0].t, takeovers[0].req, takeovers[0].server, "leader")
    assert takeovers[0].t >= dead.t - 0.1 + 0.6          # the lease had to run out first


# ------------------------------------------------------------------ agreeing with the events
AGREE = [("classroom", {}), ("classroom", {"strategy": {"coalesce": "promise"}}),
         ("classroom", {"strategy": {"coalesce": "lock"}}),
         ("fleet", {"clients": {"count": 3000}}),
         ("fleet", {"clients": {"count": 3000}, "strategy": {"coalesce": "distributed"}}),
         ("retry-waves", {}), ("drake-live", {"clients": {"count": 20_000}}),
         ("expiry-herd", {"clients": {"count": 12_000}})]


@pytest.mark.parametrize("preset, overrides", AGREE)
def test_moments_agree_with_the_events_around_them(preset, overrides):
    sim, events = run_events(parse_scenario(overrides, preset=preset))
    waiting: dict[str, set] = defaultdict(set)       # key -> requests whose attempt missed
    checked = Counter()
    for i, ev in enumerate(events):
        if ev.kind == "cache_miss":
            waiting[ev.key].add(ev.req)
        elif ev.kind in ("respond", "timeout", "retry", "retry_denied"):
            waiting[ev.key].discard(ev.req)
        elif ev.kind == MOMENT:
            checked[ev.what] += 1
            later = events[i + 1:]
            if ev.what == "herd_peak":
                assert ev.number == len(waiting[ev.key])
            elif ev.what == "db_down":
                now = [e for e in later if e.t == ev.t and e.kind == "db_failed"]
                assert ev.number == len(now)
            elif ev.what == "resolved" and ev.next == "answered":
                now = [e for e in later if e.t == ev.t and e.kind == "respond"
                       and e.source == "promise" and e.server == ev.server]
                assert ev.number == len(now)
            elif ev.what == "retry_wave":
                due = [e for e in events if e.kind == "arrive" and e.attempt > 0
                       and ev.t <= e.t < ev.until]
                assert ev.number == len(due)
            elif ev.what == "first_miss":
                assert events[i - 1].kind == "cache_miss" and events[i - 1].req == ev.req
    assert checked, "no moment was checked"


def test_every_way_of_running_a_seed_finds_the_same_moments():
    for preset, overrides in AGREE + [("metastable", {"duration_s": 20.0})]:
        scn = parse_scenario(overrides, preset=preset)
        recorded, events = run_events(scn)
        summary_only = Simulation(scn, record_requests=False).run()
        sampled = Simulation(scn, sample_every=7)
        sampled_events = list(sampled.events())
        again = Simulation(scn, record_requests=False).run()
        assert recorded.moments == summary_only.moments == sampled.moments == again.moments
        assert [ev for ev in events if ev.kind == MOMENT] == recorded.moments == [
            ev for ev in sampled_events if ev.kind == MOMENT]
        assert recorded.summary()["moments"] == summary_only.summary()["moments"]
        assert all(m.viewer is None for m in recorded.moments)


def test_the_summary_counts_the_moments_and_compact_makes_each_a_small_dict():
    sim = Simulation(parse_scenario({"strategy": {"coalesce": "promise"}}, preset="classroom"))
    sim.run()
    s = sim.summary()
    assert s["moments"] == {**dict.fromkeys(WHATS, 0), **Counter(_whats(sim.moments))}
    assert s["moments"]["resolved"] == s["chunks"] == 4 and s["moments_dropped"] == 0
    assert compact(sim.moments[0]) == {"t": round(sim.moments[0].t, 6), "what": "first_miss",
                                       "key": "chunk-0", "server": 0, "req": 0,
                                       "next": "one_per_server"}
    json.dumps([compact(m) for m in sim.moments])


def test_moments_are_bounded_per_kind_and_the_rest_are_counted():
    # 300 chunks of 2 viewers: 300 herds, so 300 first misses; only MAX_PER_WHAT are kept.
    scn = scenario(duration_s=30.0, clients={"count": 2, "window_s": 0.05},
                   workload={"kind": "live_video", "segment_s": 0.1})
    sim = Simulation(scn, record_requests=False).run()
    s = sim.summary()
    firsts = _whats(sim.moments, "first_miss")
    assert len(firsts) == MAX_PER_WHAT and s["moments_dropped"] >= 300 - MAX_PER_WHAT
    assert s["moments"]["first_miss"] == MAX_PER_WHAT
    assert sum(s["moments"].values()) == len(sim.moments) <= MAX_PER_WHAT * len(WHATS)

