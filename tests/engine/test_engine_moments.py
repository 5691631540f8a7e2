"""Moments: each preset's story is told by the moments it needs, each one is what its raw event
stream says (recomputed from it by moments_replay.py on every preset, both coalescing families,
with and without a crash, with interventions), and every way of running a seed finds the same
ones."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from webapp.engine import Simulation, parse_scenario, run_summary
from webapp.engine.events import MOMENT
from webapp.engine.moments import MAX_PER_WHAT, WAVE_MIN, WAVE_S, WHATS, compact

from herd_support import run_events, scenario
from moments_replay import expected, made

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


def test_an_overload_that_does_not_crash_is_over_and_the_next_one_is_told_again():
    """The classroom preset's third chunk overloads the datastore, which catches up without
    crashing; once its queue has stayed short for CALM_S it is back, so the fourth chunk's
    overload is a moment of its own (with its own ``until``), then the crash."""
    moments = _moments("classroom")
    db = [m for m in moments if m.what.startswith("db_")][3:]
    assert [m.what for m in db] == ["db_overloaded", "db_recovered", "db_overloaded", "db_down",
                                    "db_recovered"]
    first, back, second, down, _ = db
    assert 8 < first.t < back.t < 12 < second.t and back.t - first.t >= 1.0
    assert second.until == pytest.approx(second.t + 1.0) == pytest.approx(down.t)
    # without a crash, every overload is told over
    for seed in (1, 2, 3):
        calm = _moments("classroom", {"seed": seed, "datastore": {"crash": False}})
        told = _whats(calm, "db_overloaded", "db_recovered", "db_down")
        assert told and told == ["db_overloaded", "db_recovered"] * (len(told) // 2), told


def test_a_herd_peak_is_its_maximum_told_once_it_has_drained_to_half():
    """With a lock whose first fetch fails, the herd keeps growing after it first drains: the
    peak is the most that ever waited (at its own instant), not the count when draining began."""
    scn = parse_scenario({"strategy": {"coalesce": "lock"}, "faults": {"fail_fetch": True},
                          "clients": {"count": 3000}}, preset="fleet")
    sim, events = run_events(scn)
    waiting, most, at = set(), 0, None
    for ev in events:
        if ev.kind == "cache_miss":
            waiting.add(ev.req)
            if len(waiting) > most:
                most, at = len(waiting), ev.t
        elif ev.kind in ("respond", "retry", "retry_denied", "timeout"):
            waiting.discard(ev.req)
    (peak,) = [m for m in sim.moments if m.what == "herd_peak"]
    assert (peak.number, peak.at) == (most, at) and peak.t > at


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
    # one backoff (1 s) later; it is told once its last window brought fewer than WAVE_MIN.
    assert waves[0].at == pytest.approx(downs[0].t + 1.0)
    assert waves[0].at <= waves[0].until < waves[0].t <= waves[0].until + 2 * WAVE_S
    assert downs[0].number <= waves[0].number <= downs[0].number + WAVE_MIN
    assert not _whats(_moments("retry-waves", {"clients": {"backoff": "full_jitter"}}),
                      "retry_wave")
    assert not _whats(_moments("retry-storm"), "retry_wave")      # timeouts spread out
    # Immediate retries into a crashed datastore: every retry that arrives is counted.
    now = [m for m in _moments("retry-waves", {"clients": {"backoff": "none"}})
           if m.what == "retry_wave"]
    assert now[0].number > 4 * downs[0].number


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


# ------------------------------------------------------------------ recomputed from the events
FLEET_INPUTS = [{"t": 0.02, "kind": "kill_server", "server": 3},
                {"t": 0.5, "kind": "set", "key": "strategy.coalesce", "value": "distributed"},
                {"t": 1.5, "kind": "expire_key"}, {"t": 1.6, "kind": "inject"},
                {"t": 1.7, "kind": "slow_db", "factor": 3.0, "for_s": 0.5},
                {"t": 2.0, "kind": "delete_key", "key": "key-0"}]
CLASSROOM_INPUTS = [{"t": 4.1, "kind": "set", "key": "strategy.coalesce", "value": "notify"},
                    {"t": 6.0, "kind": "expire_key"}, {"t": 9.0, "kind": "slow_db", "factor": 3.0,
                                                        "for_s": 2.0}]
SMALL = {"drake-live": {"clients": {"count": 20_000}}, "expiry-herd": {"clients": {"count": 12_000}},
         "fleet": {"clients": {"count": 3000}}, "metastable": {"duration_s": 30.0},
         "queueing": {"duration_s": 30.0}}
REPLAYED = [(preset, SMALL.get(preset, {}), ()) for preset in (
    "classroom", "drake-live", "expiry-herd", "retry-storm", "retry-waves", "metastable", "fleet",
    "queueing")] + [
    ("classroom", {"strategy": {"coalesce": mode}}, ()) for mode in ("promise", "notify", "lock",
                                                                     "distributed")] + [
    ("classroom", {"datastore": {"crash": False}}, ()),
    ("classroom", {"strategy": {"coalesce": "lock"}, "datastore": {"crash": False}}, ()),
    ("classroom", {"seed": 5}, ()), ("classroom", {"seed": 2, "clients": {"retries": 2}}, ()),
    ("classroom", {}, CLASSROOM_INPUTS),
    ("drake-live", {**SMALL["drake-live"], "strategy": {"coalesce": "promise"}}, ()),
    ("expiry-herd", {**SMALL["expiry-herd"], "strategy": {"stale_while_revalidate": True}}, ()),
    ("expiry-herd", {**SMALL["expiry-herd"], "strategy": {"early_refresh_beta": 1.0}}, ()),
    ("retry-storm", {"strategy": {"coalesce": "promise"}, "cache": {"enabled": True}}, ()),
    ("retry-waves", {"clients": {"backoff": "none"}}, ()),
    ("retry-waves", {"clients": {"backoff": "full_jitter"}}, ()),
    ("metastable", {**SMALL["metastable"], "datastore": {"queue_limit": 40}}, ()),
    ("fleet", {**SMALL["fleet"], "strategy": {"coalesce": "lock"}, "faults": {"fail_fetch": True}},
     ()),
    ("fleet", {**SMALL["fleet"], "strategy": {"coalesce": "notify"}, "faults": {"fail_fetch": True}},
     ()),
    ("fleet", {**SMALL["fleet"], "strategy": {"coalesce": "distributed", "lease_ms": 300.0},
               "faults": {"leader_dies": True}, "clients": {"retries": 1}}, ()),
    ("fleet", {**SMALL["fleet"], "faults": {"leader_dies": True}, "clients": {"retries": 1}}, ()),
    ("fleet", SMALL["fleet"], FLEET_INPUTS),
    ("fleet", {**SMALL["fleet"], "strategy": {"coalesce": "lock"}}, FLEET_INPUTS),
]


@pytest.mark.parametrize("preset, overrides, inputs", REPLAYED,
                         ids=[f"{p}-{json.dumps(o, sort_keys=True)}{'-inputs' if i else ''}"
                              for p, o, i in REPLAYED])
def test_every_moment_is_what_the_event_stream_says(preset, overrides, inputs):
    scn = parse_scenario(overrides, preset=preset)
    sim, events = run_events(scn, inputs=list(inputs))
    want = {what: found[:MAX_PER_WHAT] for what, found in expected(scn, events).items()}
    got = made(sim.moments)
    for what in set(want) | set(got):
        assert [_rounded(m) for m in got.get(what, [])] == [_rounded(m) for m in want.get(what, [])], what
    assert sim.moments == sorted(sim.moments, key=lambda m: m.t)         # made in time order
    assert all(m.at is None or m.at <= m.t for m in sim.moments)


def test_the_replayed_scenarios_cover_every_moment_they_can():
    """The scenarios above between them make every kind of moment (so none goes unchecked)."""
    seen = set()
    for preset, overrides, inputs in REPLAYED:
        sim = Simulation(parse_scenario(overrides, preset=preset), record_requests=False,
                         inputs=list(inputs)).run()
        seen.update(m.what for m in sim.moments)
    assert seen == set(WHATS)


def _rounded(found: tuple) -> tuple:
    return tuple(round(x, 9) if isinstance(x, float) else x for x in found)


def test_every_way_of_running_a_seed_finds_the_same_moments():
    for preset, overrides, _ in REPLAYED[:9]:
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



# ------------------------------------------------------------------ a picture of any instant
def test_peek_is_the_sample_of_that_instant_and_leaves_the_run_alone():
    """``Simulation.peek`` shows the run as it stands: at a sample's instant, the same counters,
    waiting rings, herds and strategy counts as that sample (its interval is then empty), and
    peeking changes no event of the run."""
    scn = parse_scenario({"strategy": {"coalesce": "promise"}}, preset="classroom")
    plain = list(Simulation(scn, record_requests=False).events())
    grid = [ev.t for ev in plain if ev.kind == "sample"]
    sim = Simulation(scn, record_requests=False)
    seen, peeks = [], {}
    for t in (grid[1], grid[2], 4.03, grid[80], 4.21234, grid[84]):
        seen += sim.advance(t)
        peeks[t] = sim.peek()
    seen += list(sim.events())
    assert seen == plain
    samples = {ev.t: ev for ev in plain if ev.kind == "sample"}
    interval = {"responses", "rps", "lat_p50_ms", "lat_p99_ms", "lat_p99_answered_ms", "ends"}
    for t, peek in peeks.items():
        assert peek.t == t and peek.kind == "sample"
        if t in samples:
            got, want = peek.to_dict(), samples[t].to_dict()
            assert {k: v for k, v in got.items() if k not in interval} == {
                k: v for k, v in want.items() if k not in interval}, t
            assert got["ends"] == 0
    waiting = peeks[4.03]
    assert sum(waiting.waiting) == waiting.herds["chunk-1"] - 1 > 0     # all but its leader wait
    assert waiting.made["fetch_start:leader"] == 2 and waiting.made["promise_wait"] > 50
