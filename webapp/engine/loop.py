"""The event loop: a virtual clock, lanes of pending work, and an explicit order for ties.

SimPy keeps one heap of ``(time, priority, sequence, event)``. This loop keeps that heap for
work due at arbitrary times (the *timers* lane) and adds FIFO lanes for work that is born in
time order -- a cache lookup finishes a constant time after its arrival, so lookups are due in
the order they were made -- which need no heap: a million arrivals cost a million appends, not a
million heap pushes. A periodic lane takes the samples.

Every step fires the earliest entry of all lanes. **Ties** are broken by rank, SimPy's priority:
at equal times the lane with the lower rank goes first, and within a lane the entry made first
(SimPy's sequence number). The ranks:

    TIMERS   = 0   the heap: datastore completions, polls, retries, chunk publications, kills
    ARRIVALS = 1   the workload's new requests
    LOOKUPS  = 2   cache lookups finishing (arrival + cache.lookup_ms)
    TIMEOUTS = 3   clients giving up (arrival + clients.timeout_s)
    SAMPLES  = 4   every sample_interval_s, after everything else at the same instant, so a
                   sample counts what happened at its own time

(Future inputs at virtual time, issue 11, will be one more lane with its own rank.)

An entry is a list ``[t, fn, args]``: the loop calls ``fn(t, *args)``. ``cancel(entry)`` defuses
it (asyncio's ``TimerHandle.cancel``): a cancelled entry is dropped when it reaches the head of
its lane, takes no step, and does not keep the run alive. Samples go on while any other work is
pending, and otherwise up to ``samples_until``; the run finishes when no lane has work left,
with one final sample unless the last sample already saw every step.
"""
import heapq
import itertools
import math
from collections import deque
from typing import Any, Callable

INF = math.inf
TIMERS, ARRIVALS, LOOKUPS, TIMEOUTS, SAMPLES = range(5)
LANE_NAMES = {TIMERS: "timers", ARRIVALS: "arrivals", LOOKUPS: "lookups",
              TIMEOUTS: "timeouts", SAMPLES: "samples"}
_TIE = 1e-9          # the last sample within this of samples_until is still taken


def cancel(entry: list) -> None:
    """Defuse a lane entry: it will be dropped without firing."""
    entry[1] = None


class Loop:
    """``on_sample(t)`` takes each sample; set it before the first ``run``."""

    def __init__(self, sample_every_s: float, samples_until: float) -> None:
        self.now = 0.0
        self.steps = 0
        self.finished = False
        self.timers: list[tuple] = []                   # heap of (t, seq, fn, args)
        self._seq = itertools.count()
        # FIFO lanes by rank (TIMERS and SAMPLES are built in).
        self.fifos: dict[int, deque] = {ARRIVALS: deque(), LOOKUPS: deque(), TIMEOUTS: deque()}
        self.on_sample: Callable[[float], None] = lambda t: None
        self._sample_every = sample_every_s
        self._samples_until = samples_until
        self._samples_taken = 0
        self._steps_at_sample = 0
        self.last_event_t = 0.0

    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(t, *args)`` at time ``t`` (the TIMERS lane)."""
        heapq.heappush(self.timers, (t, next(self._seq), fn, args))

    def push(self, rank: int, t: float, fn: Callable[..., None], *args: Any) -> list:
        """Append ``fn(t, *args)`` to a FIFO lane; ``t`` must not be earlier than the lane's
        last entry. Returns the entry (for ``cancel``)."""
        entry = [t, fn, args]
        self.fifos[rank].append(entry)
        return entry

    def run(self, until: float, max_steps: int | None) -> None:
        """Fire entries in order while their time is at most ``until``, for at most
        ``max_steps`` steps (None: no limit); mark the run finished when no work is left."""
        timers = self.timers
        arrivals, lookups, timeouts = (self.fifos[r] for r in (ARRIVALS, LOOKUPS, TIMEOUTS))
        fifos = (arrivals, lookups, timeouts)            # in rank order
        heappop = heapq.heappop
        every = self._sample_every
        next_sample = (self._samples_taken + 1) * every
        budget = -1 if max_steps is None else max_steps
        steps = 0
        last_t = -INF
        while steps != budget:
            # The earliest entry; a strict < keeps the lower rank on a tie.
            t = timers[0][0] if timers else INF
            first = None
            for lane in fifos:
                while lane:
                    head = lane[0]
                    if head[1] is not None:
                        if head[0] < t:
                            t = head[0]
                            first = lane
                        break
                    lane.popleft()                       # a cancelled entry
            if next_sample < t and (t < INF or next_sample <= self._samples_until + _TIE):
                if next_sample > until:
                    break
                steps += 1
                self.now = next_sample
                self._samples_taken += 1
                self._steps_at_sample = self.steps + steps
                self.on_sample(next_sample)
                next_sample = (self._samples_taken + 1) * every
                continue
            if t == INF:
                self._finish(self.steps + steps, last_t)
                break
            if t > until:
                break
            steps += 1
            self.now = t
            if first is None:
                _, _, fn, args = heappop(timers)
            else:
                _, fn, args = first.popleft()
            fn(t, *args)
            last_t = t
        self.steps += steps
        if last_t > self.last_event_t:
            self.last_event_t = last_t
        if last_t > self.now:
            self.now = last_t

    def _finish(self, steps: int, last_t: float) -> None:
        """No work is left: take a final sample unless the last one already saw every step."""
        if last_t > self.last_event_t:
            self.last_event_t = last_t
        if steps > self._steps_at_sample:
            self.now = self.last_event_t
            self.on_sample(self.last_event_t)
        self.finished = True
