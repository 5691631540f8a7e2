"""Real failures, mapped onto the simulation's vocabulary."""
from __future__ import annotations

import psycopg
import pytest

from webapp.engine.events import (DB_FAILED, DB_REJECTED, FETCH_START, MARKER_EXPIRED, RESPOND,
                                  SERVER_DOWN)
from webapp.engine.scenario import apply_overrides, parse_scenario
from webapp.real import fleet
from webapp.real.services import MAX_CONNECTIONS
from webapp.real.settings import parse_settings, split_overrides

from tests.real.conftest import BURST, real_run

pytestmark = pytest.mark.real


def test_pool_timeout_is_a_rejection(services):
    events, summary, _ = real_run(services, *BURST, "real.pool_timeout_s=0.3")
    rejected = [ev for ev in events if ev[1] == DB_REJECTED]
    assert rejected and {ev[7] for ev in rejected} == {"pool_timeout"}
    assert summary["db_rejected"] == len(rejected) == summary["errors"]
    assert summary["completed"] + summary["errors"] == 500
    # A rejected fetch never reached PostgreSQL: it counted only the others.
    assert summary["db_queries"] == 500 - len(rejected)
    failed = [ev for ev in events if ev[1] == RESPOND and ev[7] == "error"]
    assert min(ev[8] for ev in failed) >= 300 * 0.95     # each waited its pool timeout


def test_statement_timeout_fails_the_query(services):
    events, summary, _ = real_run(services, *BURST, "clients.count=20",
                                  "datastore.service_ms=300", "real.statement_timeout_ms=50")
    assert summary["db_failed"] == len([e for e in events if e[1] == DB_FAILED]) == 20
    assert summary["db_queries"] == 20                   # they ran, then were cancelled
    assert summary["errors"] == 20 and summary["completed"] == 0


def test_a_failed_query_fails_every_waiter_of_its_promise(services):
    events, summary, _ = real_run(services, *BURST, "clients.count=100",
                                  "strategy.coalesce=promise", "faults.fail_fetch=true")
    assert summary["db_queries"] == 1 and summary["db_failed"] == 1
    assert summary["errors"] == 100


def test_marker_lease_lets_a_new_leader_take_over_when_the_holder_is_killed(services):
    # The first leader's process is killed halfway through its 1 s query; its marker lives on
    # until its 800 ms lease runs out, then a poller of the other process takes over.
    events, summary, _ = real_run(
        services, *BURST, "clients.count=200", "datastore.connections=4",
        "datastore.service_ms=1000", "strategy.coalesce=distributed", "servers.count=2",
        "real.processes=2", "strategy.lease_ms=800", "strategy.marker_poll_ms=50",
        "faults.leader_dies=true")
    fetches = [ev for ev in events if ev[1] == FETCH_START]
    assert len(fetches) == 2
    first, second = fetches
    down = [ev for ev in events if ev[1] == SERVER_DOWN]
    assert [ev[4] for ev in down] == [first[4]]
    assert 0.5 * 0.9 <= down[0][0] - first[0] < 0.8      # killed mid-query, lease still on
    taken = [ev for ev in events if ev[1] == MARKER_EXPIRED]
    assert len(taken) == 1 and taken[0][7] == first[4] and taken[0][4] == second[4]
    assert second[0] - first[0] >= 0.8 - 0.01            # not before the lease ran out
    assert summary["db_queries"] == 2                    # the dead one's query still ran
    assert summary["servers_down"] == 1
    ends = {ev[2]: ev for ev in events if ev[1] == RESPOND}
    survivors = [ev for ev in ends.values() if ev[4] == second[4]]
    assert len(survivors) == 100 and all(ev[7] == "ok" for ev in survivors)
    assert summary["errors"] == 100                       # the dead server's requests


def test_without_a_pool_postgres_refuses_clients_beyond_max_connections(services):
    # Most of max_connections is taken first, so that the run's own direct connections find
    # only a few free slots whatever the machine's speed.
    held = [psycopg.connect(services.pg_conninfo()) for _ in range(MAX_CONNECTIONS - 10)]
    try:
        events, summary, _ = real_run(services, *BURST, "clients.count=60", "real.pool=false",
                                      "datastore.service_ms=500")
    finally:
        for conn in held:
            conn.close()
    refused = [ev for ev in events if ev[1] == DB_REJECTED]
    assert len(refused) >= 60 - 10 and {ev[7] for ev in refused} == {"too_many_clients"}
    assert summary["db_rejected"] == len(refused) == summary["errors"]
    assert summary["db_queries"] == summary["completed"] == 60 - len(refused)


def test_a_run_past_its_event_bound_is_cut_and_says_so(services, monkeypatch):
    monkeypatch.setattr(fleet, "MAX_EVENTS", 50)
    plain, real = split_overrides([*BURST, "clients.count=200", "clients.window_s=0.5",
                                   "real.synchronised=false", "datastore.service_ms=200"])
    run = fleet.RealRun(parse_scenario(apply_overrides({}, plain)),
                        parse_settings(assignments=real), services)
    events = list(run.events())
    summary = run.summary()
    assert summary["truncated"] is True and summary["finished"] is False
    assert summary["in_flight"] > 0 and len(events) < 200 * 4
    assert [ev[0] for ev in events] == sorted(ev[0] for ev in events)
