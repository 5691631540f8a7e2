"""The room's one experiment: the transport's ``Run``, streamed to every follower of a room.

The transport's runner already streams to a room target (without acknowledgements, since a room
cannot ack). This subclass changes only where and how frames go out, and adds "join the herd":

- events go to the ``/room`` namespace (students follow on the same socket they joined with);
- frames go out at most ``ROOM_FRAME_HZ`` times a second (the runner's ticks are merged: the
  server's cost is per message, and a room multiplies every message by its members); every
  frame carries ``sent_at``, the server's wall-clock time (Unix seconds) at emit, so clients
  and ``bench/room.py`` can measure fan-out delay;
- every outgoing event is shown to ``observe`` first, so the room keeps the last ``started``/``state``/
  ``done`` for students who join late or rejoin, and can reveal a prediction when the run ends;
- a student's tap is queued and turned into a real request (``Simulation.inject``) by the run's own
  task, between ticks, because only that task may touch the simulation;
- the simulation is a ``LiveSimulation``, whose event stream never computes more than a few
  milliseconds of virtual time ahead of what has been streamed, so a tap lands *now* in the run.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Callable, Iterator

from webapp.engine import Scenario, ScenarioError, Simulation
from webapp.extensions import socketio
from webapp.transport.runner import Run

log = logging.getLogger(__name__)

NAMESPACE = "/room"
MAX_PENDING_TAPS = 512
LIVE_STEP_S = 0.01  # how far ahead of the stream the simulation may compute
ROOM_FRAME_HZ = 10


class LiveSimulation(Simulation):
    """``events()`` in small steps of virtual time instead of large batches of work.

    The engine's own ``events()`` may compute far ahead of the wall clock (it batches work), and a
    request injected at the streamed time would then land after the events already computed, or
    after the run's end. Stepping with ``advance`` keeps ``now`` within ``LIVE_STEP_S`` of the stream.
    """

    def events(self) -> Iterator[Any]:
        t = 0.0
        while not self.finished:
            t += LIVE_STEP_S
            yield from self.advance(t)


def _live_simulation(scenario: Scenario) -> Simulation:
    return LiveSimulation(scenario, record_requests=True)


class RoomRun(Run):
    def __init__(self, *, observe: Callable[[str, dict[str, Any]], None], **kwargs: Any) -> None:
        super().__init__(ack=False, factory=_live_simulation, **kwargs)
        self.observe = observe
        self._taps: deque[str] = deque()
        self._held: dict[str, Any] | None = None  # ticks merged into the next room frame
        self._room_seq = 0
        self._last_frame = 0.0

    def tap(self, sid: str) -> None:
        """Queue one request for the student ``sid``; the task answers with ``tapped``."""
        if len(self._taps) >= MAX_PENDING_TAPS:
            raise OverflowError("too many taps pending")
        self._taps.append(sid)

    def _apply_controls(self) -> None:
        while self._taps and self._sides and not self._stop:
            sid = self._taps.popleft()
            try:
                req = self._sides[0].sim.inject(self.t)
            except ScenarioError as exc:  # the engine's own cap on injections
                socketio.emit("room_error", {"reason": "tap_budget", "message": str(exc), "event": "tap"},
                              to=sid, namespace=NAMESPACE)
                continue
            socketio.emit("tapped", {"run_id": self.run_id, "req": req, "t": round(self.t, 6)},
                          to=sid, namespace=NAMESPACE)
        super()._apply_controls()

    def _emit(self, event: str, data: dict[str, Any], callback: Callable[..., None] | None = None) -> None:
        if event == "frame":
            self._hold(data)
            if time.monotonic() - self._last_frame < 1.0 / ROOM_FRAME_HZ:
                return
        if self._held is not None:  # anything else (state, done) follows the frames before it
            self._send_held()
        if event != "frame":
            self._send(event, data)

    def _hold(self, frame: dict[str, Any]) -> None:
        held = self._held
        if held is None or held["run_id"] != frame["run_id"]:
            self._held = frame
            return
        for key in ("events", "events_b"):
            if key in frame:
                held[key] = held.get(key, []) + frame[key]
        held["t"], held["dropped"] = frame["t"], held["dropped"] + frame["dropped"]
        held["behind"] = held["behind"] or frame["behind"]
        held["late_ms"] = frame.get("late_ms")

    def _send_held(self) -> None:
        frame, self._held = self._held, None
        frame["seq"], self._room_seq = self._room_seq, self._room_seq + 1
        frame["sent_at"] = time.time()
        self._last_frame = time.monotonic()
        self._send("frame", frame)

    def _send(self, event: str, data: dict[str, Any]) -> None:
        try:
            self.observe(event, data)
        except Exception:  # the room's bookkeeping must never stop the class's stream
            log.exception("room observer failed on %s", event)
        socketio.emit(event, data, to=self.target, namespace=NAMESPACE)
