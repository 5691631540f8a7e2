"""What a control does to a run: one decision, used by the lab (``/lab``) and by rooms (``/room``).

``stop`` and ``restart`` apply to any run. A playing or paused run takes every control live (its
task applies it between ticks). A finished or stopped run can only be sought (``seek`` replays it
from that instant: it needs a slot and a worker again); anything else is refused with the reason.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from webapp.transport.pacer import PAUSED, PLAYING
from webapp.transport.payloads import ControlRequest, PayloadError, check_seek

if TYPE_CHECKING:
    from webapp.transport.runner import Run


def decide(action: str, status: str) -> str:
    """``"stop"``, ``"restart"``, ``"live"`` (the run's task applies it) or ``"revive"``."""
    if action in ("stop", "restart"):
        return action
    if status in (PLAYING, PAUSED):
        return "live"
    if action == "seek":
        return "revive"
    raise PayloadError(f"The run is {status}: only seek, restart and stop apply.", "action")


def apply_control(run: "Run", ctl: ControlRequest, *, restart: Callable[[], None],
                  revive: Callable[[float, bool], None]) -> None:
    """Carry out ``ctl`` on ``run``; ``restart`` and ``revive`` are the caller's (they need a slot)."""
    decision = decide(ctl.action, run.status)
    if ctl.action == "seek":
        check_seek(ctl.value, run.seek_limit_s)
    if decision == "stop":
        run.stop()
    elif decision == "restart":
        run.stop()
        restart()
    elif decision == "revive":
        revive(float(ctl.value), ctl.pause)  # type: ignore[arg-type]
    else:
        run.control(ctl)
