"""Real runs in the live lab: the datastore's line, and a run that plays a recording.

A real run is a ``Run`` (runner.py) whose events come from a recording of real services instead
of a simulation: the same pacer, frames, acknowledgements, sampling, controls and page. What
differs is how it begins and how it is replayed:

- **The line.** There is one datastore (one private PostgreSQL and Redis), and a run that
  shares it with another measures both, so one real run records at a time. The others wait in
  a bounded line (``MAX_WAITING``), fairly: one per connection and ``per_address`` *waiting*
  per address (one more from it is refused, so one student's many tabs cannot fill it). Each
  is told its place (``real`` messages, ``phase: "queued"``, ``place``, ``ahead``) and the
  longest it can wait (``wait_max_s``): the sum of the bounds of the runs before it, each run
  being bounded (``bound_s``: its start, its duration and drain, its clean-up, the simulation
  beside it). The worker's own lock (a ``flock`` beside the cluster) keeps runs of *other* web
  processes out too; the page is told when it waits for one (``phase: "waiting"``).
- **Plan.** A run joins the line at once and plans while it waits, in a worker process within
  the budgets of a simulated run (webapp/real/planner.py); the turn goes to the first run in
  line that is planned, so a slow plan holds nobody's turn.
- **Begin.** When its turn comes the services are checked and healed (a dead PostgreSQL or Redis
  is restarted), then the run starts a real-run worker and records what it sends (``Recording``,
  in its own background task), telling the page ``starting``, ``recording`` and ``simulating``
  as they happen, and -- before playback begins -- ``notice`` if the run found that this
  machine cannot make the planned herd (its queries are then stretched, and the page says so
  before the run's first frame). Each phase has a deadline (``BoundedRecording``): a worker that overruns one
  is stopped and the page told why. Playback (``started`` with ``mode: "real"``) begins once the
  real run's first events are there -- it then follows the run as it happens -- or, beside the
  simulation, once both sides are complete, so they play in lockstep.
- **Failures.** Whatever stops a run before it plays (a refused plan, services that will not
  start, a deadline) reaches the page at once as an ``error`` with the run's id, in words, with
  what to do; the page shows it even though that run never sent ``started``.
- **Replay.** A seek on an ended run replays the recording (a real run cannot be re-run). The
  server keeps the recordings of the runs its connections still hold, up to ``KEEP_BYTES`` in
  all; an older one is dropped, and seeking it then says so.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from webapp.engine import Scenario
from webapp.extensions import socketio
from webapp.real.planner import FAILED as PLAN_FAILED, PLANNED, Planning
from webapp.real.services import Services
from webapp.real.settings import RealSettings, deadline_s
from webapp.real.worker import TRY_AGAIN, plain
from webapp.transport.payloads import PayloadError
from webapp.transport.realsource import (FAILED, RECORDING, SIMULATING, STARTING, WAITING,
                                         Recording, RealSource)
from webapp.transport.runner import Run

log = logging.getLogger(__name__)

PLANNING = "planning"            # the phase of a run whose plan is being made, nobody before it
MAX_WAITING = 6                  # runs waiting for the datastore, all addresses together
KEEP_BYTES = 96 << 20            # recordings kept for replay, all connections together
TELL_EVERY_S = 0.5               # progress while recording: a message this often at most
WORKER_WAIT_S = 120.0            # how long a worker waits for another web process's real run
# Deadlines of a run's phases once its turn has come (BoundedRecording).
STARTING_S = 60.0                # from its turn: services healed, worker and app servers up
ENDING_S = 15.0                  # past the run's own deadline: its summary and clean-up
SIMULATING_S = 60.0              # the simulation beside it (worker.SIDE_B_MAX_STEPS at most)
STOP_S = 5.0                     # a worker given up on (or done) is gone by then (end_process)
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


def bound_s(start: RealStart) -> float:
    """The longest a run can hold the datastore once its turn has come (every phase at its
    deadline): what the line promises the runs behind it at most."""
    return (STARTING_S + deadline_s(start.scenario) + ENDING_S
            + (SIMULATING_S if start.beside else 0.0) + STOP_S)


class RealLine:
    """The datastore's line: at most one run recording, ``MAX_WAITING`` waiting, in order.

    ``missing`` is the install command when the services' binaries are not there (then no real
    run starts at all); else ``services`` are healed before each run."""

    def __init__(self, missing: str | None, per_address: int = 1) -> None:
        self.missing = missing
        self.per_address = per_address  # runs waiting at once from one address
        self.services = None if missing else Services()
        self.current: RealLabRun | None = None
        self._current_until = 0.0       # monotonic time by which the current run is over
        self.waiting: deque[RealLabRun] = deque()
        self._kept: deque[weakref.ref[Recording]] = deque()
        self._lock = threading.Lock()   # handlers and run tasks: threads, or greenlets

    def join(self, run: "RealLabRun") -> None:
        """``run`` takes the last place, or is refused, saying why and when to try again."""
        with self._lock:
            mine = [r for r in (self.current, *self.waiting)
                    if r is not None and r.outlet.sid == run.outlet.sid]
            if mine:
                raise PayloadError("You already have a real run waiting for the datastore or "
                                   "recording; stop it or wait for it to end.", "")
            theirs = [r for r in self.waiting if r.address == run.address]
            if len(theirs) >= self.per_address:
                one = self.per_address == 1
                raise PayloadError(
                    ("A real run from your address is" if one else
                     f"{self.per_address} real runs from your address are") + " already "
                    f"waiting for the datastore (at most {self.per_address} per address, so "
                    f"that everyone gets a turn). Try again once {'it' if one else 'the first'} "
                    f"has started: within {_duration(self._wait_locked(theirs[0]))} at most.",
                    "")
            if len(self.waiting) >= MAX_WAITING:
                raise PayloadError(
                    f"The line for the datastore is full ({len(self.waiting)} real runs are "
                    f"waiting). A place frees within {_duration(self._remaining_locked())} at "
                    "most; try again then.", "")
            self.waiting.append(run)

    def place(self, run: "RealLabRun") -> tuple[int, int, float]:
        """``(place, ahead, wait_max_s)``: 1 when ``run`` is first in line, how many runs go
        before it, and the longest it can wait for its turn; ``(0, 0, 0.0)`` if it waits no
        more."""
        with self._lock:
            if run not in self.waiting:
                return 0, 0, 0.0
            place = list(self.waiting).index(run) + 1
            return place, place - 1 + (self.current is not None), self._wait_locked(run)

    def take_turn(self, run: "RealLabRun") -> bool:
        """True once ``run`` may record: it is planned, nothing records, and no planned run is
        before it (it leaves the line and becomes the current run)."""
        with self._lock:
            if self.current is run:
                return True
            first = next((r for r in self.waiting if r.planned is not None), None)
            if self.current is None and first is run:
                self.waiting.remove(run)
                self.current = run
                self._current_until = time.monotonic() + bound_s(run.request)
                return True
            return False

    def leave(self, run: "RealLabRun") -> None:
        """``run`` no longer waits (stopped, or its start was refused)."""
        with self._lock:
            if run in self.waiting:
                self.waiting.remove(run)

    def release(self, run: "RealLabRun") -> None:
        """``run`` gave up its turn before it recorded anything: the next run's turn."""
        with self._lock:
            if run in self.waiting:
                self.waiting.remove(run)
            if self.current is run:
                self.current = None

    def heal(self) -> None:
        """Make sure the services answer (a dead one is reaped and restarted): before a run."""
        if self.services is not None:
            self.services.start()

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

    def _remaining_locked(self) -> float:
        """How long the current run can still hold the datastore, at most."""
        if self.current is None:
            return 0.0
        return max(0.0, self._current_until - time.monotonic())

    def _wait_locked(self, run: "RealLabRun") -> float:
        """The longest ``run`` can wait: the current run's remaining bound, then the whole
        bound of each run before it."""
        ahead = list(self.waiting)[:list(self.waiting).index(run)]
        return self._remaining_locked() + sum(bound_s(r.request) for r in ahead)


class BoundedRecording(Recording):
    """A recording whose phases have deadlines: a worker that stays in one too long (hung,
    services that never answer, a run past its own deadline) is given up on -- the recorder then
    stops it -- and the reason is the run's failure, in words."""

    def __init__(self, request: dict[str, Any], start: RealStart, since: float) -> None:
        super().__init__(request, start.beside)
        self.limits = {STARTING: STARTING_S, WAITING: WORKER_WAIT_S + 5.0,
                       RECORDING: deadline_s(start.scenario) + ENDING_S,
                       SIMULATING: SIMULATING_S}
        self._since = (self.phase, since)     # (starting: since the run's turn came)

    def poll(self) -> None:
        super().poll()
        phase, since = self._since
        now = time.monotonic()
        if self.phase != phase:
            self._since = (self.phase, now)
        elif phase in self.limits and now - since > self.limits[phase]:
            self._fail(_overdue(phase, self.limits[phase]))


def _overdue(phase: str, limit_s: float) -> str:
    what = {STARTING: "The real run did not start",
            WAITING: "Another server process's real run held the datastore",
            RECORDING: "The real run went past its time bound",
            SIMULATING: "The simulation beside the real run did not finish"}[phase]
    return f"{what} within {limit_s:g} s, so it was stopped. {TRY_AGAIN}"


class RealLabRun(Run):
    """One real run for one connection: plans and waits its turn, records, plays the
    recording. ``address``: where its connection comes from (the line's fairness)."""

    takes_inputs = False

    def __init__(self, *, line: RealLine, start: RealStart, slots: Any, outlet: Any,
                 address: str) -> None:
        super().__init__(slots=slots, outlet=outlet, scenario=start.scenario,
                         compare=start.scenario if start.beside else None, speed=start.speed,
                         animate_limit=start.animate_limit)
        self.line = line
        self.request = start
        self.address = address
        self.planned: bytes | None = None      # its plan (planner.py), once made
        self.recording: Recording | None = None
        self._told: tuple[Any, ...] = ()
        self._noticed = 0                      # the recording's notices told so far

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
            if not self._plan_and_wait():
                return None
            rec = self._record()
        except BaseException:
            self.line.release(self)
            raise
        if rec is None or not self._wait_playable(rec):
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
                "wait_s": WORKER_WAIT_S}

    def _plan_and_wait(self) -> bool:
        """Plan (in a worker, within the budgets of a simulated run) while waiting in line,
        until the run's turn; False if it was stopped or its plan refused (the page told)."""
        s = self.settings
        planning = Planning({**self._worker_request(), "cpu_s": s.run_cpu_s,
                             "memory_mb": s.worker_memory_mb, "max_steps": s.run_max_steps},
                            wall_s=float(s.run_cpu_s))
        try:
            while True:
                state = planning.poll()
                if state == PLAN_FAILED:
                    self.line.leave(self)
                    self._refused(planning.failed or "The real run could not be planned.",
                                  planning.failed_key)
                    return False
                if state == PLANNED:
                    self.planned = planning.plan
                    if self.line.take_turn(self):
                        return True
                if self._stop:
                    self._stopped()
                    return False
                self._tell_place(state == PLANNED)
                socketio.sleep(0.05)
        finally:
            planning.close()

    def _tell_place(self, planned: bool) -> None:
        place, ahead, wait_s = self.line.place(self)
        if not ahead and not planned:
            self._tell(PLANNING, message="Planning the run: the simulation of the same "
                                         "scenario gives its arrivals…")
        elif ahead:
            self._tell("queued", place=place, ahead=ahead, wait_max_s=math.ceil(wait_s),
                       message=f"Waiting for the datastore: {_ordinal(place)} in line, {ahead} "
                               f"real {'run' if ahead == 1 else 'runs'} before yours. Your turn "
                               f"comes within {_duration(wait_s)} at most, usually much sooner.")

    def _record(self) -> BoundedRecording | None:
        """The run's turn: the services healed, then its worker started and recorded."""
        turn = time.monotonic()
        try:
            self.line.heal()
        except Exception as exc:   # noqa: BLE001 -- told in words; the details to the log
            log.warning("real run %s: the services would not start: %s", self.run_id, exc)
            self.line.release(self)
            self._refused(plain(exc), None)
            return None
        if self._stop:
            self.line.release(self)
            self._stopped()
            return None
        rec = self.recording = BoundedRecording(
            {**self._worker_request(), "plan": self.planned}, self.request, turn)
        self.planned = None                      # (the worker has it now)
        rec.launch()
        line = self.line
        socketio.start_background_task(rec.record, socketio.sleep,
                                       lambda: line.recorded(self, rec))
        return rec

    def _wait_playable(self, rec: Recording) -> bool:
        while not rec.playable:
            if self._stop:
                rec.stop()
                self._stopped()
                return False
            if rec.phase == FAILED:
                self._refused(rec.failed or "The real run failed.", rec.failed_key)
                return False
            self._progress(rec)
            socketio.sleep(0.05)
        self._tell_notices(rec)                  # (one that came with the first events)
        return True

    def _refused(self, message: str, field: str | None) -> None:
        """The run ends before it played: ``error`` with its run id (the page knows it from
        the ``real`` messages, or takes it as its pending run's), and ``real`` ``failed`` with
        the field to blame, if there is one."""
        self._fail(message)
        if field:
            self._tell("failed", field=field, message=message)

    def _progress(self, rec: Recording) -> None:
        self._tell_notices(rec)
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

    def _tell_notices(self, rec: Recording) -> None:
        """What the run told before its app servers started (fleet.RealRun._fit_herd: this
        machine cannot make the planned herd, so its queries are stretched), as soon as it is
        here: always before ``started``, so before the run's first frame."""
        for text in rec.notices[self._noticed:]:
            self.outlet.emit("real", {"run_id": self.run_id, "phase": "notice", "notice": text})
        self._noticed = len(rec.notices)

    def _tell(self, phase: str, every: float = 0.0, **fields: Any) -> None:
        """A ``real`` message for the page, when it says something new (or, with ``every``,
        at most that often)."""
        key = (phase, fields.get("place"), fields.get("message") if not every else None)
        now = time.monotonic()
        if self._told and self._told[0] == key and (not every or now - self._told[1] < every):
            return
        self._told = (key, now)
        self.outlet.emit("real", {"run_id": self.run_id, "phase": phase, **fields})


def _duration(seconds: float) -> str:
    """A bound in words, rounded up to 10 s: "50 s", "3 min 20 s"."""
    s = max(10, math.ceil(seconds / 10) * 10)
    minutes, rest = divmod(s, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
