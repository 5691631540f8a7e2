"""Real runs in the live lab: the datastore's line, and a run that plays a recording.

A real run is a ``Run`` (runner.py) whose events come from a recording of real services instead
of a simulation: the same pacer, frames, acknowledgements, sampling, controls and page. What
differs is how it begins and how it is replayed:

- **The line.** There is one datastore (one private PostgreSQL and Redis), and a run that
  shares it with another measures both, so one real run records at a time. The others wait in
  a bounded line (``MAX_WAITING``), one per connection, and each is told its place (``real``
  messages, ``phase: "queued"``, ``place``, ``ahead``) whenever it changes. The worker's own lock (a ``flock`` beside
  the cluster) keeps runs of *other* web processes out too; the page is told when it waits for
  one (``phase: "waiting"``).
- **Begin.** When its turn comes the run starts a real-run worker and records what it sends
  (``Recording``, in its own background task), telling the page ``starting``, ``recording``
  and ``simulating`` as they happen. Playback (``started`` with ``mode: "real"``) begins once
  the real run's first events are there -- it then follows the run as it happens -- or, beside
  the simulation, once both sides are complete, so they play in lockstep.
- **Replay.** A seek on an ended run replays the recording (a real run cannot be re-run). The
  server keeps the recordings of the runs its connections still hold, up to ``KEEP_BYTES`` in
  all; an older one is dropped, and seeking it then says so.
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from webapp.engine import Scenario
from webapp.extensions import socketio
from webapp.real.settings import RealSettings
from webapp.transport.payloads import PayloadError
from webapp.transport.realsource import (FAILED, RECORDING, SIMULATING, STARTING, WAITING,
                                         Recording, RealSource)
from webapp.transport.runner import Run

MAX_WAITING = 6                  # runs waiting for the datastore (each ends within ~2 min)
KEEP_BYTES = 96 << 20            # recordings kept for replay, all connections together
TELL_EVERY_S = 0.5               # progress while recording: a message this often at most
DROPPED = ("This real run's recording was dropped to make room for newer ones (a real run "
           "cannot be run again the same way); start a new one.")
STOPPED = "This real run was stopped before it ended, so there is nothing to replay."


@dataclass(frozen=True)
class RealStart:
    """A validated ``start`` on ``/real``: the scenario, the ``real.*`` settings, pacing."""

    scenario: Scenario
    real: RealSettings
    beside: bool
    speed: float
    animate_limit: int
    processes: int


class RealLine:
    """The datastore's line: at most one run recording, ``MAX_WAITING`` waiting, in order.

    ``missing`` is the install command when the services' binaries are not there (then no real
    run starts at all)."""

    def __init__(self, missing: str | None) -> None:
        self.missing = missing
        self.current: RealLabRun | None = None
        self.waiting: deque[RealLabRun] = deque()
        self._kept: deque[weakref.ref[Recording]] = deque()
        self._lock = threading.Lock()   # handlers and run tasks: threads, or greenlets

    def join(self, run: "RealLabRun") -> None:
        with self._lock:
            mine = [r for r in (self.current, *self.waiting)
                    if r is not None and r.outlet.sid == run.outlet.sid]
            if mine:
                raise PayloadError("You already have a real run waiting for the datastore or "
                                   "recording; stop it or wait for it to end.", "")
            if len(self.waiting) >= MAX_WAITING:
                raise PayloadError(f"{len(self.waiting)} real runs are waiting for the "
                                   "datastore already; try again in a minute.", "")
            self.waiting.append(run)

    def place(self, run: "RealLabRun") -> tuple[int, int]:
        """``(place, ahead)``: 1 when ``run`` is first in line (its turn comes when the current
        recording ends), and how many runs go before it; ``(0, 0)`` if it waits no more."""
        with self._lock:
            if run not in self.waiting:
                return 0, 0
            place = list(self.waiting).index(run) + 1
            return place, place - 1 + (self.current is not None)

    def take_turn(self, run: "RealLabRun") -> bool:
        """True once ``run`` may record (it leaves the line and becomes the current run)."""
        with self._lock:
            if self.current is run:
                return True
            if self.current is None and self.waiting and self.waiting[0] is run:
                self.current = self.waiting.popleft()
                return True
            return False

    def leave(self, run: "RealLabRun") -> None:
        """``run`` no longer waits (stopped, or its start was refused)."""
        with self._lock:
            if run in self.waiting:
                self.waiting.remove(run)

    def recorded(self, run: "RealLabRun", recording: Recording) -> None:
        """``run``'s recording ended (complete, failed or stopped): the next run's turn; a
        complete recording is kept within the budget, the oldest dropped."""
        with self._lock:
            if self.current is run:
                self.current = None
            if not recording.complete:
                return
            self._kept.append(weakref.ref(recording))
            live = [r for r in (ref() for ref in self._kept) if r is not None and not r.dropped]
            total = sum(r.bytes for r in live)
            while live and total > KEEP_BYTES:
                oldest = live.pop(0)
                total -= oldest.bytes
                oldest.drop()
            self._kept = deque(weakref.ref(r) for r in live)


class RealLabRun(Run):
    """One real run for one connection: waits its turn, records, plays the recording."""

    takes_inputs = False

    def __init__(self, *, line: RealLine, start: RealStart, slots: Any, outlet: Any) -> None:
        super().__init__(slots=slots, outlet=outlet, scenario=start.scenario,
                         compare=start.scenario if start.beside else None, speed=start.speed,
                         animate_limit=start.animate_limit)
        self.line = line
        self.request = start
        self.recording: Recording | None = None
        self._told: tuple[Any, ...] = ()

    def started_payload(self) -> dict[str, Any]:
        rec = self.recording
        assert rec is not None
        return {**super().started_payload(), "mode": "real", "beside": self.request.beside,
                "real": asdict(self.request.real), "processes": rec.info.get("processes"),
                "requests": rec.info.get("requests")}

    def stop(self) -> None:
        super().stop()
        self.line.leave(self)
        if self.recording is not None:
            self.recording.stop()          # (nothing happens to a complete one)

    # ----- the task's two ways in (runner.Run._task) ------------------------------------------
    def _begin(self) -> RealSource | None:
        try:
            if not self._wait_turn():
                return None
            rec = self.recording = Recording(self._worker_request(), self.request.beside)
            rec.launch()
            line = self.line
            socketio.start_background_task(rec.record, socketio.sleep,
                                           lambda: line.recorded(self, rec))
        except BaseException:
            self.line.leave(self)
            raise
        if not self._wait_playable(rec):
            return None
        return self._play(RealSource(rec))

    def _reopen(self) -> RealSource | None:
        rec = self.recording
        if rec is None or rec.dropped or rec.phase == FAILED:
            self._fail(DROPPED if rec is not None and rec.dropped else STOPPED)
            return None
        return self._replay(RealSource(rec))

    # ----- before playback ----------------------------------------------------------------------
    def _worker_request(self) -> dict[str, Any]:
        return {"scenario": self.scenario.to_dict(), "real": asdict(self.request.real),
                "beside": self.request.beside, "dot_scale": self.dot_scale,
                "wait_s": 120.0}

    def _wait_turn(self) -> bool:
        while not self.line.take_turn(self):
            if self._stop:
                self._stopped()
                return False
            place, ahead = self.line.place(self)
            self._tell("queued", place=place, ahead=ahead,
                       message=f"Waiting for the datastore: {_ordinal(place)} in line, "
                               f"{ahead} real {'run' if ahead == 1 else 'runs'} before yours. "
                               "One real run uses it at a time.")
            socketio.sleep(0.1)
        return True

    def _wait_playable(self, rec: Recording) -> bool:
        while not rec.playable:
            if self._stop:
                rec.stop()
                self._stopped()
                return False
            if rec.phase == FAILED:
                field = rec.failed_key
                self._fail(rec.failed or "The real run failed.")
                if field:
                    self._tell("failed", field=field, message=rec.failed)
                return False
            self._progress(rec)
            socketio.sleep(0.05)
        return True

    def _progress(self, rec: Recording) -> None:
        phase = rec.phase
        if phase == WAITING:
            self._tell(phase, message="Waiting for a real run of another server process to "
                                      "end (one real run uses the datastore at a time).")
        elif phase == STARTING:
            self._tell(phase, message="Starting the app-server processes and their "
                                      "connection pools…")
        elif phase == RECORDING:
            t = max(0.0, rec.frontiers[0])
            later = (" The simulation beside it needs its measured times, so both play once "
                     "it has ended." if rec.beside else "")
            self._tell(phase, t=round(t, 1), every=TELL_EVERY_S,
                       message=f"Running against PostgreSQL and Redis: t = {t:.1f} s.{later}")
        elif phase == SIMULATING:
            self._tell(phase, message="The real run has ended; simulating the same arrivals "
                                      "with its measured service times…")

    def _tell(self, phase: str, every: float = 0.0, **fields: Any) -> None:
        """A ``real`` message for the page, when it says something new (or, with ``every``,
        at most that often)."""
        key = (phase, fields.get("place"), fields.get("message") if not every else None)
        now = time.monotonic()
        if self._told and self._told[0] == key and (not every or now - self._told[1] < every):
            return
        self._told = (key, now)
        self.outlet.emit("real", {"run_id": self.run_id, "phase": phase, **fields})


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"

