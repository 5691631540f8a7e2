"""A live run: an event source (a worker computing ahead), a pacer, and the task that sends.

The run's task is the only code that touches its source and pacer. Everything else (a click, a
tap, an acknowledgement) is queued, bounded, and applied between ticks: no locks, no race between
a control and a frame. Per tick the task reads what the worker sent (non-blocking), applies the
queued inputs, asks the pacer what is due and emits it; then it sleeps until the next tick. So
the web process does no engine work at all: it forwards chunks that arrive ready to send.

A run that has nothing due is idle (issue 17: a paused run's task once slept 0 s forever, a web
core per paused run): playing, it sleeps until its next frame; waiting for its worker (a seek, a
step, an intervention, a start), a frame interval at most; paused, until a control, a tap or a
stop wakes it (``_wake``), or a heartbeat (``HEARTBEAT_S``: the worker's notices, the idle limit).

Where the frames go is an ``Outlet``: one lab connection (acknowledged frames, 30 a second) or a
classroom room (no acknowledgements, 10 a second, each frame stamped and observed by the room).

Inputs (docs/protocol.md, "Inputs"): a run is its scenario(s) plus a list of engine input records
-- given at start, an intervention (``control`` ``input``) at the playback instant, a classroom
tap -- and the same list makes the same run, so seek, revive and restart replay it. An
intervention is a re-run in the worker (``WorkerSource.add_input``): one at a time per run (the
next waits in the bounded control queue until the worker has replied), and its reply, ``state``
``inputs``, goes out before any frame that carries its events.
"""
from __future__ import annotations

import logging
import math
import secrets
import time
from collections import deque
from typing import Any, Callable, Protocol, Sequence

from webapp.engine import Scenario
from webapp.extensions import socketio
from webapp.ops import frame_sent
from webapp.transport import wire
from webapp.transport.budget import check_intervention_cost
from webapp.transport.pacer import (FINISHED, HEARTBEAT_S, PAUSED, PLAYING, STOPPED, Output,
                                    Pacer)
from webapp.transport.payloads import (MAX_RUN_INPUTS, ControlRequest, PayloadError,
                                       check_intervention)
from webapp.transport.slots import RunSlots
from webapp.transport.source import WorkerSource

log = logging.getLogger(__name__)

MAX_PENDING_CONTROLS = 16
MAX_PENDING_TAPS = 512
START_TIMEOUT_S = 30.0      # a worker that says nothing for this long at start has failed
READY_POLL_S = 0.005        # the first look at a starting worker; later ones back off
IDLE_MESSAGE = ("This run was paused for a long time, so the server gave its place to others. "
                "Press play or seek to run it again.")
YIELD_MESSAGE = ("This run was paused and the server needed its place for someone else. "
                 "Press play or seek to run it again.")


class Outlet(Protocol):
    """Where a run's messages go, and how."""

    frame_hz: float
    acks: bool
    live: bool   # inputs (taps) may arrive: the worker computes only a little ahead

    def emit(self, event: str, data: dict[str, Any],
             callback: Callable[..., None] | None = None) -> None: ...

    def congested(self) -> bool: ...

    def tapped(self, run_id: str, token: Any, req: int | None, t: float | None,
               refusal: str | None) -> None:
        """A tap was injected (``req`` at ``t``) or refused (only outlets that take taps)."""


class Run:
    """One streamed experiment (two in lockstep in compare mode) for one outlet."""

    takes_inputs = True   # (a real run's recording does not)

    def __init__(self, *, slots: RunSlots, outlet: Outlet, scenario: Scenario,
                 compare: Scenario | None, speed: float, animate_limit: int,
                 inputs: Sequence[dict[str, Any]] = ()) -> None:
        self.run_id = secrets.token_urlsafe(9)
        self.slots = slots
        self.settings = slots.settings
        self.outlet = outlet
        self.scenario = scenario
        self.compare = compare
        self.speed = speed
        self.animate_limit = animate_limit
        viewers = max(s.clients.count for s in (scenario, compare) if s is not None)
        self.viewers = viewers
        self.dot_scale = max(1, math.ceil(viewers / animate_limit))
        self.status = PLAYING
        self.end_s: float | None = None
        self.moments: list[Any] | None = None   # per side, once known (compact moment dicts)
        # Engine input records: given at start, interventions, taps (a replay re-runs them all).
        self.inputs: list[dict[str, Any]] = list(inputs)
        self.taps: set[int] = set()      # places in ``inputs`` that are classroom taps
        self._unanswered = 0             # interventions queued or in flight (no reply yet)
        self.pacer: Pacer | None = None
        self._controls: deque[ControlRequest] = deque()
        self._taps: deque[Any] = deque()
        self._acks: deque[None] = deque()
        self._stop = False
        self._evicted = False
        self._revive: tuple[float, bool] | None = None
        self.paused_since: float | None = None   # wall clock of the pause (a slot to give up)
        self._wake = socketio.server.eio.create_event()   # set by whatever the task must see

    # ----- called from handlers (any thread or greenlet) -----------------------------------------
    @property
    def duration_s(self) -> float:
        return self.scenario.duration_s

    @property
    def seek_limit_s(self) -> float:
        """Seeks land from 0 to the run's end (its drain included, once known)."""
        return max(self.duration_s, self.end_s or 0.0)

    @property
    def running(self) -> bool:
        return self in self.slots.tasks

    @property
    def holds_slot(self) -> bool:
        return self.slots.holds(self)

    def start(self, seek_to: float | None = None, pause: bool = False) -> None:
        """Spawn the task of a run that holds a slot; ``seek_to`` revives an ended run there."""
        self._stop = False
        self._revive = None if seek_to is None else (seek_to, pause)
        self.status = PAUSED if pause else PLAYING
        self.slots.tasks.add(self)
        socketio.start_background_task(self._task)

    @property
    def given_inputs(self) -> list[dict[str, Any]]:
        """The inputs given to this run (at start and as interventions), taps left out."""
        return [record for i, record in enumerate(self.inputs) if i not in self.taps]

    def check_input(self, ctl: ControlRequest) -> None:
        """Refuse an intervention this run cannot take now (the task checks it again, at the
        exact instant it acts)."""
        if not self.takes_inputs:
            raise PayloadError("A real run is a recording: it takes no interventions.", "input")
        if len(self.inputs) - len(self.taps) + self._unanswered >= MAX_RUN_INPUTS:
            raise PayloadError(f"This run has had {MAX_RUN_INPUTS} inputs, the most a run "
                               "takes; restart it to intervene again.", "input")
        assert ctl.input is not None
        record = check_intervention(ctl.input, self.pacer.t if self.pacer else 0.0,
                                    self.scenario, self.compare)
        check_intervention_cost((self.scenario, self.compare), [*self.inputs, record],
                                self.settings.run_max_steps)

    def remember_speed(self, speed: float) -> None:
        """A speed chosen once the run has ended (finished, stopped or idle): a seek back replays
        at it (it used to be refused, and the replay came back at the old speed)."""
        self.speed = speed
        if self.pacer is not None:          # (a revived run plays on with its pacer)
            self._send_all(self.pacer.set_speed(speed))
        else:
            self._send(self._state_payload("speed"))

    def control(self, ctl: ControlRequest) -> None:
        if len(self._controls) >= MAX_PENDING_CONTROLS:
            raise PayloadError("Too many controls pending for this run; wait a moment.",
                               "input" if ctl.action == "input" else "action")
        self._controls.append(ctl)
        self._unanswered += ctl.action == "input"
        self._wake.set()

    def tap(self, token: Any) -> None:
        """Queue one extra viewer request for ``token`` (answered with ``on_tap``)."""
        if len(self._taps) >= MAX_PENDING_TAPS:
            raise OverflowError("too many taps pending")
        self._taps.append(token)
        self._wake.set()

    def yield_slot(self) -> None:
        """Give the slot to a newcomer now: the paused run ends as if idle (its task says so)."""
        self.slots.release(self)
        self._evicted = True
        self._wake.set()

    def stop(self) -> None:
        """End the run: its task notices within a tick and exits, its worker is killed."""
        self._stop = True
        self.slots.release(self)
        self._wake.set()
        if not self.running:
            self._stopped()

    def started_payload(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "scenario": self.scenario.to_dict(),
            "compare": self.compare.to_dict() if self.compare else None,
            "speed": self.speed,
            "viewers": self.viewers,
            "duration_s": self.duration_s,
            "end_s": self.end_s,
            "inputs": list(self.inputs),
            **self._moments_fields(),
            "dot_scale": self.dot_scale,
            "animated_viewers": math.ceil(self.viewers / self.dot_scale),
            "animate_limit": self.animate_limit,
            "frame_hz": self.outlet.frame_hz,
            "event_fields": wire.event_fields(),
        }

    # ----- the task ------------------------------------------------------------------------------------
    def _spec(self) -> dict[str, Any]:
        s = self.settings
        return {"kind": "stream", "scenarios": [self.scenario, self.compare],
                "dot_scale": self.dot_scale, "max_steps": s.run_max_steps, "cpu_s": s.run_cpu_s,
                "memory_mb": s.worker_memory_mb, "window_bytes": s.run_buffer_kb << 10,
                "live": self.outlet.live, "inputs": list(self.inputs)}

    def _moments_fields(self) -> dict[str, Any]:
        """``moments`` (side A) and ``moments_b`` (side B in compare mode), null until known."""
        sides = self.moments or [None, None]
        return {"moments": sides[0],
                "moments_b": sides[1] if self.compare is not None and len(sides) > 1 else None}

    def _task(self) -> None:
        source: Any = None
        try:
            if self._stop:   # stopped (or its client gone) before it began: build nothing
                self._stopped()
                return
            source = self._begin() if self._revive is None else self._reopen()
            if source is not None:
                self._loop(source)
        except Exception:
            log.exception("run %s failed", self.run_id)
            self._fail("The run failed unexpectedly and was stopped.")
        finally:
            if source is not None:
                source.close()
            self.slots.release(self)
            self.slots.tasks.discard(self)
            self.paused_since = None
            self._evicted = False

    def _begin(self) -> WorkerSource | None:
        """A new run: its source, playing (``started`` sent); None if it could not start (and
        the client was told). A real run overrides this and ``_reopen`` (realrun.py)."""
        source = WorkerSource(self.slots.pool, self._spec())
        if not self._wait_ready(source):
            source.close()
            return None
        return self._play(source)

    def _reopen(self) -> WorkerSource | None:
        """An ended run revived by a seek: the run again, from the seek's target."""
        return self._replay(WorkerSource(self.slots.pool, self._spec(), launch=False, end_s=self.end_s))

    def _play(self, source: Any) -> Any:
        """Playback of a ready source begins: ``started``, then a pacer reading it."""
        self.end_s = source.end_s
        self.moments = getattr(source, "moments", None)
        self._send(("started", self.started_payload()))
        self.pacer = self._new_pacer(source)
        return source

    def _replay(self, source: Any) -> Any:
        """The revived run's pacer reads ``source`` from the seek's target."""
        assert self.pacer is not None and self._revive is not None
        self.pacer.source = source
        self._send_all(self.pacer.seek(*self._revive))
        return source

    def _wait_ready(self, source: WorkerSource) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        delay = READY_POLL_S
        while not source.ready:
            self._notices(source)
            if source.failed or self._stop or time.monotonic() > deadline:
                if not self._stop:
                    self._fail(source.failed or "The run did not start in time and was stopped.")
                else:
                    self._stopped()
                return False
            self._sleep(delay)
            delay = min(2 * delay, 1.0 / self.outlet.frame_hz)   # a warm worker answers at once
        return True

    def _new_pacer(self, source: WorkerSource) -> Pacer:
        return Pacer(source, run_id=self.run_id, clock=time.monotonic, speed=self.speed,
                     frame_hz=self.outlet.frame_hz, compare=self.compare is not None,
                     acks=self.outlet.acks, congested=self.outlet.congested)

    def _loop(self, source: WorkerSource) -> None:
        pacer = self.pacer
        assert pacer is not None
        idle_since = time.monotonic()
        interval = 1.0 / self.outlet.frame_hz
        while not self._stop:
            self._notices(source)
            if source.failed:
                self._fail(source.failed)
                return
            out: Output = []
            while self._controls and not self._stop:
                if self._controls[0].action == "input" and not self._settled(source, pacer):
                    break   # one re-run at a time: it waits for the one in flight
                out += self._apply(pacer, self._controls.popleft())
                idle_since = time.monotonic()
            while self._acks:
                self._acks.popleft()
                pacer.acked()
            while self._taps:
                token = self._taps.popleft()
                if source.computing:
                    source.inject(token)
                else:   # every request of the run has been computed: too late to join it
                    self.outlet.tapped(self.run_id, token, None, None, "The run has ended.")
            out += pacer.tick()
            # (Known paused before the page is told: a newcomer it then lets in may take its slot.)
            self.status = pacer.status
            self.paused_since = (self.paused_since or time.monotonic()) \
                if pacer.status == PAUSED else None
            self._send_all(out)
            if pacer.status == FINISHED:
                return
            if self.outlet.live:
                source.set_horizon(pacer.t + 2 * interval * pacer.speed + 0.01)
            now = time.monotonic()
            if self._evicted or (pacer.status == PAUSED
                                 and now - idle_since > self.settings.run_idle_s):
                self._idle()
                return
            self._sleep(self._idle_s(pacer, source, now, interval))
        self._stopped()

    def _idle_s(self, pacer: Pacer, source: WorkerSource, now: float, interval: float) -> float:
        """How long the task may sleep: until its next frame, a frame interval while it waits
        for its worker, a heartbeat while paused (a control, a tap or a stop wakes it sooner)."""
        if pacer.status == PLAYING and not pacer.busy:
            return max(0.0, min(pacer.next_tick_at() - now, interval))
        if pacer.busy or source.applying or self._controls or self._taps:
            return interval
        return HEARTBEAT_S

    def _sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` at most: whatever the task must see wakes it (``_wake``). (0:
        only let the others run.)"""
        if seconds <= 0:
            socketio.sleep(0)
        elif self._wake.wait(seconds):
            self._wake.clear()

    def _apply(self, pacer: Pacer, ctl: ControlRequest) -> Output:
        if ctl.action == "pause":
            return pacer.pause()
        if ctl.action == "resume":
            return pacer.resume()
        if ctl.action == "speed":
            self.speed = float(ctl.value)  # type: ignore[arg-type]
            return pacer.set_speed(self.speed)
        if ctl.action == "step":
            return pacer.step(float(ctl.value))  # type: ignore[arg-type]
        if ctl.action == "seek":
            return pacer.seek(float(ctl.value), ctl.pause)  # type: ignore[arg-type]
        if ctl.action == "input":
            return self._intervene(pacer, ctl)
        return []

    @staticmethod
    def _settled(source: Any, pacer: Pacer) -> bool:
        """An intervention can act now: no other in flight, no seek or step waiting, and every
        event up to the instant on the page at hand (after a seek, those at the instant itself
        come just after the state there)."""
        return not (source.applying or pacer.busy) and source.frontier >= pacer.t

    def _intervene(self, pacer: Pacer, ctl: ControlRequest) -> Output:
        """Send an intervention to the worker, at the instant on the page (the pacer's t)."""
        assert ctl.input is not None
        try:
            record = check_intervention(ctl.input, pacer.t, self.scenario, self.compare)
        except PayloadError as exc:
            self._unanswered -= 1
            return [self._error(str(exc), exc.field, "control")]
        pacer.take_now()   # every event up to the instant is taken: the re-run starts there
        pacer.source.add_input(record)
        pacer.show()
        return []

    def _notices(self, source: WorkerSource) -> None:
        for notice in source.poll():
            kind = notice[0]
            if kind == "end":   # ("end", end_s, moments); a real run's recording: ("end", end_s)
                moments = notice[2] if len(notice) > 2 else None
                changed = notice[1] != self.end_s
                news = moments != self.moments
                self.end_s, self.moments = notice[1], moments
                if changed and self.pacer is not None:
                    self._send(self._state_payload("length"))
                if news and self.pacer is not None:
                    self._send(self._state_payload("moments", **self._moments_fields()))
            elif kind == "inputs":
                self._applied(source, notice[1])
            elif kind == "tapped":
                self.taps.add(len(source.inputs) - 1)
                self.inputs = list(source.inputs)
                self.outlet.tapped(self.run_id, notice[1], int(notice[2]), float(notice[3]), None)
            elif kind == "tap_refused":
                self.outlet.tapped(self.run_id, notice[1], None, None, str(notice[2]))

    def _applied(self, source: WorkerSource, refusal: str | None) -> None:
        """The worker's reply to an intervention: the whole list, the new end and moments."""
        self._unanswered = max(0, self._unanswered - 1)
        self.inputs = list(source.inputs)
        news = source.moments != self.moments
        self.end_s, self.moments = source.end_s, source.moments
        if refusal is not None:
            self._send(self._error(f"The intervention could not act: {refusal}", "input",
                                   "control"))
        self._send(self._state_payload("inputs", inputs=list(self.inputs),
                                       **self._moments_fields()))
        if news and self.moments is not None:   # (null: a ``state moments`` follows when known)
            self._send(self._state_payload("moments", **self._moments_fields()))

    def _error(self, message: str, field: str | None, answers: str = "run"
               ) -> tuple[str, dict[str, Any]]:
        """An ``error`` about this run: it failed ("run"), or an intervention was refused and
        the run goes on ("control")."""
        return ("error", {"message": message, "field": field, "run_id": self.run_id,
                          "answers": answers})

    def _stopped(self, action: str = "stop", message: str | None = None) -> None:
        """The run ends without finishing: say so once (``state`` stopped)."""
        if self.status == STOPPED:
            return
        self.status = STOPPED
        if self.pacer is not None:
            self.pacer.status = STOPPED
        payload = self._state_payload(action)
        if message is not None:
            payload[1]["message"] = message
        self._send(payload)

    def _idle(self) -> None:
        self._stopped("idle", YIELD_MESSAGE if self._evicted else IDLE_MESSAGE)

    def _fail(self, message: str) -> None:
        self._stop = True
        self.status = STOPPED
        if self.pacer is not None:
            self.pacer.status = STOPPED
        self._send(self._error(message, None))

    def _state_payload(self, action: str | None, **extra: Any) -> tuple[str, dict[str, Any]]:
        t = self.pacer.t if self.pacer is not None else 0.0
        return ("state", {"run_id": self.run_id, "status": self.status, "speed": self.speed,
                          "t": round(t, 6), "action": action, "end_s": self.end_s, **extra})

    def _send_all(self, out: Output) -> None:
        for item in out:
            self._send(item)

    def _send(self, item: tuple[str, dict[str, Any]]) -> None:
        event, data = item
        if event == "done":
            data["inputs"] = list(self.inputs)
        if event == "frame":
            frame_sent(data.get("late_ms"))
        if event == "frame" and self.outlet.acks:
            self.outlet.emit(event, data, callback=self._on_ack)
        else:
            self.outlet.emit(event, data)

    def _on_ack(self, *_: Any) -> None:
        self._acks.append(None)
