"""The event loop: a virtual clock, lanes of pending work, and an explicit order for ties.

SimPy keeps one heap of ``(time, priority, sequence, event)``. This loop keeps that heap for
work due at arbitrary times (the *timers* lane) and adds FIFO lanes for the kinds of work that
are born in time order -- a cache lookup finishes a constant time after its arrival, so lookups
are due in the order they were made -- which need no heap: a million lookups cost a million
appends, not a million heap pushes. A periodic lane takes the samples.

Every step fires the earliest entry of all lanes. **Ties** are broken by rank, SimPy's priority:
at equal times the lane with the lower rank goes first, and within a lane the entry made first
(SimPy's sequence number). The lanes, by rank:

    TIMERS   = 0   the heap, any ``fn(t, *args)``: datastore completions, polls, retries, chunk
                   publications, a server's death
    ARRIVALS = 1   the workload's new requests            handler(t, viewer, key)
    LOOKUPS  = 2   cache lookups finishing                 handler(t, request, attempt, server)
    TIMEOUTS = 3   clients giving up                       handler(t, request, attempt)
    SAMPLES  = 4   every sample interval, after everything else at the same instant, so a sample
                   counts what happened at its own time

(Future inputs at virtual time, issue 11, will be one more lane with its own rank.)

A FIFO lane has one handler; an entry is ``[t, *args]`` and firing it calls ``handler(*entry)``.
Its producer appends entries in time order. A timeout can be cancelled (``cancel``: asyncio's
``TimerHandle.cancel``): it is dropped when it reaches the head, takes no step and does not keep
the run alive. So can a timer made with ``timer`` (``cancel_timer``), for waits that usually end
early (a lock waiter's timeout when it is woken first). ``refill``, if set, is called when a lane
runs dry, so a producer can hand out a long sequence (a million arrivals) a block at a time.

Samples go on while any other work is pending, and otherwise up to ``samples_until``; the run
finishes when no lane has work left, with one final sample unless the last one already saw
every step. A step is one fired entry (a sample too); the count is the summary's ``events``.
With ``max_steps`` the run also finishes once it has taken that many steps and work is still
left: it is ``truncated``, and it too ends with a final sample.

Most steps of a big run are arrivals and lookups, so the loop has one fast path: once one of
those two is the earliest, it keeps merging just those two lanes for as long as their heads are
earlier than the *horizon* -- the next timer, timeout or sample -- and anything scheduled
meanwhile (``later``, ``push_timeout``) lowers the horizon. The order of steps is exactly the
same as without it.
"""
import heapq
import itertools
import math
from collections import deque
from typing import Any, Callable

INF = math.inf
TIMERS, ARRIVALS, LOOKUPS, TIMEOUTS, SAMPLES = range(5)
_TIE = 1e-9          # the last sample within this of samples_until is still taken


class Lane:
    """A FIFO lane: ``entries`` in time order, each fired as ``handler(*entry)``."""

    __slots__ = ("entries", "handler", "refill")

    def __init__(self) -> None:
        self.entries: deque[list | tuple] = deque()
        self.handler: Callable[..., None] = _unset
        self.refill: Callable[[], None] | None = None


def _unset(*entry: Any) -> None:
    raise RuntimeError("a lane fired before its handler was set")


def cancel(entry: list) -> None:
    """Cancel a TIMEOUTS entry (made as a list): it will be dropped without firing."""
    entry[1] = None


def cancel_timer(handle: list) -> None:
    """Cancel a timer made with ``Loop.timer``: it will be dropped without firing."""
    handle[0] = None


class Loop:
    """``on_sample(t)`` takes each sample; set it and the lanes' handlers before ``run``."""

    def __init__(self, sample_every_s: float, samples_until: float,
                 max_steps: int | None = None) -> None:
        self.now = 0.0
        self.steps = 0
        self.max_steps = max_steps
        self.finished = False
        self.truncated = False
        self.timers: list[tuple] = []                   # heap of (t, seq, fn, args),
        # or (t, seq, None, [fn, args]) for a cancellable one (fn None once cancelled)
        self._seq = itertools.count()
        self.arrivals = Lane()                          # rank ARRIVALS
        self.lookups = Lane()                           # rank LOOKUPS
        self.timeouts = Lane()                          # rank TIMEOUTS
        self.horizon = INF                              # see the fast path in run()
        self.on_sample: Callable[[float], None] = lambda t: None
        self._sample_every = sample_every_s
        self._samples_until = samples_until
        self._samples_taken = 0
        self._steps_at_sample = 0
        self.last_event_t = 0.0

    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(t, *args)`` at time ``t`` (the TIMERS lane)."""
        heapq.heappush(self.timers, (t, next(self._seq), fn, args))
        if t < self.horizon:
            self.horizon = t

    def timer(self, t: float, fn: Callable[..., None], *args: Any) -> list:
        """``later``, cancellable: returns the handle for ``cancel_timer``."""
        handle = [fn, args]
        heapq.heappush(self.timers, (t, next(self._seq), None, handle))
        if t < self.horizon:
            self.horizon = t
        return handle

    def push_timeout(self, entry: list) -> None:
        """Append ``[t, request, attempt]`` to the TIMEOUTS lane (``cancel``-able)."""
        self.timeouts.entries.append(entry)
        if entry[0] < self.horizon:
            self.horizon = entry[0]

    def run(self, until: float, max_steps: int | None) -> None:
        """Fire entries in order while their time is at most ``until``, for at most
        ``max_steps`` steps (None: no limit); mark the run finished when no work is left."""
        timers = self.timers
        arrivals, lookups, timeouts = (self.arrivals.entries, self.lookups.entries,
                                       self.timeouts.entries)
        on_arrival, on_lookup, on_timeout = (self.arrivals.handler, self.lookups.handler,
                                             self.timeouts.handler)
        refill_arrivals = self.arrivals.refill
        heappop = heapq.heappop
        every = self._sample_every
        next_sample = (self._samples_taken + 1) * every
        budget = -1 if max_steps is None else max_steps
        if self.max_steps is not None:
            left = max(0, self.max_steps - self.steps)
            budget = left if budget < 0 else min(budget, left)
        steps = 0
        last_t = -INF
        while steps != budget:
            # The earliest entry. Lanes are checked in rank order, and a strict < keeps the
            # lower rank on a tie.
            while timers and timers[0][2] is None and timers[0][3][0] is None:
                heappop(timers)                          # a cancelled timer
            t = timers[0][0] if timers else INF
            lane = TIMERS
            if arrivals and arrivals[0][0] < t:
                t = arrivals[0][0]
                lane = ARRIVALS
            if lookups and lookups[0][0] < t:
                t = lookups[0][0]
                lane = LOOKUPS
            while timeouts:
                head = timeouts[0]
                if head[1] is None:
                    timeouts.popleft()                   # cancelled
                    continue
                if head[0] < t:
                    t = head[0]
                    lane = TIMEOUTS
                break
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
            if lane == ARRIVALS or lane == LOOKUPS:
                # The fast path: merge arrivals and lookups while they come before the horizon.
                self.horizon = min(timers[0][0] if timers else INF,
                                   timeouts[0][0] if timeouts else INF, next_sample)
                while True:
                    steps += 1
                    if lane == ARRIVALS:
                        entry = arrivals.popleft()
                        if not arrivals and refill_arrivals is not None:
                            self.arrivals.refill()
                            refill_arrivals = self.arrivals.refill
                        on_arrival(*entry)
                    else:
                        on_lookup(*lookups.popleft())
                    last_t = t
                    if steps == budget:
                        break
                    t = arrivals[0][0] if arrivals else INF
                    lane = ARRIVALS
                    if lookups and lookups[0][0] < t:    # a tie goes to the arrival
                        t = lookups[0][0]
                        lane = LOOKUPS
                    if t >= self.horizon or t > until:
                        break
                continue
            steps += 1
            if lane == TIMEOUTS:
                on_timeout(*timeouts.popleft())
            else:
                _, _, fn, args = heappop(timers)
                if fn is None:                           # a cancellable timer
                    fn, args = args
                fn(t, *args)
                refill_arrivals = self.arrivals.refill   # a timer may start a new herd
            last_t = t
        self.steps += steps
        if last_t > self.last_event_t:
            self.last_event_t = last_t
        if last_t > self.now:
            self.now = last_t
        if self.max_steps is not None and self.steps >= self.max_steps and not self.finished:
            self.truncated = self._pending()      # else the run ended exactly at the limit
            self._finish(self.steps, last_t)

    def close(self) -> None:
        """Drop all pending work. A timeout entry and its request point at each other, so
        each is cancelled first."""
        for entry in self.timeouts.entries:
            cancel(entry)
        for lane in (self.arrivals, self.lookups, self.timeouts):
            lane.entries.clear()
        self.timers.clear()

    def _pending(self) -> bool:
        """Would another step fire? (A cancelled timeout or timer would not.)"""
        timeouts = self.timeouts.entries
        while timeouts and timeouts[0][1] is None:
            timeouts.popleft()
        timers = self.timers
        while timers and timers[0][2] is None and timers[0][3][0] is None:
            heapq.heappop(timers)
        next_sample = (self._samples_taken + 1) * self._sample_every
        return bool(self.timers or self.arrivals.entries or self.lookups.entries or timeouts
                    or next_sample <= self._samples_until + _TIE)

    def _finish(self, steps: int, last_t: float) -> None:
        """No work is left: take a final sample unless the last one already saw every step."""
        if last_t > self.last_event_t:
            self.last_event_t = last_t
        if steps > self._steps_at_sample:
            self.now = self.last_event_t
            self.on_sample(self.last_event_t)
        self.finished = True
