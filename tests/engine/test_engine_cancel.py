"""A client that gives up cancels its query if it is still queued (issue 12).

The rule (lifecycle.py, docs/events.md "Cancelling"): a query waiting for a connection leaves
the queue once every attempt waiting for its answer has given up; a running query runs on; a
promise's call goes on for its waiters after its leader's client gives up; a lock holder whose
query is cancelled lets go of the lock; a background refresh is never cancelled.
"""
from __future__ import annotations

from collections import Counter

import pytest

from herd_support import run_events, scenario

# One connection, constant 1 s queries, clients that give up after 0.5 s: the first query runs,
# whatever comes next waits, and its client gives up first.
ONE_SLOW_CONNECTION = {"connections": 1, "service_ms": 1000.0, "service_dist": "constant"}


def _by_kind(events):
    out: dict[str, list] = {}
    for ev in events:
        out.setdefault(ev.kind, []).append(ev)
    return out


def test_a_queued_query_whose_client_gave_up_leaves_the_queue_and_a_running_one_runs_on():
    scn = scenario(duration_s=0.2, clients={"count": 2, "arrival": "ramp", "window_s": 0.1,
                                            "timeout_s": 0.5},
                   cache={"enabled": False}, datastore=ONE_SLOW_CONNECTION)
    sim, events = run_events(scn)
    k = _by_kind(events)
    first, second = (ev.query for ev in k["fetch_start"])
    assert [ev.query for ev in k["db_started"]] == [first]           # the second never runs
    (cancelled,) = k["db_cancelled"]
    assert cancelled.query == second and cancelled.req == 1
    assert cancelled.t == pytest.approx(0.05 + 0.5)       # when its client gave up
    assert [ev.query for ev in k["db_finished"]] == [first]          # ran on, wasted
    assert k["db_finished"][0].t == pytest.approx(1.0)
    s = sim.summary()
    assert (s["db_cancelled"], s["timeouts"], s["completed"]) == (1, 2, 0)
    samples = [ev for ev in k["sample"] if 0.55 < ev.t < 1.0]
    assert samples and all(ev.queued == 0 and ev.db_cancelled == 1 for ev in samples)


def test_a_retry_of_a_cancelled_query_joins_the_back_of_the_queue_without_the_dead_one():
    # 20 clients at once, 1 connection: every query but the first waits. Clients give up after
    # 0.5 s and retry at once; without cancelling, the abandoned queries would sit ahead of
    # their retries for 19 s.
    scn = scenario(duration_s=0.1, clients={"count": 20, "arrival": "ramp", "window_s": 0.0,
                                            "timeout_s": 0.5, "retries": 1},
                   cache={"enabled": False}, datastore=ONE_SLOW_CONNECTION)
    sim, events = run_events(scn)
    s = sim.summary()
    # At 0.5 s all give up: 19 queued queries leave, the running one runs on to 1.0 s. The 20
    # retries queue behind it; at 1.0 s one of them starts just as all 20 give up again.
    assert s["db_cancelled"] == 19 + 19
    assert s["completed"] == 0 and s["timeouts"] == 20
    assert max(ev.queued for ev in events if ev.kind == "sample") == 20     # never 19 + 20
    assert s["sim_time_s"] == pytest.approx(2.0)     # not 39 s of dead work


def _two_servers(coalesce: str):
    """Viewers 0, 1, 2 ask at t=0 (servers 0, 1, 0); viewer 0's query takes the only
    connection for 1 s. Viewer 1's fetch (promise: at once; lock and distributed: once viewer
    0's 300 ms lease has run out, at a poll soon after) waits behind it. Viewer 3, injected at
    0.05 s, is served by server 1 too. Returns events by kind, with ``viewer`` of each
    request."""
    from webapp.engine import Simulation
    scn = scenario(duration_s=0.01, servers={"count": 2},
                   clients={"count": 3, "arrival": "ramp", "window_s": 0.0, "timeout_s": 0.5},
                   datastore=ONE_SLOW_CONNECTION,
                   strategy={"coalesce": coalesce, "lease_ms": 300.0, "marker_poll_ms": 50.0,
                             "lock_poll_ms": 50.0})
    sim = Simulation(scn)
    sim.inject(0.05)
    events = list(sim.events())
    return _by_kind(events)


@pytest.mark.parametrize("coalesce", ["promise", "distributed"])
def test_a_coalesced_query_is_cancelled_only_once_its_last_waiter_gives_up(coalesce):
    k = _two_servers(coalesce)
    queries = {ev.viewer: ev.query for ev in k["fetch_start"]}
    assert set(queries) == {0, 1}           # viewer 2 waited on server 0, viewer 3 on server 1
    assert any(ev.viewer == 3 for ev in k["promise_wait"])
    (cancelled,) = k["db_cancelled"]
    assert cancelled.query == queries[1]
    timeouts = {ev.viewer: ev.t for ev in k["timeout"]}
    assert timeouts[1] == pytest.approx(0.5)     # its leader gave up: the call went on
    assert cancelled.t == timeouts[3] == pytest.approx(0.55)   # for the waiter, until then


def test_a_lock_holder_whose_query_is_cancelled_lets_go_and_a_waiter_takes_over():
    k = _two_servers("lock")
    fetches = [(ev.viewer, ev.t) for ev in k["fetch_start"]]
    assert fetches[0] == (0, pytest.approx(0.002))      # its read at 1 ms, its claim at 2 ms
    assert fetches[1][0] == 1 and 0.3 < fetches[1][1] < 0.5
    first = k["db_cancelled"][0]
    assert (first.viewer, first.t) == (1, pytest.approx(0.5))   # the holder gave up, nobody
    after = [(v, t) for v, t in fetches if t > 0.5]             # joins a lock holder's query
    assert after and after[0][0] != 1            # it let go, and a poller took the lock


def test_a_background_refresh_is_never_cancelled():
    scn = scenario(preset="expiry-herd", duration_s=12.0,
                   clients={"count": 12_000, "timeout_s": 0.05},
                   datastore={"connections": 1, "service_ms": 400.0},
                   strategy={"stale_while_revalidate": True})
    sim, events = run_events(scn)
    refresh = {ev.query for ev in events if ev.kind == "fetch_start" and ev.role == "refresh"}
    assert refresh
    assert not refresh & {ev.query for ev in events if ev.kind == "db_cancelled"}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("coalesce", ["none", "lock", "notify", "promise", "distributed"])
def test_cancelling_keeps_every_query_ending_once_and_frees_its_connection_time(seed, coalesce):
    scn = scenario(preset="retry-storm", seed=seed,
                   cache={"enabled": coalesce in ("lock", "notify", "distributed")},
                   clients={"count": 300}, strategy={"coalesce": coalesce})
    sim, events = run_events(scn)
    s = sim.summary()
    ends = Counter(ev.query for ev in events if ev.kind in (
        "db_finished", "db_failed", "db_rejected", "db_cancelled"))
    sent = [ev.query for ev in events if ev.kind == "fetch_start"]
    assert sorted(ends) == sorted(sent) and set(ends.values()) == {1}
    started = {ev.query for ev in events if ev.kind == "db_started"}
    cancelled = {ev.query for ev in events if ev.kind == "db_cancelled"}
    assert not started & cancelled
    assert len(started) + len(cancelled) == len(sent) - s["db_rejected"]
    if coalesce == "none":
        assert s["db_cancelled"] > 0             # the retry storm cancels plenty
