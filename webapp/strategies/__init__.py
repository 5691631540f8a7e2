"""Mitigations, one small module each; the engine looks coalescing strategies up by name.

Coalescing (``strategy.coalesce``): none.py, lock.py, promise.py, distributed.py.
Other mitigations: stale_while_revalidate.py, early_refresh.py (XFetch), ttl_jitter.py,
prewarm.py, backoff.py.
"""
from webapp.strategies.base import Coalescing
from webapp.strategies.distributed import DistributedCoalescing
from webapp.strategies.lock import LockCoalescing
from webapp.strategies.none import NoCoalescing
from webapp.strategies.promise import PromiseCoalescing

COALESCING: dict[str, type[Coalescing]] = {
    cls.name: cls
    for cls in (NoCoalescing, LockCoalescing, PromiseCoalescing, DistributedCoalescing)
}

__all__ = ["COALESCING", "Coalescing"]
