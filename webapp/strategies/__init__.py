"""Mitigations, one small module each, acting on a run only through ``webapp.engine.ports``.

Coalescing (``strategy.coalesce`` picks one by name): none.py, lock.py, notify.py (a lock whose
waiters are woken instead of polling), promise.py, distributed.py (singleflight.py is the group
primitive promise and distributed share).
The others, each switched on by its own key: stale_while_revalidate.py, early_refresh.py
(XFetch), ttl_jitter.py, prewarm.py, backoff.py, retry_budget.py; and lessons 12-14's:
traffic_shift.py, preload.py (a cold cache), local_cache.py, replicate.py (a hot shard),
negative_cache.py, hit_for_pass.py (both marks of answer_mark.py), wait_timeout.py (coalescing
gone wrong). (Load shedding,
``datastore.queue_limit``, is a switch too, but the datastore honours it itself: a bounded wait
for a connection, as a pool's ``max_waiting`` is.)
"""
from webapp.strategies.backoff import Backoff
from webapp.strategies.distributed import DistributedCoalescing
from webapp.strategies.early_refresh import EarlyRefresh
from webapp.strategies.hit_for_pass import HitForPass
from webapp.strategies.local_cache import LocalCache
from webapp.strategies.lock import LockCoalescing
from webapp.strategies.negative_cache import NegativeCache
from webapp.strategies.none import NoCoalescing
from webapp.strategies.notify import NotifyingLock
from webapp.strategies.preload import Preload
from webapp.strategies.prewarm import Prewarm
from webapp.strategies.promise import PromiseCoalescing
from webapp.strategies.replicate import Replicate
from webapp.strategies.retry_budget import RetryBudget
from webapp.strategies.stale_while_revalidate import StaleWhileRevalidate
from webapp.strategies.traffic_shift import TrafficShift
from webapp.strategies.ttl_jitter import TtlJitter
from webapp.strategies.wait_timeout import WaitTimeout

COALESCING: dict[str, type] = {
    cls.name: cls
    for cls in (NoCoalescing, LockCoalescing, NotifyingLock, PromiseCoalescing,
                DistributedCoalescing)
}
# Applied in this order where two act on the same hook.
SWITCHED: tuple[type, ...] = (StaleWhileRevalidate, EarlyRefresh, TtlJitter, Prewarm, Backoff,
                              RetryBudget, TrafficShift, Preload, LocalCache, Replicate,
                              NegativeCache, HitForPass, WaitTimeout)

__all__ = ["COALESCING", "SWITCHED"]
