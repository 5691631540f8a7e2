"""The shared cache on Redis: leased claims with compare-and-delete, values read as entries."""
from __future__ import annotations

import time
import uuid

import pytest
import redis

from webapp.real.rediscache import RedisCache

pytestmark = pytest.mark.real


@pytest.fixture
def cache(services):
    client = redis.Redis.from_url(services.redis_url())
    prefix = f"test:{uuid.uuid4().hex}:"
    yield RedisCache(client, prefix)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_claim_is_exclusive_until_released_by_its_holder(cache):
    assert cache.claim("marker:k", "a", 5.0) == (True, None)
    assert cache.claim("marker:k", "b", 5.0) == (False, "a")
    assert cache.release("marker:k", "b") is False       # not b's to drop
    assert cache.claim("marker:k", "b", 5.0) == (False, "a")
    assert cache.release("marker:k", "a") is True
    assert cache.claim("marker:k", "b", 5.0) == (True, None)   # a released: no takeover


def test_a_lease_that_runs_out_is_taken_over_and_its_holder_named(cache):
    assert cache.claim("lock:k", "dead", 0.05)[0]
    time.sleep(0.08)
    assert cache.claim("lock:k", "next", 5.0) == (True, "dead")
    assert cache.release("lock:k", "dead") is False      # the late holder cannot drop it
    assert cache.claim("lock:k", "other", 5.0) == (False, "next")
    assert cache.r.pttl(cache.prefix + "lock:k") > 4000  # SET ... PX: the lease is Redis's


def test_values_keep_their_expiry_and_are_the_same_entry_until_rewritten(cache):
    before = time.time()
    assert cache.get("k")[0] is None
    written = cache.put("k", 12.5, 0.05, "v1", keep_s=30.0)
    first, read = cache.get("k")
    # Redis says when it wrote and read (its TIME, the wall clock of this machine).
    assert before - 0.01 <= written <= read <= time.time() + 0.01
    assert (first.expires, first.delta) == (12.5, 0.05)
    assert cache.get("k")[0] is first                     # identity: stale-while-revalidate
    cache.put("k", 20.0, 0.07, "v2", keep_s=30.0)
    assert cache.get("k")[0] is not first and cache.get("k")[0].expires == 20.0
    assert 29_000 < cache.r.pttl(cache.prefix + "k") <= 30_000


def test_first_is_true_once_per_run(cache):
    assert cache.first("fault:leader_dies") is True
    assert cache.first("fault:leader_dies") is False
