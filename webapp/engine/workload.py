"""The workload: which viewers ask for which key, and when.

hot_key: ``clients.count`` requests in all, for one key or a Zipf-popular set of keys (cached
together at t=0 when there are several, or with ``workload.warm_start``). live_video: a new chunk
every ``segment_s``; the producer publishes it (pre-warming first, if on) and every viewer asks
for it once. Arrival times come from their own random stream, so runs with and without a
mitigation see exactly the same arrivals. They are fed to the loop's ARRIVALS lane a block at a
time, so a million viewers never sit in the loop at once.
"""
import bisect
import itertools
import math
from random import Random

from webapp.engine.events import CHUNK_PUBLISHED, Event
from webapp.engine.lifecycle import Lifecycle, Request
from webapp.engine.loop import Loop
from webapp.engine.scenario import Clients

BLOCK = 1024                 # arrivals handed to the loop at a time

_STRIDES = (1_000_003, 104_729, 7_919, 7_907, 101, 3)


def arrival_offsets(c: Clients, rng: Random, horizon_s: float) -> list[float]:
    """Sorted arrival times (seconds from the start of the herd), all below ``horizon_s``."""
    if c.arrival == "ramp":
        step = c.window_s / c.count
        times = [i * step for i in range(c.count)]
    elif c.arrival == "burst":
        window = c.window_s
        rand = rng.random
        times = sorted([rand() * window for _ in range(c.count)])
    else:
        expo = rng.expovariate
        rate = c.rate_per_s
        times = list(itertools.accumulate(expo(rate) for _ in range(c.count)))
    if times and times[-1] >= horizon_s:
        times = times[:bisect.bisect_left(times, horizon_s)]
    return times


def viewer_order(count: int, n: int, shift: int) -> list[int]:
    """Which viewer makes the i-th arrival: a cheap fixed permutation (i * stride + shift) mod
    count, so the same viewers are not always first and no million-element shuffle is needed."""
    stride = next((s for s in _STRIDES if math.gcd(s, count) == 1), 1)
    return [(i * stride + shift) % count for i in range(n)]


def zipf_picker(keys: int, s: float, rng: Random):
    """A function returning a key index with probability proportional to 1 / rank**s."""
    cum = list(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, keys + 1)))
    total = cum[-1]
    rand = rng.random
    return lambda: bisect.bisect_right(cum, rand() * total)


class Workload:
    def __init__(self, lifecycle: Lifecycle, loop: Loop) -> None:
        s = lifecycle.scenario
        self.lifecycle = lifecycle
        self.loop = loop
        self.chunks = 0
        self.keys: list[str] = []            # the newest chunk, or every hot key
        self._rng = lifecycle.rng("arrivals")
        self._on_publish = lifecycle.hooks("on_publish")
        self._times: list[float] = []
        self._viewers: list[int] = []
        self._keys_of: list[str] = []
        self._next = 0
        if s.workload.kind == "live_video":
            n_chunks = math.ceil(s.duration_s / s.workload.segment_s - 1e-9)
            for c in range(n_chunks):
                loop.later(c * s.workload.segment_s, self._publish_chunk, c)
        else:
            self._start_hot_key()

    def newest_key(self) -> str:
        """The key an injected viewer asks for: the newest chunk, or the most popular key."""
        return self.keys[0] if self.keys else "chunk-0"

    def _start_hot_key(self) -> None:
        s = self.lifecycle.scenario
        w = s.workload
        self.chunks = 1
        self.keys = [f"key-{i}" for i in range(w.keys)]
        if w.keys > 1 or w.warm_start:      # written together at t=0, so they expire together
            delta = s.datastore.service_ms / 1000.0
            for key in self.keys:
                self.lifecycle.cache_put(0.0, key, "warm_start", delta)
        times = arrival_offsets(s.clients, self._rng, s.duration_s)
        if w.keys > 1:
            pick = zipf_picker(w.keys, w.zipf_s, self._rng)
            keys = self.keys
            keys_of = [keys[pick()] for _ in times]
        else:
            keys_of = [self.keys[0]] * len(times)
        self._begin(times, viewer_order(s.clients.count, len(times), 0), keys_of)

    def _publish_chunk(self, t: float, chunk: int) -> None:
        s = self.lifecycle.scenario
        key = f"chunk-{chunk}"
        self.chunks = chunk + 1
        self.keys = [key]
        for hook in self._on_publish:
            hook(t, key)
        self.lifecycle.recorder.system(Event((t, CHUNK_PUBLISHED, None, None, None, key, chunk)))
        horizon = min(s.workload.segment_s, s.duration_s - t)
        offsets = arrival_offsets(s.clients, self._rng, horizon)
        self._begin([t + x for x in offsets], viewer_order(s.clients.count, len(offsets), chunk),
                    [key] * len(offsets))

    def _begin(self, times: list[float], viewers: list[int], keys: list[str]) -> None:
        """A new herd replaces whatever was left of the previous one."""
        self.loop.arrivals.entries.clear()
        self._times, self._viewers, self._keys_of = times, viewers, keys
        self._next = 0
        self.loop.arrivals.refill = self._feed
        self._feed()

    def _feed(self) -> None:
        """Hand the loop's ARRIVALS lane the next block of arrivals."""
        i, n = self._next, min(self._next + BLOCK, len(self._times))
        self.loop.arrivals.entries.extend(zip(self._times[i:n], self._viewers[i:n],
                                              self._keys_of[i:n]))
        self._next = n
        if n == len(self._times):
            self.loop.arrivals.refill = None

    def arrive_injected(self, t: float, req: Request) -> None:
        """An injected viewer asks, on arrival, for the newest chunk or the hottest key."""
        req.key = self.newest_key()
        self.lifecycle.arrive(t, req)
