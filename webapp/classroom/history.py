"""The room's run so far, in a few hundred samples: what a console or presenter that comes back
mid-run (a reload, a reconnect) needs to draw the class's charts from the start, and where the
run is now.

A follower draws its charts from the run's ``sample`` events, which come only in frames; one that
arrives late has none of the earlier ones. The room keeps them, thinned to at most ``LIMIT`` per
side (when full, every other one is dropped and from then on only every other new one is kept,
so the kept ones stay evenly spread over the run however long it is), and hands them over as one
frame of samples after ``started`` (``Classroom.claim``; ``static/js/classroom/room.js``,
``catchUp``). Bounded: ``LIMIT`` samples per side per room. Counters need none of this: every
sample carries the run's exact totals.
"""
from __future__ import annotations

from typing import Any

from webapp.engine.events import SAMPLE

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


class SampleHistory:
    """The samples of the room's current run (side A, and B in compare mode) and its latest instant."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.sides = (_Thinned(), _Thinned())
        self.t: float | None = None

    def frame(self, data: dict[str, Any]) -> None:
        """A frame the room sent: keep its samples, move the instant."""
        for side, key in zip(self.sides, ("events", "events_b")):
            for ev in data.get(key) or ():
                if ev[1] == SAMPLE:
                    side.add(ev)
        self.t = data.get("t", self.t)

    def state(self, data: dict[str, Any]) -> None:
        """A ``state`` the room sent: a seek replays from its instant, so later samples go."""
        if data.get("action") == "seek" and data.get("t") is not None:
            for side in self.sides:
                side.truncate(data["t"])
        if data.get("t") is not None:
            self.t = data["t"]

    def catch_up(self, run_id: str) -> dict[str, Any] | None:
        """One frame with every kept sample, at the run's latest instant (None before any frame)."""
        if self.t is None:
            return None
        a, b = (list(side.kept) for side in self.sides)
        return {"run_id": run_id, "t": self.t, "events": a, **({"events_b": b} if b else {})}
