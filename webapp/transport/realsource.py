"""A real run as an event source: the recording a real-run worker makes, read by the pacer.

A real run cannot be re-run (it happened once, against real services), so the web process keeps
what the worker sent (``Recording``) and the pacer reads it through ``RealSource``, the same
``EventSource`` interface a simulated run's ``WorkerSource`` offers: playback follows the
recording's frontier while the run is still going on, and a seek replays the recording from
any instant, with the state at that instant computed from it (``worker/resume.py``).

- ``Recording`` reads the worker's messages *eagerly*, in a background task of its own every
  ``POLL_S``, whatever playback does (paused, behind, or its task gone for a while): a reader that
  fell behind would stall the worker's socket. The worker never waits for it anyway (it queues
  what it sends), so the real run is never distorted by the web process. Chunks stay as the
  worker pickled them (bytes, compact) and are decoded when played; a recording is bounded by
  the worker (``MAX_RECORDING_BYTES``) and checked again here.
- ``RealSource`` is one playback's cursor over a recording; a replay (seek of an ended run)
  opens a new one on the same recording.

Side B (beside the simulation) comes after the real run ends: until then the frontier stays at
minus infinity, so both sides start playing together, in lockstep, once B is there.
"""
from __future__ import annotations

import math
import pickle
from bisect import bisect_left, bisect_right
from operator import itemgetter
from typing import Any, Callable

from webapp.real import worker as real_worker
from webapp.transport.source import Events
from webapp.worker.channel import Channel, ChannelClosed
from webapp.worker.resume import ResumeState

POLL_S = 0.02
WAITING, STARTING, RECORDING, SIMULATING, COMPLETE, FAILED = (
    "waiting", "starting", "recording", "simulating", "complete", "failed")
_T = itemgetter(0)


class Recording:
    """Everything one real-run worker sent, in order, until it is complete (or failed)."""

    def __init__(self, request: dict[str, Any], beside: bool) -> None:
        self.request = request
        self.beside = beside
        self.phase = STARTING
        self.info: dict[str, Any] = {}                  # the worker's "started"
        self.notices: list[str] = []                    # and its "notice"s
        self.chunks: tuple[list[tuple[float, bytes]], list[tuple[float, bytes]]] = ([], [])
        self.frontiers = [-math.inf, -math.inf if beside else math.inf]
        self.end_s: float | None = None
        self.summaries: list[dict[str, Any]] | None = None
        self.truncated = False
        self.failed: str | None = None
        self.failed_key: str | None = None
        self.bytes = 0
        self.dropped = False
        self._proc: Any = None
        self._channel: Channel | None = None

    # ----- the recorder task -------------------------------------------------------------------
    def launch(self) -> None:
        """Start the worker (the caller then runs ``record`` in a background task)."""
        self._proc, sock = real_worker.spawn(self.request)
        self._channel = Channel(sock)

    def record(self, sleep: Callable[[float], None], on_end: Callable[[], None]) -> None:
        """Read the worker until the run is complete, failed or stopped; then reap it."""
        try:
            while self.phase not in (COMPLETE, FAILED):
                self.poll()
                sleep(POLL_S)
        finally:
            self._close()
            on_end()

    def poll(self) -> None:
        """Take what the worker sent (non-blocking)."""
        channel = self._channel
        if channel is None or self.phase in (COMPLETE, FAILED):
            return
        try:
            bodies = channel.receive()
        except ChannelClosed:
            bodies = []
            self._fail("The real run stopped unexpectedly (its worker process ended).")
        for body in bodies:
            self._handle(pickle.loads(body))
        if self.bytes > real_worker.MAX_RECORDING_BYTES * 2:    # a worker out of its bounds
            self._fail("The real run sent more than this server keeps of a run; it was "
                       "stopped.")

    def stop(self) -> None:
        """Give up on the run (its worker is told to stop, and cleans up after itself)."""
        if self.phase not in (COMPLETE, FAILED):
            self._fail("The real run was stopped before it ended.")

    def drop(self) -> None:
        """Forget the recorded events (the server keeps only so many recordings)."""
        self.stop()
        self.dropped = True
        self.chunks = ([], [])
        self.bytes = 0

    @property
    def complete(self) -> bool:
        return self.phase == COMPLETE

    @property
    def playable(self) -> bool:
        """Playback can begin: events of the real run are here (beside: both sides, whole)."""
        if self.beside:
            return self.complete
        return self.complete or self.frontiers[0] >= 0

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "events":
            _, side, frontier, blob = message
            self.chunks[side].append((frontier, blob))
            self.bytes += len(blob)
            self.frontiers[side] = max(self.frontiers[side], frontier)
            self.phase = RECORDING if side == 0 else SIMULATING
        elif kind == "started":          # the app servers start now; events follow
            self.info = message[1]
            self.phase = STARTING
        elif kind == "waiting":
            self.phase = WAITING
        elif kind == "notice":           # the planned herd cannot be made here (fleet.py)
            self.notices.append(str(message[1]))
        elif kind == "simulating":
            self.phase = SIMULATING
            self.frontiers[0] = math.inf
        elif kind == "done":
            _, end_s, summaries, truncated = message
            self.end_s = float(end_s)
            self.summaries = [s for s in summaries if s is not None]
            self.truncated = bool(truncated)
            self.frontiers = [math.inf, math.inf]
            self.phase = COMPLETE
        elif kind == "error":
            self._fail(str(message[2]), message[1])

    def _fail(self, message: str, key: str | None = None) -> None:
        if self.failed is None:
            self.failed, self.failed_key = message, key
        self.phase = FAILED

    def _close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None:
            real_worker.end_process(self._proc, finished=self.phase == COMPLETE)
            self._proc = None


class RealSource:
    """One playback of a ``Recording`` (``webapp.transport.source.EventSource``)."""

    def __init__(self, recording: Recording) -> None:
        self.rec = recording
        self.compare = recording.beside
        self._seek_to: float | None = None
        self._resume: tuple[Events, Events | None] | None = None
        self._end_told: float | None = None
        self._next = [0, 0]                       # the next chunk to open, per side
        self._buf: list[list[Any]] = [[], []]     # the chunk being played, per side
        self._i = [0, 0]                          # the next event in it

    # ----- EventSource ----------------------------------------------------------------------
    @property
    def frontier(self) -> float:
        return min(self.rec.frontiers) if self.compare else self.rec.frontiers[0]

    @property
    def end_s(self) -> float | None:
        return self.rec.end_s

    @property
    def summaries(self) -> list[dict[str, Any]] | None:
        return self.rec.summaries if self.rec.complete else None

    @property
    def done(self) -> bool:
        return self.rec.complete and self._seek_to is None and all(
            self._next[side] >= len(self.rec.chunks[side]) and self._i[side] >= len(self._buf[side])
            for side in self._sides())

    def take(self, until_t: float) -> tuple[Events, Events | None]:
        if self._seek_to is not None:
            return [], [] if self.compare else None
        out = [self._take(side, until_t) for side in self._sides()]
        return out[0], out[1] if self.compare else None

    def seek(self, t: float) -> None:
        self._seek_to = t
        self._resume = None

    def resume(self) -> tuple[Events, Events | None] | None:
        t = self._seek_to
        if t is None or not (self.rec.complete or self.frontier >= t):
            return None
        self._seek_to = None
        bundles = [self._replay_to(side, t) for side in self._sides()]
        return bundles[0], bundles[1] if self.compare else None

    # ----- for the run's task ------------------------------------------------------------
    @property
    def failed(self) -> str | None:
        return self.rec.failed

    @property
    def computing(self) -> bool:
        return False              # nothing can be added to a real run (no taps)

    def poll(self) -> list[tuple[Any, ...]]:
        """Notices for the run: the end, once known."""
        end = self.rec.end_s
        if end is not None and end != self._end_told:
            self._end_told = end
            return [("end", end)]
        return []

    def inject(self, token: Any) -> None:
        raise RuntimeError("a real run takes no taps")

    def set_horizon(self, t: float) -> None:
        """A recording is whatever it is: nothing to hold back."""

    def close(self) -> None:
        """The recording outlives one playback (a seek replays it): nothing to close here."""

    # ----- internals -------------------------------------------------------------------------
    def _sides(self) -> range:
        return range(2 if self.compare else 1)

    def _take(self, side: int, until_t: float) -> list[Any]:
        out: list[Any] = []
        chunks = self.rec.chunks[side]
        while True:
            buf, i = self._buf[side], self._i[side]
            j = bisect_right(buf, until_t, lo=i, key=_T)
            out.extend(buf[i:j])
            self._i[side] = j
            if j < len(buf) or self._next[side] >= len(chunks):
                return out
            self._buf[side] = pickle.loads(chunks[self._next[side]][1])
            self._i[side] = 0
            self._next[side] += 1

    def _replay_to(self, side: int, t: float) -> list[Any]:
        """The state at ``t`` from the recording's events before it; the cursor then at ``t``."""
        state = ResumeState()
        chunks = self.rec.chunks[side]
        self._next[side], self._buf[side], self._i[side] = 0, [], 0
        while self._next[side] < len(chunks):
            events = pickle.loads(chunks[self._next[side]][1])
            self._next[side] += 1
            k = bisect_left(events, t, key=_T)
            state.feed(events[:k])
            if k < len(events):
                self._buf[side], self._i[side] = events, k
                break
        return state.events()
