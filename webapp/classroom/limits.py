"""Small, bounded rate limiters, driven by an injected clock so tests never sleep."""
from __future__ import annotations

from collections import OrderedDict, deque
from typing import Callable, Hashable

Clock = Callable[[], float]


class SlidingWindow:
    """At most ``limit`` events per ``window_s`` for each key.

    Keys (addresses, members) are kept in least-recently-used order and capped at ``max_keys``, so a
    flood of new addresses cannot grow memory without bound; evicting the oldest key only forgets an
    address that has been quiet the longest.
    """

    def __init__(self, limit: int, window_s: float, clock: Clock, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def allow(self, key: Hashable) -> bool:
        """Record one event for ``key`` and say whether it is within the limit."""
        now = self.clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        self._hits[key] = hits
        if len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def blocked(self, key: Hashable) -> bool:
        """Whether ``key`` has used its allowance, without recording anything."""
        now = self.clock()
        hits = self._hits.get(key)
        return bool(hits) and sum(1 for t in hits if t > now - self.window_s) >= self.limit
