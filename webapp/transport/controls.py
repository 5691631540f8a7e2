"""What a control does to a run: one decision, used by the lab (``/lab``) and by rooms (``/room``).

``stop`` and ``restart`` apply to any run. A playing or paused run takes every control live (its
task applies it between ticks). A finished or stopped run can only be sought (``seek`` replays it
from that instant: it needs a slot and a worker again); anything else is refused with the reason.
An intervention (``input``) is charged to the sender's budget first, then checked against the
run's scenarios at its current time (the engine's check and its cost estimate take a few ms each:
unless it was charged first, a flood of refused inputs cost the server that much, uncharged), then
queued; a finished or stopped run refuses it (the page seeks back first: an ended run is not
revived by an input).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from webapp.transport.pacer import PAUSED, PLAYING
from webapp.transport.payloads import ControlRequest, PayloadError, check_seek

if TYPE_CHECKING:
    from webapp.transport.runner import Run


def decide(action: str, status: str) -> str:
    """``"stop"``, ``"restart"``, ``"live"`` (the run's task applies it), ``"revive"`` or
    ``"remember"`` (a speed chosen after the run ended: its next replay plays at it)."""
    if action in ("stop", "restart"):
        return action
    if status in (PLAYING, PAUSED):
        return "live"
    if action == "seek":
        return "revive"
    if action == "speed":
        return "remember"
    if action == "input":
        raise PayloadError(f"The run is {status}: seek back or restart to intervene.", "input")
    raise PayloadError(f"The run is {status}: only seek, restart and stop apply.", "action")


def apply_control(run: "Run", ctl: ControlRequest, *, restart: Callable[[], None],
                  revive: Callable[[float, bool], None],
                  admit_input: Callable[[], bool] = lambda: True) -> None:
    """Carry out ``ctl`` on ``run``; ``restart`` and ``revive`` are the caller's (they need a
    slot); ``admit_input`` spends one of the sender's interventions (False: over its budget)."""
    if ctl.action == "input":
        if not admit_input():   # before any check that costs: a refused input is paid for too
            raise PayloadError("Too many interventions too fast: each one re-runs the "
                               "experiment. Wait a few seconds.", "input")
        run.check_input(ctl)   # (a bad record is named as such, whatever the run's status)
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
    elif decision == "remember":
        run.remember_speed(float(ctl.value))  # type: ignore[arg-type]
    else:
        run.control(ctl)
