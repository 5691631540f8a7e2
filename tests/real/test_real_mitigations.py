"""Every mitigation module, unchanged, driving the real host: each does what it says."""
from __future__ import annotations

import pytest

from webapp.engine.events import (CACHE_SET, FETCH_START, LOCK_WAIT, RESPOND, RETRY,
                                  STALE_SERVED)

from tests.real.conftest import real_run

pytestmark = pytest.mark.real
SMALL = ["clients.count=60", "datastore.service_dist=constant", "datastore.service_ms=50"]
RAMP = ["clients.arrival=ramp", "clients.window_s=0.6", "duration_s=0.6"]


def of(events, kind):
    return [ev for ev in events if ev[1] == kind]


def test_lock_one_fetches_the_others_poll(services):
    events, summary, _ = real_run(services, *SMALL, "clients.window_s=0",
                                  "real.synchronised=true", "strategy.coalesce=lock",
                                  "strategy.lock_poll_ms=100")
    assert summary["db_queries"] == 1
    assert len(of(events, LOCK_WAIT)) == 59 == summary["coalesced"]
    assert {ev[9] for ev in of(events, RESPOND)} == {"db", "lock"}


def test_stale_while_revalidate_serves_stale_while_one_refreshes(services):
    events, summary, _ = real_run(services, *SMALL, *RAMP, "workload.warm_start=true",
                                  "cache.ttl_s=0.2", "strategy.stale_while_revalidate=true")
    stale = of(events, STALE_SERVED)
    assert stale and summary["stale_served"] == len(stale)
    assert summary["cache_misses"] == 0 and summary["errors"] == 0
    assert summary["db_queries"] <= 3 < len(stale)       # about one refresh per expiry
    assert {ev[7] for ev in of(events, FETCH_START)} == {"refresh"}


def test_xfetch_refreshes_before_expiry(services):
    events, summary, _ = real_run(services, *SMALL, *RAMP, "workload.warm_start=true",
                                  "cache.ttl_s=0.3", "strategy.early_refresh_beta=3")
    early = [ev for ev in of(events, FETCH_START) if ev[7] == "early_refresh"]
    assert early and summary["db_queries"] == len(of(events, FETCH_START))


def test_ttl_jitter_spreads_the_expiry_of_keys_written_together(services):
    events, summary, _ = real_run(services, *SMALL, *RAMP, "workload.keys=20",
                                  "cache.ttl_s=0.3", "cache.ttl_jitter=1")
    warm = [ev[7] for ev in of(events, CACHE_SET) if ev[6] == "warm_start"]
    assert len(warm) == 20 and len(set(warm)) == 20
    assert all(0.3 <= ttl <= 0.6 for ttl in warm)


def test_prewarm_writes_each_live_chunk_before_announcing_it(services):
    events, summary, _ = real_run(services, *SMALL, "workload.kind=live_video",
                                  "workload.segment_s=0.3", "duration_s=0.6",
                                  "clients.window_s=0.1", "strategy.prewarm=true")
    assert summary["chunks"] == 2 and summary["requests"] == 120
    assert summary["db_queries"] == 0 and summary["cache_hits"] == 120
    assert [ev[6] for ev in of(events, CACHE_SET)] == ["prewarm", "prewarm"]


def test_timeouts_retry_with_backoff(services):
    events, summary, _ = real_run(services, *SMALL, "clients.window_s=0",
                                  "datastore.connections=2", "datastore.service_ms=200",
                                  "clients.timeout_s=0.1", "clients.retries=2",
                                  "clients.backoff=full_jitter", "clients.backoff_base_ms=50",
                                  "real.pool_timeout_s=0.5")
    retries = of(events, RETRY)
    assert retries and summary["retries"] == len(retries)
    assert "timeout" in {ev[8] for ev in retries}
    assert all(0 <= ev[7] <= 50 * 2 ** (ev[6] - 1) for ev in retries)   # full jitter
    assert summary["attempts"] == 60 + len(retries)
