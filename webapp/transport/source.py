"""Event sources: where a pacer's events come from.

``EventSource`` is the small interface the pacer reads. Everything in it is non-blocking: the pacer
takes what is there and waits (playing slower, never jumping) when it is not. Today's source is
``WorkerSource``, a run computed ahead by a worker process; a recording of a real run (a real-
systems worker) fits the same interface: it knows its frontier, maybe its end, and can be re-read
from any instant (``seek``). A source that can re-run its engine also has ``peek(t)``: the exact
numbers of an instant a paused page shows (``WorkerSource.peek``); a recording has none.

Events are wire-format arrays (``wire.encode``), ``[t, kind, req, viewer, server, key, ...]``, in
time order per side; side B exists in compare mode only.
"""
from __future__ import annotations

import math
import pickle
from bisect import bisect_right
from collections import deque
from operator import itemgetter
from typing import Any, Protocol

from webapp.worker.channel import ChannelClosed
from webapp.worker.pool import Worker, WorkerPool

Events = list[Any]
_T = itemgetter(0)


class EventSource(Protocol):
    """What the pacer reads."""

    @property
    def frontier(self) -> float:
        """Every event with ``t <=`` this is available to ``take`` (infinity: all of them)."""

    @property
    def end_s(self) -> float | None:
        """The virtual time of the run's last event, once known."""

    @property
    def done(self) -> bool:
        """The run is over and every event has been taken; ``summaries`` are set."""

    @property
    def summaries(self) -> list[dict[str, Any]] | None:
        """The engine summary of each side, when the run is over."""

    def take(self, until_t: float) -> tuple[Events, Events | None]:
        """Remove and return the available events with ``t <= until_t`` (side A, side B)."""

    def seek(self, t: float) -> None:
        """Start over from ``t``: until ``resume`` returns the state at ``t``, nothing is taken."""

    def resume(self) -> tuple[Events, Events | None] | None:
        """After ``seek``: the state at ``t`` (once, when it is ready), else None."""


class WorkerSource:
    """A run computed by a worker process, ahead of playback, into a bounded window.

    Chunks arrive pickled and stay pickled (bytes: compact) until the pacer takes from them; each
    one taken is reported back as consumed, which lets the worker compute further. So the web
    process holds at most ``window_bytes`` of a run, however long or large it is.

    ``epoch`` counts seeks and inputs: whatever the worker sent before the latest one is ignored.
    ``inputs`` is the run's list of engine input records (taps, interventions) as the worker
    keeps it: a relaunched worker gets it, so a revived run is the same run.

    ``peek`` asks the exact numbers of a paused instant of the streaming worker, or, once its
    stream is over, of a worker kept for that (a ``peek`` job: at most one worker per run at a
    time either way). One instant is asked at a time; a newer one waits and replaces any older
    one waiting, so a page that pauses again and again queues no work.
    """

    def __init__(self, pool: WorkerPool, spec: dict[str, Any], launch: bool = True,
                 end_s: float | None = None) -> None:
        self.pool = pool
        self.spec = spec
        self.compare = spec["scenarios"][1] is not None
        self.epoch = 0
        self.ready = False
        self.failed: str | None = None
        self.inputs: list[dict[str, Any]] = list(spec.get("inputs", ()))
        self._end_s = end_s   # known already when an ended run is revived (same scenario, same inputs)
        self.moments: list[Any] | None = None   # per side, once the worker knows them
        self.applying = False   # an input sent, its reply ("inputs") not back yet
        self._summaries: list[dict[str, Any]] | None = None
        self.truncated = False
        self._worker: Worker | None = None
        self._peeker: Worker | None = None   # answers peeks once the stream is over
        self._peek_asked: tuple[Worker, int, float] | None = None   # (of whom, epoch, t)
        self._peek_wanted: float | None = None                       # to ask next
        self._peeked: tuple[int, float, list[Any]] | None = None     # (epoch, t, samples)
        self._reset(None)
        if launch:   # else the first ``seek`` launches the worker (reviving an ended run)
            self._launch(None)

    # ----- EventSource -----------------------------------------------------------------------
    @property
    def frontier(self) -> float:
        return self._frontier

    @property
    def end_s(self) -> float | None:
        return self._end_s

    @property
    def summaries(self) -> list[dict[str, Any]] | None:
        return self._summaries

    @property
    def done(self) -> bool:
        return (self._summaries is not None and not self._chunks
                and self._ia >= len(self._a) and (self._b is None or self._ib >= len(self._b)))

    def take(self, until_t: float) -> tuple[Events, Events | None]:
        out_a: Events = []
        out_b: Events | None = [] if self.compare else None
        while True:
            ja = bisect_right(self._a, until_t, lo=self._ia, key=_T)
            out_a.extend(self._a[self._ia:ja])
            self._ia = ja
            rest = ja < len(self._a)
            if self._b is not None and out_b is not None:
                jb = bisect_right(self._b, until_t, lo=self._ib, key=_T)
                out_b.extend(self._b[self._ib:jb])
                self._ib = jb
                rest = rest or jb < len(self._b)
            # The open chunk is used up: open the next one, even when its events all come after
            # ``until_t`` (an empty last chunk must be opened too, or the run is never done).
            if rest or not self._chunks:
                return out_a, out_b
            self._open_chunk()

    def seek(self, t: float) -> None:
        self.epoch += 1
        self._reset(math.nextafter(t, -math.inf))
        self._resume = None
        self._summaries = None
        if self._worker is not None and not self._worker.channel.closed:
            self._worker.send(("seek", self.epoch, t))
        else:
            self._launch(t)

    def resume(self) -> tuple[Events, Events | None] | None:
        bundle, self._resume = self._resume, None
        return bundle

    def peek(self, t: float) -> list[Any] | None:
        """The exact sample of each side at ``t`` (wire format; None for a missing side B) once
        a worker has made it, else None: asked (or waiting its turn), ask again later. Not while
        an input is being applied: the numbers would be of the run without it."""
        done = self._peeked
        if done is not None and done[:2] == (self.epoch, t):
            return done[2]
        asked = self._peek_asked
        if self.applying or (asked is not None and asked[1:] == (self.epoch, t)):
            return None
        self._peek_wanted = t
        self._ask_peek()
        return None

    def add_input(self, record: dict[str, Any]) -> None:
        """An input at ``record["t"]``, up to which everything has been taken: the worker re-runs
        with it and streams on from there (its reply is an ``inputs`` notice, then events)."""
        t = record["t"]
        self.epoch += 1
        self._reset(math.nextafter(t, -math.inf))   # (the events at t come again, from the input)
        self._summaries = None
        self.applying = True
        if self._worker is not None and not self._worker.channel.closed:
            self._worker.send(("input", self.epoch, record))
        else:
            self._launch(None, record)

    # ----- driven by the run's task ----------------------------------------------------------------
    def poll(self) -> list[tuple[Any, ...]]:
        """Read what the worker sent; return notices for the run (tapped, tap_refused, end,
        inputs)."""
        notices: list[tuple[Any, ...]] = []
        self._poll_peeker()
        worker = self._worker
        if worker is None:
            return notices
        try:
            bodies = worker.channel.receive()
        except ChannelClosed:
            bodies = []
            if self._summaries is None and self.failed is None:
                self.failed = "The run stopped unexpectedly (its worker process ended)."
            self._drop_worker()
        for body in bodies:
            self._handle(pickle.loads(body), notices)
        return notices

    def inject(self, token: Any) -> None:
        """Ask for one more viewer request now (a classroom tap); answered by a notice."""
        if self._worker is None:
            raise RuntimeError("the run is not computing")
        self._worker.send(("tap", token))

    def set_horizon(self, t: float) -> None:
        """Live mode: the worker may compute up to ``t`` and no further."""
        if self._worker is not None:
            self._worker.send(("horizon", t))

    def close(self) -> None:
        self._drop_worker()
        self._drop_peeker()
        self._chunks.clear()
        self._a, self._b = [], ([] if self.compare else None)

    @property
    def computing(self) -> bool:
        return self._worker is not None

    # ----- internals ----------------------------------------------------------------------------
    def _launch(self, seek_to: float | None, record: dict[str, Any] | None = None) -> None:
        self._drop_peeker()   # (the stream's worker answers peeks again)
        self._worker = self.pool.acquire()
        self._worker.start({**self.spec, "inputs": list(self.inputs), "seek_to": seek_to,
                            "input": record, "epoch": self.epoch})

    def _drop_worker(self) -> None:
        if self._worker is not None:
            self._forget_peek(self._worker)
            self.pool.release(self._worker)
            self._worker = None

    # ----- peeks --------------------------------------------------------------------------------
    def _ask_peek(self) -> None:
        """Send the instant waiting, if none is out: to the streaming worker, else to the
        peek worker (started for it)."""
        t = self._peek_wanted
        if t is None or self._peek_asked is not None or self.failed:
            return
        worker = self._worker
        if worker is None or worker.channel.closed:
            if self._peeker is None:
                self._peeker = self.pool.acquire()
                self._peeker.start({**self.spec, "kind": "peek"})
            worker = self._peeker
        self._peek_wanted = None
        worker.send(("peek", self.epoch, t, list(self.inputs)))
        self._peek_asked = (worker, self.epoch, t)

    def _peek_answered(self, message: tuple[Any, ...]) -> None:
        """("peek", epoch, t, samples): kept unless a seek or an input came since."""
        self._peek_asked = None
        if message[1] == self.epoch:
            self._peeked = (message[1], message[2], message[3])
        self._ask_peek()

    def _poll_peeker(self) -> None:
        peeker = self._peeker
        if peeker is None:
            return
        try:
            bodies = peeker.channel.receive()
        except ChannelClosed:
            bodies = []
            self.failed = self.failed or "The run stopped unexpectedly (its worker process ended)."
            self._drop_peeker()
        for body in bodies:
            message = pickle.loads(body)
            if message[0] == "peek":
                self._peek_answered(message)
            elif message[0] == "error":
                self.failed = str(message[1])
                self._drop_peeker()

    def _forget_peek(self, worker: Worker) -> None:
        """A worker going away will not answer: the page asks again (of the next one)."""
        if self._peek_asked is not None and self._peek_asked[0] is worker:
            self._peek_asked = None

    def _drop_peeker(self) -> None:
        if self._peeker is not None:
            self._forget_peek(self._peeker)
            self.pool.release(self._peeker)
            self._peeker = None

    def _reset(self, frontier: float | None) -> None:
        self._chunks: deque[tuple[float, bytes]] = deque()
        self._a: Events = []
        self._b: Events | None = [] if self.compare else None
        self._ia = self._ib = 0
        self._frontier = -math.inf if frontier is None else frontier
        self._resume: tuple[Events, Events | None] | None = None

    def _open_chunk(self) -> None:
        _, blob = self._chunks.popleft()
        self._a, b = pickle.loads(blob)
        self._b = b if self.compare else None
        self._ia = self._ib = 0
        if self._worker is not None:
            self._worker.send(("consumed", self.epoch, len(blob)))

    def _handle(self, message: tuple[Any, ...], notices: list[tuple[Any, ...]]) -> None:
        kind = message[0]
        if kind == "events":
            if message[1] == self.epoch:
                self._chunks.append((message[2], message[3]))
                self._frontier = max(self._frontier, message[2])
        elif kind == "resume":
            if message[1] == self.epoch:
                a, b = pickle.loads(message[3])
                self._resume = (a, b if self.compare else None)
                self._frontier = message[2]   # (the state includes every event at the target)
        elif kind == "ready":
            self.ready = True
        elif kind == "end":
            if self.applying:   # the end of the run without the input being applied: stale
                return
            self._end_s = float(message[1])
            self.moments = message[2]
            notices.append(("end", self._end_s, self.moments))
        elif kind == "inputs":
            _, _, self.inputs, refusal, end = message
            self.applying = False
            self._end_s, self.moments = end if end is not None else (None, None)
            notices.append(("inputs", refusal))
        elif kind == "done":
            if message[1] == self.epoch:
                self.ready = True   # (it always follows "ready"; a done run is ready anyway)
                self._summaries = message[2]
                self.truncated = bool(message[3])
                self._frontier = math.inf
                self._drop_worker()
        elif kind == "tapped":
            self.inputs.append(message[4])
            notices.append(message)
        elif kind in ("tap_refused",):
            notices.append(message)
        elif kind == "peek":
            self._peek_answered(message)
        elif kind == "error":
            self.failed = str(message[1])
            self._drop_worker()
