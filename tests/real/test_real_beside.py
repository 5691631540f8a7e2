"""The simulation beside a real run, fed what the run measured (worker.Measured), agrees with it
where the model models what happened: here, the pools' timeout."""
from __future__ import annotations

import pytest

from webapp.engine.scenario import apply_overrides
from webapp.real.settings import parse_settings, split_overrides
from webapp.real.worker import serve

from tests.real.conftest import BURST

pytestmark = pytest.mark.real


def beside(services_root, *sets: str) -> tuple[dict, dict]:
    plain, real = split_overrides(list(sets))
    kept: dict = {}
    status = serve({"scenario": apply_overrides({}, plain), "beside": True,
                    "real": vars(parse_settings(assignments=real))},
                   lambda kind, payload: kept.__setitem__(kind, payload), wait_s=60,
                   services=services_root)
    assert status == 0, kept.get("error")
    return kept["summary"], kept["summary_b"]


def test_the_pool_timeout_refuses_as_many_in_the_model_as_for_real(test_services):
    """500 at once, 20 connections, 50 ms queries, a 0.3 s pool timeout: each connection serves
    about six queries before the rest have waited too long. The real pools' PoolTimeouts and the
    model's pool_timeout refusals agree (they did not before the engine had one: 1,220 to 0)."""
    real, sim = beside(test_services, *BURST, "datastore.pool_timeout_s=0.3")
    assert sim["fed"]["pool_timeout_s"] == 0.3
    assert real["db_rejected"] == real["errors"] > 200
    assert sim["db_rejected"] == sim["errors"]
    # Close, not equal: the real app server's own time around each query varies with the
    # machine's load, so each connection serves a query more or less before the timeout than
    # the model does (5-14% apart at load 10-17, bench/README.md; a run of the suite once saw
    # 120 served for real and 85 in the model, 7% of the burst). Compared as shares of the
    # burst: within 10 points. Before the engine had a pool timeout it was 0 refused, not ~75%.
    burst = real["requests"]
    assert sim["requests"] == burst == 500
    assert sim["db_rejected"] == pytest.approx(real["db_rejected"], abs=0.1 * burst)
    assert sim["completed"] == pytest.approx(real["completed"], abs=0.1 * burst)


def test_the_model_is_fed_what_redis_and_postgresql_measured(test_services):
    real, sim = beside(test_services, *BURST, "clients.count=200", "strategy.coalesce=promise",
                       "real.synchronised=false")
    fed = sim["fed"]
    assert fed["arrivals"] == 200 and fed["service_ms"]["count"] == real["db_queries"] == 1
    # The model's connection is a pool's: busy for as long as the query kept it, which is
    # PostgreSQL's own time (it timed its 50 ms sleep) and the app server's around it.
    assert fed["service_from"] == "pool"
    assert fed["service_ms"]["p50"] >= fed["pg_service_ms"]["p50"] >= 50
    # One read-to-claim delay per miss, each request its own; cache.lookup_ms is the quickest
    # read (arrival to Redis's read), so no arrival is moved before t = 0 to read when it did.
    assert fed["claim_ms"]["count"] == real["cache_misses"] > 0
    assert fed["lookup_ms"] > 0
    assert fed["around_ms"]["count"] == 1
    # So the model's value lands when the real one did: the leader's miss, its next step,
    # its connection's time and the app server's around the query are all the real ones.
    assert sim["first_value_ms"] == pytest.approx(real["first_value_ms"], abs=2.0)
    # Both sides measure latency from the planned arrival: the lateness is in both.
    assert sim["latency_everyone_ms"]["p50"] >= real["real"]["arrival_lateness_ms"]["p50"] - 1


def test_a_lock_waiters_looks_are_fed_as_late_as_they_were(test_services):
    """A lock's waiters poll; each poll's answer comes as late as the app server gets to it.
    The model's polls are fed those delays, request by request, so its waiters find the value
    when the real ones did. (Within 20%, not exactly: a real holder lets go of the lock a
    round trip after its write, the model's at once, so a poller that just missed the value
    may take the free lock and re-check in the model where the real one polls once more.)"""
    real, sim = beside(test_services, *BURST, "clients.count=200", "strategy.coalesce=lock",
                       "strategy.lock_poll_ms=50", "datastore.service_ms=300")
    fed = sim["fed"]
    assert real["db_queries"] == sim["db_queries"] == 1
    assert fed["look_ms"]["count"] >= real["cache_misses"] - 1 > 0   # every waiter looked
    assert sim["first_value_ms"] == pytest.approx(real["first_value_ms"], abs=2.0)
    for q in ("p50", "p99"):
        assert sim["latency_everyone_ms"][q] == pytest.approx(real["latency_everyone_ms"][q],
                                                              rel=0.2)
