"""A synchronised burst of 500 identical reads against the real Redis and PostgreSQL.

PostgreSQL counts the queries itself (a sequence bumped by every query), so these are its
numbers, not the app's. ``real.synchronised``: every request looks the cache up before any goes
on, so every one of them misses, as in the worst real herd.
"""
from __future__ import annotations

import os

import pytest

from webapp.engine import Simulation, run_summary
from webapp.engine.events import ARRIVE, FETCH_START, MARKER_WAIT, RESPOND, SAMPLE, SAMPLE_FIELDS
from webapp.engine.scenario import apply_overrides, parse_scenario

from webapp.real import fleet

from tests.real.conftest import BURST, real_run

pytestmark = pytest.mark.real


def fetch_servers(events: list[tuple]) -> list[int]:
    return sorted(ev[4] for ev in events if ev[1] == FETCH_START)


def test_no_mitigation_sends_the_whole_herd(services):
    events, summary, _ = real_run(services, *BURST)
    assert summary["db_queries"] == 500                  # PostgreSQL's own count
    assert summary["real"]["fetches_sent"] == 500
    assert summary["cache_misses"] == 500
    assert summary["completed"] == 500 and summary["errors"] == 0
    # PostgreSQL ran at most the pools' 20 at once (its own clock says so); the rest queued.
    assert 10 < summary["peak_db_inflight"] <= 20 < summary["real"]["peak_fetches_in_flight"]
    pool = summary["real"]["pool"]
    assert pool["requests"] == 500 and pool["queued"] >= 500 - 20 and pool["errors"] == 0
    # 500 queries of 50 ms through 20 connections cannot take less than 25 rounds of 50 ms.
    assert summary["latency_answered_ms"]["max"] >= 25 * 50 * 0.95


def test_promise_on_one_server_sends_one_query(services):
    forks: list[int] = []
    os.register_at_fork(before=lambda: forks.append(1))   # stays registered: harmless
    events, summary, _ = real_run(services, *BURST, "strategy.coalesce=promise")
    assert forks == []      # app servers are spawned, never forked (see test_real_services)
    assert summary["db_queries"] == 1
    assert summary["coalesced"] == 499 and summary["completed"] == 500
    assert fetch_servers(events) == [0]


def test_promise_sends_one_query_per_app_server(services):
    events, summary, run = real_run(services, *BURST, "strategy.coalesce=promise",
                                    "servers.count=4", "real.processes=2")
    assert run.processes == 2
    assert summary["db_queries"] == 4
    assert fetch_servers(events) == [0, 1, 2, 3]
    assert summary["completed"] == 500


def test_shared_marker_sends_one_query_across_processes(services):
    # Pollers re-read the cache every 20 ms: one whose read missed just before the winner's
    # write can claim the marker right after its release; distributed.py's new owner then looks
    # at the cache again before fetching, so that race costs no second query.
    events, summary, run = real_run(services, *BURST, "strategy.coalesce=distributed",
                                    "servers.count=2", "real.processes=2",
                                    "strategy.marker_poll_ms=20")
    assert run.processes == 2
    assert summary["db_queries"] == 1
    leader = fetch_servers(events)
    assert len(leader) == 1
    waiting = sorted(ev[4] for ev in events if ev[1] == MARKER_WAIT)
    assert waiting == sorted({0, 1} - set(leader))     # the other server's leader waited
    assert summary["completed"] == 500 and summary["errors"] == 0


def test_real_run_has_the_simulations_arrivals_and_summary_keys(services):
    sets = [*BURST, "strategy.coalesce=promise", "clients.count=50", "clients.window_s=0.2",
            "real.synchronised=false", "clients.arrival=ramp"]
    events, summary, run = real_run(services, *sets)
    simulated = run_summary(parse_scenario(apply_overrides(
        {}, [s for s in sets if not s.startswith("real.")])))
    assert set(simulated) <= set(summary)
    assert summary["mode"] == "real" and summary["requests"] == simulated["requests"] == 50
    arrivals = {ev[2]: ev[0] for ev in events if ev[1] == ARRIVE}
    planned = {rid: t for t, rid, *_ in run.plan.arrivals}
    assert arrivals.keys() == planned.keys()
    late = [arrivals[rid] - planned[rid] for rid in planned]
    assert min(late) >= 0                                 # never early
    assert summary["real"]["arrival_lateness_ms"]["max"] == pytest.approx(max(late) * 1000,
                                                                          abs=0.01)
    assert summary["real"]["arrival_spread_s"]["planned"] == pytest.approx(0.2 * 49 / 50)


def test_samples_fill_every_field(services):
    events, summary, _ = real_run(services, *BURST, "strategy.coalesce=promise",
                                  "clients.count=100")
    samples = [dict(zip(SAMPLE_FIELDS, ev[6:])) for ev in events if ev[1] == SAMPLE]
    for sample in samples:
        so_far = sample["completed"] + sample["errors"] + sample["timeouts"]
        for name, value in sample.items():
            if value is None:   # a percentile of nothing: no request ended (here, or so far)
                empty = {"lat_p50_ms": sample["ends"], "lat_p99_ms": sample["ends"],
                         "lat_p99_answered_ms": sample["responses"], "p50_ms": so_far,
                         "p99_ms": so_far, "p99_answered_ms": sample["completed"]}
                assert empty.get(name, 1) == 0, name
    assert sum(s["responses"] for s in samples) == summary["completed"] == 100
    assert sum(s["ends"] for s in samples) == 100
    answered = sorted(ev[8] for ev in events if ev[1] == RESPOND)
    assert max(s["lat_p99_ms"] or 0 for s in samples) <= answered[-1]
    # The cumulative p99 at the end is the summary's, within the histogram's 1%.
    assert samples[-1]["p99_ms"] == pytest.approx(summary["latency_everyone_ms"]["p99"], rel=0.01)


def test_latency_runs_from_the_planned_arrival_so_a_late_start_counts(services, monkeypatch):
    """Coordinated omission, corrected: the run's t=0 is put 0.3 s *before* the app servers
    are told to go, so every request starts at least 0.3 s after its planned arrival. Its
    latency counts those 0.3 s (measured from the plan), and the lateness is reported beside."""
    monkeypatch.setattr(fleet, "START_AHEAD_S", -0.3)
    events, summary, run = real_run(services, *BURST, "clients.count=50",
                                    "real.synchronised=false", "strategy.coalesce=promise")
    arrived = {ev[2]: ev[0] for ev in events if ev[1] == ARRIVE}
    for ev in events:
        if ev[1] == RESPOND:
            planned = run.planned[ev[2]]
            assert ev[8] == pytest.approx((ev[0] - planned) * 1000, abs=0.01)
            assert ev[8] >= (ev[0] - arrived[ev[2]]) * 1000 + 300 - 1
    assert summary["latency_everyone_ms"]["p50"] >= 300
    assert summary["real"]["arrival_lateness_ms"]["p50"] >= 300


@pytest.mark.parametrize("coalesce", ["lock", "notify", "promise"])
def test_coalescing_fetches_once_however_the_burst_falls(services, coalesce):
    """One app server, 400 reads in a 50 ms burst: exactly one query. Before the re-check,
    a request whose read missed just before the value landed fetched it again (lock and
    notify: 9 of 33 such runs; promise: 1 of 6). bench/real_coalesce.py runs it 30 times."""
    events, summary, _ = real_run(services, *BURST, "clients.count=400",
                                  "clients.window_s=0.05", "real.synchronised=false",
                                  "strategy.lock_poll_ms=50", f"strategy.coalesce={coalesce}")
    assert summary["db_queries"] == 1 and summary["completed"] == 400


def test_samples_picture_the_herd_as_the_simulation_does(services):
    """The picture's fields (issue 19) of a real run: while the leader's 300 ms query runs, the
    99 others wait on its promise at server 0 and the key's herd is all 100 (counted from the
    merged events, exact at each sample); at the end nobody waits, no herd is under way, and
    the strategies' places made their events as often as in the simulation of the same run."""
    sets = [*BURST, "strategy.coalesce=promise", "clients.count=100",
            "datastore.service_ms=300"]
    events, _, _ = real_run(services, *sets)
    samples = [dict(zip(SAMPLE_FIELDS, ev[6:])) for ev in events if ev[1] == SAMPLE]
    key = next(ev[5] for ev in events if ev[1] == FETCH_START)
    assert any(s["waiting"] == [99] and s["herds"] == {key: 100} for s in samples)
    assert samples[-1]["waiting"] == [0] and samples[-1]["herds"] == {}
    simulated = [ev for ev in Simulation(parse_scenario(apply_overrides(
        {}, [s for s in sets if not s.startswith("real.")]))).events() if ev[1] == SAMPLE]
    assert samples[-1]["made"] == dict(zip(SAMPLE_FIELDS, simulated[-1][6:]))["made"] == {
        "promise_wait": 99, "fetch_start:leader": 1, "promise_resolved": 1, "respond:db": 1,
        "respond:promise": 99}


def test_a_lease_that_runs_out_under_a_live_holder_is_a_second_fetch(services):
    """The path behind the unexplained double fetch (issue 21, round 2, item 5): a lock's lease
    (100 ms here) shorter than its live holder's fetch (a 500 ms query). A poller finds the
    lease run out, takes the lock over -- counted as a takeover -- and fetches again. The run
    reports it, and how long the longest claim was held against the lease."""
    events, summary, _ = real_run(services, *BURST, "clients.count=50",
                                  "strategy.coalesce=lock", "strategy.lock_poll_ms=20",
                                  "strategy.lease_ms=100", "datastore.service_ms=500")
    claims = summary["real"]["claims"]
    assert summary["db_queries"] >= 2 and claims["takeovers"] >= 1
    assert claims["held_max_ms"] >= 500 > claims["lease_ms"] == 100
    assert len([ev for ev in events if ev[1] == FETCH_START]) == summary["db_queries"]
