"""What a worker process does with its one job: stream a run ahead of playback, or summarise one.

Streaming (``StreamJob``) computes ahead of the web process's playback into a bounded window:
it sends chunks of events (already in the wire format, only the animated viewers' plus every
no-viewer event) until ``window_bytes`` are unconsumed, then waits for the web process to say it
consumed some. While it waits it spends its idle time on a summary-only pre-pass that finds the
run's end (``end_s``), so the timeline's length is known long before playback gets there.

A paused page asks for the exact numbers of its instant (``peek``): a summary-only re-run up to
it (peek.py), worked on before anything else, one instant at a time.

In ``live`` mode (a classroom run, where a student's tap must land *now*) it computes no further
than the ``horizon`` the web process gives it, a little ahead of what is on screen.

Inputs (engine input records: a tap, an intervention) make the run; the same list makes the same
run. An intervention acts at an instant the worker has usually computed past already, so it is
a re-run, like a seek: the simulations are rebuilt with the list *including* the new input (so
the run is exactly the one that list makes up front, whatever side ends when), re-run silently
up to its instant, and the events at that instant before the input's own event -- the ones the
page was sent already -- are left out. Then the run streams on from there.

Budgets: the engine step budget (``max_steps``, the run ends early and says ``truncated``) and a
CPU budget (``cpu_s``, the run is stopped with a clear error), checked between slices; the kernel
enforces the same CPU budget and the memory limit as a backstop (``__main__``).

Messages in and out are listed in ``webapp/worker/__init__.py``.
"""
from __future__ import annotations

import math
import pickle
import time
from typing import Any

from webapp.engine import ScenarioError
from webapp.engine.events import INPUT
from webapp.worker.channel import WorkerEnd
from webapp.worker.limits import BudgetExceeded, Priority
from webapp.worker.peek import Peeker
from webapp.worker.resume import ResumeState
from webapp.worker.tracks import STEP, Track, encode

CHUNK_EVENTS = 4_000     # events per chunk message (both sides together), at most about
SLICE_S = 0.02           # compute between looks at the inbox (stop, seek, tap, credit)
FIRST_REPORT_S = 0.15    # the first chunk goes out after this much work even if the run goes on
PREPASS_THROTTLE_S = 1.0 # after a tap, the end is re-computed at most this often


class StreamJob:
    def __init__(self, spec: dict[str, Any], end: WorkerEnd, cpu_deadline: float,
                 priority: Priority) -> None:
        self.end = end
        self.cpu_deadline = cpu_deadline
        self.priority = priority
        self.scenarios = [s for s in spec["scenarios"] if s is not None]
        self.dot_scale = int(spec["dot_scale"])
        self.max_steps = int(spec["max_steps"])
        self.cpu_s = float(spec["cpu_s"])
        self.window = int(spec["window_bytes"])
        self.live = bool(spec["live"])
        self.inputs: list[dict[str, Any]] = list(spec.get("inputs", ()))
        self.horizon = 0.0 if self.live else math.inf
        self.epoch = int(spec.get("epoch", 0))
        self.unconsumed = 0
        self.stopped = False
        self.done_sent = False
        self.end_s: float | None = None
        self.moments: list[Any] | None = None   # per side, announced with end_s
        self._held: list[tuple[Any, ...]] | None = None   # chunks held back until a reply goes
        self.prepass: list[Track] | None = None
        self.prepass_inputs = -1          # how many inputs the current pre-pass knows
        self.prepass_due = 0.0
        self.tracks: list[Track] = []
        self._pending: list[list[Any]] = []
        self._sent_frontier = -1.0
        self.peeker: Peeker | None = None   # made at the first ``peek``
        if spec.get("input") is not None:
            self._intervene(spec["input"])
        else:
            self._start(spec.get("seek_to"))

    # ----- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stopped:
            self._check_budget()
            if self.peeker is not None and self.peeker.wanted is not None:
                self._inbox(0.0)
                if not self.stopped and self.peeker.wanted is not None:
                    _answer_peek(self.peeker, self.end)
            elif self._can_compute():
                self._inbox(0.0)
                if not self.stopped:
                    self._compute()
            elif self._prepass_wanted():
                self._inbox(0.0)
                if not self.stopped:
                    self._prepass_slice()
            else:
                self._inbox(None if self.done_sent and not self.live else 0.5)

    def _can_compute(self) -> bool:
        if self.done_sent or self.unconsumed >= self.window:
            return False
        return self._frontier() < self.horizon

    def _frontier(self) -> float:
        """Every event with ``t <=`` this has been computed (infinity once every side is done)."""
        return min((t.index * STEP for t in self.tracks if not t.finished), default=math.inf)

    # ----- inbox ------------------------------------------------------------------------------
    def _inbox(self, timeout: float | None) -> None:
        message = self.end.receive(timeout)
        while message is not None and not self.stopped:
            self._handle(message)
            message = self.end.receive(0.0)

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "consumed":
            if message[1] == self.epoch:
                self.unconsumed = max(0, self.unconsumed - int(message[2]))
        elif kind == "horizon":
            self.horizon = float(message[1])
        elif kind == "seek":
            self.epoch = int(message[1])
            self._start(float(message[2]))
        elif kind == "input":
            self.epoch = int(message[1])
            self._intervene(message[2])
        elif kind == "tap":
            self._tap(message[1])
        elif kind == "peek":
            if self.peeker is None:
                self.peeker = Peeker(self.scenarios, self.max_steps)
            self.peeker.want(int(message[1]), float(message[2]), list(message[3]))
        elif kind == "stop":
            self.stopped = True

    def _tap(self, token: Any) -> None:
        """A classroom tap: an ``inject`` input at the current step boundary, on every side."""
        if self.tracks[0].finished:
            self.end.send(("tap_refused", token, "The run has ended."))
            return
        t = max(track.index for track in self.tracks) * STEP
        try:
            req = self.tracks[0].sim.inject(t)
            for track in self.tracks[1:]:
                if not track.finished:   # (a side over already cannot take it)
                    track.sim.inject(t)
        except ScenarioError as exc:   # the engine's own cap on inputs
            self.end.send(("tap_refused", token, str(exc)))
            return
        record = self.tracks[0].sim.inputs[-1]
        self.inputs.append(record)
        self.end.send(("tapped", token, req, t, record))
        if self.end_s is not None or self.prepass is not None:
            self.prepass_due = max(self.prepass_due, time.monotonic())

    # ----- streaming ---------------------------------------------------------------------------
    def _start(self, seek_to: float | None) -> None:
        """(Re)build the simulations from t=0; after a seek, re-run silently up to the target,
        every event at it included, and send the state there with a sample of that instant."""
        self._rebuild(self.inputs)
        if seek_to is None:
            self._first_report()
            return
        states = [ResumeState() for _ in self.tracks]
        self._silently_to(seek_to, [s.feed for s in states])
        for track, state in zip(self.tracks, states):
            state.at(track.sim.peek())
        bundles = [encode(state.events()) for state in states]
        self._send_counted(("resume", self.epoch, seek_to, _blob(bundles)))
        self._finish_if_done()

    def _intervene(self, record: dict[str, Any]) -> None:
        """An input at ``record["t"]``, the instant on the page: the run again with it, from there.

        Everything up to that instant was sent; what follows starts with the input's own event.
        The reply (``inputs``) goes before any of it, with the new end and moments when this
        small run is complete within ``FIRST_REPORT_S``.
        """
        t, seq = record["t"], len(self.inputs)
        refusal = None
        try:
            self._rebuild(self.inputs + [record])
            self.inputs = self.tracks[0].sim.inputs
        except ScenarioError as exc:   # (the web process checked it: only a stale check)
            refusal = str(exc)
            self._rebuild(self.inputs)
        self._silently_to(math.nextafter(t, -math.inf), [lambda _: None] * len(self.tracks))
        for track, out in zip(self.tracks, self._pending):
            out.extend(_from_input(track.step(t), t, None if refusal else seq))
        self._held = []
        deadline = time.monotonic() + FIRST_REPORT_S
        while self._can_compute() and time.monotonic() < deadline:
            self._compute(finish=False)
        complete = all(track.finished for track in self.tracks)
        if complete:
            self._set_end(self._recorded_end(), [track.moments() for track in self.tracks])
        else:
            self.end_s = self.moments = None
            self.prepass_due = time.monotonic()
        held, self._held = self._held, None
        self.end.send(("inputs", self.epoch, list(self.inputs), refusal,
                       (self.end_s, self.moments) if complete else None))
        for message in held:   # (counted when held)
            self.end.send(message)
        self._finish_if_done()

    def _rebuild(self, inputs: list[dict[str, Any]]) -> None:
        """The recording simulations from t=0 with ``inputs``; nothing sent or pending."""
        self.tracks = [Track(s, record=True, dot_scale=self.dot_scale, max_steps=self.max_steps,
                             inputs=inputs) for s in self.scenarios]
        self.unconsumed = 0
        self.done_sent = False
        self._pending = [[] for _ in self.tracks]
        self._sent_frontier = -1.0

    def _silently_to(self, stop_at: float, feeds: list[Any]) -> None:
        """Re-run every side up to ``stop_at`` (included), handing its events to ``feeds``."""
        deadline = time.monotonic() + SLICE_S
        for track, feed in zip(self.tracks, feeds):
            while not track.finished and track.index * STEP <= stop_at:
                partial = (track.index + 1) * STEP > stop_at
                feed(track.step(stop_at))
                if partial:
                    break
                if time.monotonic() > deadline:
                    self._check_budget()
                    deadline = time.monotonic() + SLICE_S

    def _first_report(self) -> None:
        """Work for up to ``FIRST_REPORT_S``, then say ``ready``: the web process starts playback.

        A small run is complete by then, so its end is known in ``started``; a big one starts
        playing after that moment with its end still to come (``end`` follows when known).
        """
        deadline = time.monotonic() + FIRST_REPORT_S
        if self.live:   # nothing to compute ahead yet: find the end first, if it is quick
            while self._prepass_wanted() and time.monotonic() < deadline:
                self._prepass_slice()
        self._flush()
        while self._can_compute() and time.monotonic() < deadline:
            self._compute(finish=False)
        self._announce_end()
        self.end.send(("ready",))   # before "done": the web process starts on "ready"
        self._finish_if_done()

    def _compute(self, finish: bool = True) -> None:
        """Advance every side by steps until a chunk is full or a slice of time has passed."""
        deadline = time.monotonic() + SLICE_S
        pending = self._pending
        while time.monotonic() < deadline and sum(map(len, pending)) < CHUNK_EVENTS:
            if self.unconsumed >= self.window:
                break
            frontier = self._frontier()
            if frontier >= self.horizon:
                break
            for track, out in zip(self.tracks, pending):
                if not track.finished and track.index * STEP <= frontier:
                    out.extend(track.step())
        self._flush()
        if finish:
            self._finish_if_done()

    def _flush(self) -> None:
        pending = self._pending
        self._pending = [[] for _ in self.tracks]
        frontier = self._frontier()
        if not any(pending) and frontier != math.inf and frontier <= self._sent_frontier:
            return
        self._sent_frontier = frontier
        self._send_counted(("events", self.epoch, frontier,
                            _blob([encode(events) for events in pending])))

    def _announce_end(self) -> None:
        """Once the recording is complete its end and moments are known: say so (if news)."""
        if all(t.finished for t in self.tracks):
            self._set_end(self._recorded_end(), [t.moments() for t in self.tracks])

    def _recorded_end(self) -> float:
        return _wire_time(max(t.last_t for t in self.tracks))

    def _set_end(self, end_s: float, moments: list[Any]) -> None:
        """The run's end and moments (per side), sent as ``end`` when they are news."""
        if (end_s, moments) != (self.end_s, self.moments):
            self.end_s, self.moments = end_s, moments
            if self._held is None:   # (else the reply to an input carries them)
                self.end.send(("end", end_s, moments))

    def _finish_if_done(self) -> None:
        if self.done_sent or not all(t.finished for t in self.tracks):
            return
        if any(self._pending):
            self._flush()
        self._announce_end()
        self.prepass = None
        self.done_sent = True
        self.end.send(("done", self.epoch, [t.summary() for t in self.tracks],
                       any(t.truncated for t in self.tracks)))

    def _send_counted(self, message: tuple[Any, ...]) -> None:
        if self._held is not None:
            self._held.append(message)
            self.unconsumed += len(message[-1])
            return
        self.unconsumed += self.end.send(message)

    # ----- the pre-pass: the run's end, from a summary-only run ------------------------------
    def _prepass_wanted(self) -> bool:
        if self.done_sent and not self.live:
            return False
        if self.end_s is not None and self.prepass_inputs == len(self.inputs):
            return False
        return time.monotonic() >= self.prepass_due

    def _prepass_slice(self) -> None:
        if self.prepass is None or self.prepass_inputs != len(self.inputs):
            self.prepass_inputs = len(self.inputs)
            self.prepass = [Track(s, record=False, dot_scale=1, max_steps=self.max_steps,
                                  inputs=self.inputs) for s in self.scenarios]
            self.prepass_due = time.monotonic() + PREPASS_THROTTLE_S
        deadline = time.monotonic() + SLICE_S
        while time.monotonic() < deadline and not all(t.finished for t in self.prepass):
            for track in self.prepass:
                if not track.finished:
                    track.step()
        if all(t.finished for t in self.prepass):
            end_s = _wire_time(max(t.last_t for t in self.prepass))
            moments = [t.moments() for t in self.prepass]
            self.prepass = None
            self._set_end(end_s, moments)

    # ----- budgets ----------------------------------------------------------------------------
    def _check_budget(self) -> None:
        _check_budget(self.priority, self.cpu_deadline, self.cpu_s)


def _check_budget(priority: Priority, cpu_deadline: float, cpu_s: float) -> None:
    priority.check()
    if time.process_time() > cpu_deadline:
        raise BudgetExceeded(
            f"The run needed more than {cpu_s:g} s of computing, this server's budget "
            "per run, and was stopped. Fewer viewers, a shorter duration or slower polling "
            "make it cheaper.")


def _from_input(events: list[Any], t: float, seq: int | None) -> list[Any]:
    """Of the events at ``t`` (all were sent before the input came, as the run without it made
    them: it acts after everything else at its instant), those from input ``seq``'s own event
    on; none when it was refused (``seq`` None)."""
    for i, ev in enumerate(events):
        if seq is not None and ev[1] == INPUT and ev[7] == seq:
            return events[i:]
    return []


def _wire_time(t: float) -> float:
    """A time as the wire carries it (``wire.encode`` rounds to microseconds): the end must not
    fall short of the last event as sent, or playback would stop just before it."""
    return round(t, 6)


def _blob(lists: list[list[Any]]) -> bytes:
    """Side A's and side B's events, pickled once more: the web process keeps them as bytes
    (compact) until playback reaches them."""
    return pickle.dumps((lists[0], lists[1] if len(lists) > 1 else None),
                        protocol=pickle.HIGHEST_PROTOCOL)


def peek_job(spec: dict[str, Any], end: WorkerEnd, cpu_deadline: float, priority: Priority) -> None:
    """Answer ``peek`` messages until told to stop: the exact numbers of a paused instant of a run
    whose stream is over (its worker gone), within the run's CPU budget."""
    peeker = Peeker([s for s in spec["scenarios"] if s is not None], int(spec["max_steps"]))
    while True:
        message = end.receive(None if peeker.wanted is None else 0.0)
        while message is not None:
            if message[0] == "stop":
                return
            if message[0] == "peek":
                peeker.want(int(message[1]), float(message[2]), list(message[3]))
            message = end.receive(0.0)
        if peeker.wanted is not None:
            _answer_peek(peeker, end)
        _check_budget(priority, cpu_deadline, float(spec["cpu_s"]))


def _answer_peek(peeker: Peeker, end: WorkerEnd) -> None:
    """One slice towards the wanted instant; its samples sent once there."""
    answer = peeker.work(SLICE_S)
    if answer is not None:
        end.send(answer)


def summarise(spec: dict[str, Any], cpu_deadline: float, priority: Priority) -> dict[str, Any]:
    """A summary-only run within the step and CPU budgets."""
    track = Track(spec["scenarios"][0], record=False, dot_scale=1, max_steps=int(spec["max_steps"]),
                  inputs=list(spec.get("inputs", ())))
    cpu_s = float(spec["cpu_s"])
    while not track.finished:
        for _ in range(100):
            track.step()
            if track.finished:
                break
        priority.check()
        if time.process_time() > cpu_deadline:
            raise BudgetExceeded(f"The run needed more than {cpu_s:g} s of computing and was "
                                 "stopped; make it smaller or use the command line.")
    return track.summary()
