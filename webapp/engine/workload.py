"""The workload: which viewers ask for which key, and when.

hot_key: ``clients.count`` requests in all, for one key or a Zipf-popular set of keys (cached
together at t=0 when there are several, or with ``workload.warm_start``; never with
``workload.cold_start``), and the mitigations told which keys, most popular first (pre-loading).
live_video: a new chunk every ``segment_s``; the producer publishes it (pre-warming first, if on)
and every viewer asks for it once -- from ``ask_early_s`` before it is published, if set: the
datastore answers "not found" until then. A trace (engine/trace.py) replaces the hot_key herd
with its own arrivals.

Each herd (the hot_key run, or one chunk) has its own random stream, so runs with and without a
mitigation see exactly the same arrivals. A herd's arrivals are made a block at a time, in time
order, as the loop's ARRIVALS lane runs dry: a million viewers are never all in memory, and
building a run costs nothing before its first step.
"""
import bisect
import itertools
import math
from random import Random
from typing import Callable

from webapp.engine.events import CHUNK_PUBLISHED, Event
from webapp.engine.lifecycle import Lifecycle
from webapp.engine.loop import Loop
from webapp.engine.scenario import Clients
from webapp.engine.trace import Trace

BLOCK = 1024                 # arrivals handed to the loop at a time

_STRIDES = (1_000_003, 104_729, 7_919, 7_907, 101, 3)


class Herd:
    """``clients.count`` viewers asking from ``start`` on, no later than ``start + horizon``.

    Arrival offsets: ramp, evenly ``window_s / count`` apart; poisson, exponential gaps at
    ``rate_per_s``; burst, uniform over ``window_s``, made in sorted order without sorting: the
    next arrival is the earliest of the k viewers still to come, and the earliest of k uniform
    times is ``1 - u ** (1/k)`` of the way through what is left of the window.

    Which viewer makes the i-th arrival is a cheap fixed permutation, ``(i * stride + shift) mod
    count``, so the same viewers are not always first and nothing needs shuffling.
    """

    def __init__(self, c: Clients, start: float, horizon: float, shift: int, rng: Random,
                 key: str | Callable[[], str]) -> None:
        """``key``: the one key every viewer asks for, or a function picking each one's."""
        self.c = c
        self.start = start
        self.end = start + horizon
        self.shift = shift
        self.stride = next((s for s in _STRIDES if math.gcd(s, c.count) == 1), 1)
        self.rng = rng
        self.key = key
        self.made = 0
        self.done = False
        self._gap = 1.0          # burst: the fraction of the window still ahead
        self._offset = 0.0       # poisson: the last offset

    def block(self, n: int) -> zip:
        """The next (at most ``n``) arrivals as ``(t, viewer, key)``, in time order."""
        c = self.c
        i0 = self.made
        count = min(n, c.count - i0)
        times: list[float] = []
        start, end = self.start, self.end
        if c.arrival == "ramp":
            step = c.window_s / c.count
            times = [start + i * step for i in range(i0, i0 + count)]
        elif c.arrival == "burst":
            rand, window, gap, append = self.rng.random, c.window_s, self._gap, times.append
            for left in range(c.count - i0, c.count - i0 - count, -1):
                gap *= rand() ** (1.0 / left)
                append(start + window * (1.0 - gap))
            self._gap = gap
        else:
            expo, rate, offset = self.rng.expovariate, c.rate_per_s, self._offset
            append = times.append
            for _ in range(count):
                offset += expo(rate)
                append(start + offset)
            self._offset = offset
        if times and times[-1] >= end:
            times = times[:bisect.bisect_left(times, end)]
            self.done = True
        n_made = len(times)
        self.made += n_made
        if self.made == c.count:
            self.done = True
        stride, shift, total = self.stride, self.shift, c.count
        first = i0 * stride + shift
        viewers = [v % total for v in range(first, first + n_made * stride, stride)]
        key = self.key
        keys = [key] * n_made if isinstance(key, str) else [key() for _ in range(n_made)]
        return zip(times, viewers, keys)


def zipf_picker(keys: list[str], s: float, rng: Random) -> Callable[[], str]:
    """A function returning a key with probability proportional to 1 / rank**s."""
    cum = list(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, len(keys) + 1)))
    total = cum[-1]
    rand = rng.random
    return lambda: keys[bisect.bisect_right(cum, rand() * total)]


class Replay:
    """A trace's arrivals, handed out a block at a time like a Herd's."""

    def __init__(self, trace: Trace) -> None:
        self.arrivals = trace.arrivals
        self.made = 0
        self.done = False

    def block(self, n: int) -> list[tuple[float, int, str]]:
        block = list(self.arrivals[self.made:self.made + n])
        self.made += len(block)
        self.done = self.made == len(self.arrivals)
        return block


class Workload:
    def __init__(self, lifecycle: Lifecycle, loop: Loop, trace: Trace | None = None) -> None:
        s = lifecycle.scenario
        self.lifecycle = lifecycle
        self.loop = loop
        self.chunks = 0
        self.keys: list[str] = []            # the newest chunk, or every hot key
        self._herd: Herd | Replay | None = None
        self._early = s.workload.ask_early_s if s.workload.kind == "live_video" else 0.0
        if self._early:
            lifecycle.published = self._published
        if trace is not None:
            self._replay(trace)
        elif s.workload.kind == "live_video":
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
        if (w.keys > 1 and not w.cold_start) or w.warm_start:
            self._warm(self.keys)
        for hook in self.lifecycle.on_start:
            hook(0.0, self.keys)
        key = zipf_picker(self.keys, w.zipf_s, self._stream("keys")) if w.keys > 1 \
            else self.keys[0]
        self._begin(Herd(s.clients, 0.0, s.duration_s, 0, self._stream("arrivals/0"), key))

    def _replay(self, trace: Trace) -> None:
        s = self.lifecycle.scenario
        self.chunks = 1
        self.keys = [trace.arrivals[0][2]]
        if s.workload.warm_start:
            self._warm(trace.keys())
        self._begin(Replay(trace))

    def _warm(self, keys: list[str]) -> None:
        """Cache ``keys`` together at t=0 (a deploy warmed them), so they expire together."""
        delta = self.lifecycle.scenario.datastore.service_ms / 1000.0
        for key in keys:
            self.lifecycle.cache_put(0.0, key, "warm_start", delta)

    def _publish_chunk(self, t: float, chunk: int) -> None:
        """Chunk ``chunk``'s viewers begin to ask; it is published now, or ``ask_early_s``
        later."""
        s = self.lifecycle.scenario
        key = f"chunk-{chunk}"
        self.chunks = chunk + 1
        self.keys = [key]
        if self._early:
            self.loop.later(t + self._early, self._announce, key, chunk)
        else:
            self._announce(t, key, chunk)
        horizon = min(s.workload.segment_s, s.duration_s - t)
        self._begin(Herd(s.clients, t, horizon, chunk, self._stream(f"arrivals/{chunk}"), key))

    def _announce(self, t: float, key: str, chunk: int) -> None:
        for hook in self.lifecycle.on_publish:       # the mitigations in force now
            hook(t, key)
        self.lifecycle.recorder.system(Event((t, CHUNK_PUBLISHED, None, None, None, key, chunk)))

    def _published(self, key: str, t: float) -> bool:
        """Does chunk ``key`` exist at ``t``? (Only while viewers may ask early.)"""
        chunk = int(key.rpartition("-")[2])
        return t >= chunk * self.lifecycle.scenario.workload.segment_s + self._early

    def _stream(self, name: str) -> Random:
        return Random(f"{self.lifecycle.scenario.seed}/{name}")

    def _begin(self, herd: Herd | Replay) -> None:
        """A new herd replaces whatever was left of the previous one."""
        self.loop.arrivals.entries.clear()
        self._herd = herd
        self.loop.arrivals.refill = self._feed
        self._feed()

    def _feed(self) -> None:
        """Hand the loop's ARRIVALS lane the next block of arrivals."""
        self.loop.arrivals.entries.extend(self._herd.block(BLOCK))
        if self._herd.done:
            self.loop.arrivals.refill = None
