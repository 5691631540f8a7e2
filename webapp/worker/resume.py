"""The state of a run at an instant, as events: what the page needs to draw that instant from scratch.

After a seek the page clears its picture and applies the first frame (``"resume": true``). That
frame carries, in time order (docs/protocol.md, "After a seek"):

- for every animated request still open (arrived, no ``respond`` yet): its events so far, with
  its lock polls beyond the last ``KEEP_POLLS`` left out (a waiter can poll thousands of times);
- the latest ``db_state``, ``sample``, ``chunk_published`` and ``db_slow`` (a slowed datastore),
  every ``server_down``;
- per key, the last ``cache_set`` and the last marker event;
- last, a ``sample`` of that very instant (``Simulation.peek``), unless the run took one there
  or it is 0 (a replay): the numbers beside the picture are those of the instant sought, not of
  the sample before it.

It is fed every event the worker skips while it re-runs the engine up to the seek target; its
size is bounded by the animated requests open at that instant, not by the run's length.
"""
from __future__ import annotations

from collections import deque
from typing import Any

KEEP_POLLS = 3
_LATEST = ("db_state", "sample", "chunk_published", "db_slow")
_PER_KEY = {"cache_set": "cache", "marker_wait": "marker", "marker_expired": "marker"}


class ResumeState:
    def __init__(self, max_open: int | None = None) -> None:
        # At most ``max_open`` open requests (the longest open forgotten first): a classroom keeps one
        # per room from the frames it sent, where a request whose end was trimmed never ends.
        self._max_open = max_open
        self._seq = 0
        self._open: dict[int, tuple[list[tuple[int, Any]], deque[tuple[int, Any]]]] = {}
        self._latest: dict[str, tuple[int, Any]] = {}
        self._per_key: dict[tuple[str, str], tuple[int, Any]] = {}
        self._down: list[tuple[int, Any]] = []

    def feed(self, events: list[Any]) -> None:
        """Take events in time order (engine tuples: t, kind, req, viewer, server, key, ...)."""
        open_, latest, per_key = self._open, self._latest, self._per_key
        seq = self._seq
        for ev in events:
            seq += 1
            kind, req = ev[1], ev[2]
            if kind == "respond":
                open_.pop(req, None)
                continue
            if req is not None and ev[3] is not None:
                entry = open_.get(req)
                if entry is None:
                    entry = open_[req] = ([], deque(maxlen=KEEP_POLLS))
                    if self._max_open is not None and len(open_) > self._max_open:
                        del open_[next(iter(open_))]
                if kind == "lock_poll":
                    entry[1].append((seq, ev))
                else:
                    entry[0].append((seq, ev))
            if kind in _LATEST:
                latest[kind] = (seq, ev)
            elif kind == "server_down":
                self._down.append((seq, ev))
            slot = _PER_KEY.get(kind)
            if slot is not None and ev[5] is not None:
                per_key[(slot, ev[5])] = (seq, ev)
        self._seq = seq

    def at(self, sample: Any) -> None:
        """The sample of the instant sought (``Simulation.peek``): kept as the latest unless the
        run's own sample at that instant was fed already, or the instant is 0 (a seek to 0 is a
        replay: its stream is the run's own, even when requests arrive at 0 itself)."""
        latest = self._latest.get("sample")
        if sample[0] > 0 and (latest is None or latest[1][0] != sample[0]):
            self.feed([sample])

    def events(self) -> list[Any]:
        """The kept events in the order the engine produced them."""
        kept: list[tuple[int, Any]] = []
        for events, polls in self._open.values():
            kept.extend(events)
            kept.extend(polls)
        kept.extend(self._latest.values())
        kept.extend(self._per_key.values())
        kept.extend(self._down)
        unique = {seq: ev for seq, ev in kept}   # a marker event may be kept twice
        return [unique[seq] for seq in sorted(unique)]
