"""Limits on /lab: concurrent runs per connection and per server, each refused with ``error``."""
from __future__ import annotations

import pytest

from tests.transport.conftest import settle


SLOW = {"clients": {"count": 50}, "duration_s": 60.0}


@pytest.fixture
def app_config(async_mode: str) -> dict:
    return {"testing": True, "async_mode": async_mode, "secret_key": "test-secret",
            "max_runs_per_connection": 2, "max_runs_per_server": 3}


def refused(c, scenario=SLOW) -> dict:
    before = len(c.of("started"))
    c.emit("start", {"scenario": scenario, "speed": 1.0})
    c.pump()
    assert len(c.of("started")) == before
    return c.last_error()


def test_runs_per_connection_and_per_server_are_capped_and_a_stop_frees_a_slot(lab, runs):
    a, b, d = lab(), lab(), lab()
    first = a.start(SLOW, speed=1.0)
    a.start(SLOW, speed=1.0)
    assert "At most 2 runs" in refused(a)["message"]
    b.start(SLOW, speed=1.0)
    assert "as many experiments" in refused(d)["message"]
    a.control(first, "stop")
    d.start(SLOW, speed=1.0)
    assert runs.live_tasks() <= 4 and settle(lambda: runs.live_tasks() == 3)


def test_a_finished_run_frees_its_slot(lab):
    a = lab()
    quick = a.start({"clients": {"count": 10}, "duration_s": 1.0})
    a.start(SLOW, speed=1.0)
    a.wait_for("done", quick)
    a.start(SLOW, speed=1.0)
    refused(a)


def test_a_run_over_the_step_budget_is_refused_up_front_naming_what_makes_it_expensive(lab, runs):
    a = lab()
    a.emit("start", {"scenario": {"clients": {"count": 20_000},
                                  "strategy": {"coalesce": "lock", "lock_poll_ms": 1},
                                  "datastore": {"service_ms": 60_000}}})
    a.pump()
    error = a.last_error()
    assert error["field"].startswith("scenario.") and "strategy.lock_poll_ms" in error["message"]
    assert a.of("started") == [] and runs.live_tasks() == 0 and not runs.reserved
    a.emit("start", {"scenario": {}, "compare": {"strategy": {"coalesce": "lock",
                                                              "lock_poll_ms": 1},
                                                 "datastore": {"service_ms": 60_000},
                                                 "clients": {"count": 20_000}}})
    a.pump()
    assert a.last_error()["field"].startswith("compare.")
