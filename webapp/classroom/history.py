"""The room's run so far: what a page that comes back mid-run (a reload, a reconnect, a late join)
needs to draw the class's run at the class's instant -- its charts from the start, and the
requests in flight now.

A follower draws from the run's events, which come only in frames; one that arrives late has none
of the earlier ones. So the room keeps, per side (A, and B in compare mode):

- the run's ``sample`` events, thinned to at most ``LIMIT`` (when full, every other one is dropped
  and from then on only every other new one is kept, so the kept ones stay evenly spread over the
  run however long it is): the charts from the start;
- what is in flight now, from every frame it sent: the events so far of each animated request
  still open, and the latest state of the datastore, the cache's keys and the servers
  (``webapp.worker.resume.ResumeState``, the same record a seek's first frame is made from).

Why a snapshot from the server, not a window of recent events replayed by the page: a request can
be in flight for many seconds (queued behind a slow datastore, polling a lock, backing off before a
retry), so any window short enough to be cheap misses some of them, and the page would draw fewer
requests than the run has. The snapshot is exact, costs the room one pass over what it already
sends, and is bounded by the run's animated requests (the room's dot budget; at most
``max_open`` per side, the lab's animation cap), not by the run's length.

``catch_up`` hands both over as one ``resume`` frame at the run's latest instant, the frame a page
already knows from a seek (``Classroom.claim`` and ``join``; ``static/js/classroom/room.js``,
``catchUp``). Counters need no history: every sample carries the run's exact totals.
"""
from __future__ import annotations

import heapq
from typing import Any

from webapp.engine.events import SAMPLE
from webapp.worker.resume import ResumeState

LIMIT = 200


class _Thinned:
    """One side's samples: at most ``LIMIT``, evenly spread."""

    def __init__(self) -> None:
        self.kept: list[Any] = []
        self.stride = 1
        self.seen = 0

    def add(self, sample: Any) -> None:
        if self.kept and self.kept[-1][0] == sample[0]:
            return   # a resume frame repeats the sample at the seek's instant
        if self.seen % self.stride == 0:
            self.kept.append(sample)
            if len(self.kept) > LIMIT:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.seen += 1

    def truncate(self, t: float) -> None:
        self.kept = [s for s in self.kept if s[0] <= t]


class RunHistory:
    """The room's current run, per side: its samples, thinned, and what is in flight at ``t``."""

    def __init__(self, max_open: int) -> None:
        self.max_open = max_open
        self.clear()

    def clear(self) -> None:
        self.sides = (_Thinned(), _Thinned())
        self._forget_now()
        self.t: float | None = None

    def _forget_now(self) -> None:
        self.now = (ResumeState(self.max_open), ResumeState(self.max_open))

    def frame(self, data: dict[str, Any]) -> None:
        """A frame the room sent: keep its samples and what it started or ended, move the instant.
        A ``resume`` frame (after a seek) carries the whole state at its instant: start afresh."""
        if data.get("resume"):
            self._forget_now()
        for side, now, key in zip(self.sides, self.now, ("events", "events_b")):
            events = data.get(key) or ()
            for ev in events:
                if ev[1] == SAMPLE:
                    side.add(ev)
            now.feed(events)
        self.t = data.get("t", self.t)

    def state(self, data: dict[str, Any]) -> None:
        """A ``state`` the room sent: a seek replays from its instant, so later samples go."""
        if data.get("action") == "seek" and data.get("t") is not None:
            for side in self.sides:
                side.truncate(data["t"])
        if data.get("t") is not None:
            self.t = data["t"]

    def catch_up(self, run_id: str, samples: bool = True) -> dict[str, Any] | None:
        """One ``resume`` frame at the run's latest instant (None before any frame): what is in
        flight, and with ``samples`` every kept sample too (the charts from the start)."""
        if self.t is None:
            return None
        a, b = (_events(side, now, samples) for side, now in zip(self.sides, self.now))
        return {"run_id": run_id, "t": self.t, "resume": True, "events": a, **({"events_b": b} if b else {})}


def _events(side: _Thinned, now: ResumeState, samples: bool) -> list[Any]:
    """A side's catch-up in time order: the state now, after the kept samples (the latest sample
    only once, if the thinning kept it too)."""
    current = now.events()
    if not samples:
        return current
    last = side.kept[-1][0] if side.kept else None
    current = [ev for ev in current if not (ev[1] == SAMPLE and ev[0] == last)]
    return list(heapq.merge(current, side.kept, key=lambda ev: ev[0]))
