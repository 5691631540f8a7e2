"""The datastore's pool timeout (``datastore.pool_timeout_s``): a query that waits that long for
a connection is refused, as psycopg_pool's ``getconn`` raises ``PoolTimeout``."""
from __future__ import annotations

import pytest

from herd_support import run_events, scenario
from webapp.engine import Simulation, run_summary

ONE_SLOW = {"connections": 1, "service_ms": 1000.0, "service_dist": "constant"}
TEN_AT_ONCE = {"count": 10, "arrival": "ramp", "window_s": 0.0}


def test_queries_waiting_past_the_pool_timeout_are_refused_and_their_requests_fail():
    sim, events = run_events(scenario(duration_s=1.0, clients=TEN_AT_ONCE, cache={
        "enabled": False}, datastore={**ONE_SLOW, "pool_timeout_s": 0.5}))
    rejected = [ev for ev in events if ev.kind == "db_rejected"]
    assert len(rejected) == 9 and {ev.reason for ev in rejected} == {"pool_timeout"}
    assert [ev.t for ev in rejected] == pytest.approx([0.5] * 9)
    failed = [ev for ev in events if ev.kind == "respond" and ev.status == "error"]
    assert sorted(ev.req for ev in failed) == sorted(ev.req for ev in rejected)
    s = sim.summary()
    assert s["db_rejected"] == s["errors"] == 9 and s["completed"] == 1
    assert s["db_queries"] == 10                 # sent, like a real pool's requests
    assert s["sim_time_s"] == pytest.approx(1.0)  # the one that got the connection


def test_a_query_that_gets_its_connection_in_time_is_served():
    # 1 connection, 1 s queries, 1.5 s timeout: the second query starts at 1 s (in time), the
    # third would start at 2 s and is refused at 1.5 s.
    s = run_summary(scenario(duration_s=0.1, clients={**TEN_AT_ONCE, "count": 3},
                             cache={"enabled": False},
                             datastore={**ONE_SLOW, "pool_timeout_s": 1.5}))
    assert s["completed"] == 2 and s["db_rejected"] == s["errors"] == 1
    assert s["sim_time_s"] == pytest.approx(2.0)   # no timer of a served query outlives it


def test_a_refused_request_retries_like_any_error():
    s = run_summary(scenario(duration_s=0.1, clients={**TEN_AT_ONCE, "count": 3, "retries": 1},
                             cache={"enabled": False},
                             datastore={**ONE_SLOW, "pool_timeout_s": 0.5}))
    # Two wait behind the first query; at 0.5 s both are refused and retry at once. At 1 s the
    # first query ends: one retry gets the connection, the other is refused again (its wait
    # began at 0.5 s) and has no retry left.
    assert (s["retries"], s["db_rejected"], s["completed"], s["errors"]) == (2, 3, 2, 1)


def test_clients_that_give_up_first_cancel_their_queries_instead():
    sim, events = run_events(scenario(clients={**TEN_AT_ONCE, "timeout_s": 0.2},
                                      cache={"enabled": False},
                                      datastore={**ONE_SLOW, "pool_timeout_s": 0.5}))
    kinds = {ev.kind for ev in events}
    assert "db_rejected" not in kinds and sim.summary()["db_cancelled"] == 9


def test_off_by_default_the_queue_waits_as_long_as_it_takes():
    s = run_summary(scenario(clients=TEN_AT_ONCE, cache={"enabled": False}, datastore=ONE_SLOW))
    assert s["db_rejected"] == 0 and s["completed"] == 10
    assert s["latency_everyone_ms"]["max"] == pytest.approx(10_000.0)


def test_the_cost_estimate_still_bounds_a_run_with_pool_timeouts():
    from webapp.engine.cost import estimate_steps
    scn = scenario(preset="retry-storm", datastore={"pool_timeout_s": 0.05})
    steps = Simulation(scn, record_requests=False).run().steps
    assert steps <= estimate_steps(scn)
