"""The room's one experiment: the transport's ``Run``, streamed to every follower of a room.

Only the outlet differs from a lab run (``RoomOutlet``), plus "join the herd":

- events go to the ``/room`` namespace (students follow on the same socket they joined with),
  without acknowledgements (a room cannot acknowledge), at most ``ROOM_FRAME_HZ`` frames a second
  (the server's cost is per message, and a room multiplies every message by its members); every
  frame carries ``sent_at``, the server's wall-clock time (Unix seconds) at emit, so clients and
  ``bench/room.py`` can measure fan-out delay; a member that does not read gets frames dropped
  (``transport.outbox``), never an unbounded queue;
- every outgoing event is shown to ``observe`` first, so the room keeps the last ``started``/
  ``state``/``done`` and the run's samples for whoever joins late, rejoins or reloads, can reveal a
  prediction at the end, and knows whose tap became which request;
- the outlet is ``live``: the worker computes only a little ahead of what is on screen, so a
  student's tap (a real request, injected by the worker) lands *now* in the run; the student hears
  back with ``tapped`` (or ``room_error``).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from webapp.extensions import socketio

log = logging.getLogger(__name__)

NAMESPACE = "/room"
ROOM_FRAME_HZ = 10

Observer = Callable[[str, dict[str, Any]], None]


class RoomOutlet:
    frame_hz = ROOM_FRAME_HZ
    acks = False
    live = True

    def __init__(self, target: str, observe: Observer) -> None:
        self.target = target
        self.observe = observe

    def emit(self, event: str, data: dict[str, Any],
             callback: Callable[..., None] | None = None) -> None:
        if event == "frame":
            data["sent_at"] = time.time()
        self._show(event, data)
        socketio.emit(event, data, to=self.target, namespace=NAMESPACE)

    def _show(self, event: str, data: dict[str, Any]) -> None:
        try:
            self.observe(event, data)
        except Exception:  # the room's bookkeeping must never stop the class's stream
            log.exception("room observer failed on %s", event)

    def congested(self) -> bool:
        return False   # a room's slow members get frames dropped one by one (outbox)

    def tapped(self, run_id: str, token: Any, req: int | None, t: float | None,
               refusal: str | None) -> None:
        """Answer the student who tapped (``token`` is their sid): the request id, or why not. The
        room is shown the request too, so it stays the student's after a reload."""
        if refusal is not None:
            socketio.emit("room_error", {"reason": "tap_budget", "message": refusal, "event": "tap",
                                         "field": None}, to=token, namespace=NAMESPACE)
            return
        self._show("tapped", {"sid": token, "run_id": run_id, "req": req})
        socketio.emit("tapped", {"run_id": run_id, "req": req, "t": round(t or 0.0, 6)},
                      to=token, namespace=NAMESPACE)
