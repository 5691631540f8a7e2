"""The ``/lab`` Socket.IO namespace: one browser tab runs and controls its own experiments.

The namespace only does bookkeeping and refusal: which runs belong to which connection, the
per-connection and per-server limits, and turning every bad input into an ``error`` event that names
the field. What a control does is ``controls.apply_control`` (shared with rooms); pacing is the
``Pacer``'s; validation is ``payloads``' (and the engine's). A handler never raises.

State lives in the app's ``RunSlots`` (``app.extensions``), not here: one registration of this
class serves every app of the process.
"""
from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from typing import Any, Callable

from flask import current_app, request
from flask_socketio import Namespace, emit

from webapp.extensions import socketio
from webapp.ops import refused
from webapp.transport import outbox
from webapp.transport.budget import check_start
from webapp.transport.controls import apply_control
from webapp.transport.payloads import PayloadError, parse_control, parse_start
from webapp.transport.runner import Run
from webapp.transport.slots import RUNS_KEY, RunSlots

log = logging.getLogger(__name__)

NAMESPACE = "/lab"
FRAME_HZ = 30
# A start (or a revival) handled after its connection's disconnect: nobody would see the run.
GONE = "This connection has closed; no run was started."


def _answer_errors(handler: Callable[..., None]) -> Callable[..., None]:
    """Turn any failure of an event handler into one ``error`` event for its sender."""

    @functools.wraps(handler)
    def wrapper(self: "LabNamespace", *args: Any) -> None:
        answers = _answers(handler.__name__, args)
        try:
            handler(self, *args)
        except PayloadError as exc:
            refused("lab_payload")
            _error(str(exc), exc.field, answers)
        except Exception:
            log.exception("/lab %s handler failed", handler.__name__)
            _error("Something went wrong on the server; nothing was changed.", None, answers)

    return wrapper


def _answers(handler_name: str, args: tuple[Any, ...]) -> str:
    """What a refusal answers: "start" (a start or a restart: no run began) or "control" (the
    run, if any, goes on). A page waiting for its run must not take a late refusal of a pause
    or a speed for the refusal of its start (it would drop the run the server then starts)."""
    if handler_name == "on_start":
        return "start"
    body = args[0] if len(args) == 1 else None
    return "start" if isinstance(body, dict) and body.get("action") == "restart" else "control"


def _error(message: str, field: str | None, answers: str) -> None:
    """A refusal of a message (no run is named: none began, or the run goes on)."""
    emit("error", {"message": message, "field": field, "run_id": None, "answers": answers})


def _single(args: tuple[Any, ...], event: str) -> Any:
    """Socket.IO events may carry any number of arguments; ours take exactly one object."""
    if len(args) != 1:
        raise PayloadError(f"'{event}' takes exactly one object.", "")
    return args[0]


def _slots() -> RunSlots:
    return current_app.extensions[RUNS_KEY]


class LabOutlet:
    """One connection: acknowledged frames, 30 a second; merged while its send queue is full."""

    frame_hz = FRAME_HZ
    acks = True
    live = False
    namespace = NAMESPACE

    def __init__(self, sid: str) -> None:
        self.sid = sid

    def emit(self, event: str, data: dict[str, Any],
             callback: Callable[..., None] | None = None) -> None:
        socketio.emit(event, data, to=self.sid, namespace=self.namespace, callback=callback)

    def congested(self) -> bool:
        return outbox.congested(self.sid, self.namespace)

    def tapped(self, run_id: str, token: Any, req: int | None, t: float | None,
               refusal: str | None) -> None:
        """The lab takes no taps."""


class LabNamespace(Namespace):
    """Connection bookkeeping for ``/lab``: ``{sid: {run_id: Run}}`` in the app's run slots."""

    def on_connect(self, auth: Any = None) -> None:
        _slots().connect(request.sid)

    def on_disconnect(self, reason: Any = None) -> None:
        for run in _slots().disconnect(request.sid):
            run.stop()

    @_answer_errors
    def on_start(self, *args: Any) -> None:
        settings = current_app.extensions["herdlab.settings"]
        req = parse_start(_single(args, "start"), max_animate=settings.lab_max_animate)
        check_start(req, settings.run_max_steps)
        self._launch(Run(slots=_slots(), outlet=LabOutlet(request.sid), scenario=req.scenario,
                         compare=req.compare, speed=req.speed, animate_limit=req.animate_limit,
                         inputs=req.inputs))

    @_answer_errors
    def on_control(self, *args: Any) -> None:
        ctl = parse_control(_single(args, "control"))
        runs = _slots().connections.get(request.sid, OrderedDict())
        run = runs.get(ctl.run_id)
        if run is None:
            raise PayloadError("No run with that 'run_id' on this connection.", "run_id")

        def restart() -> None:
            _slots().drop(sid, run.run_id)
            self._launch(self._again(run))

        sid = request.sid
        apply_control(run, ctl, restart=restart,
                      revive=lambda t, pause: self._launch(run, t, pause),
                      admit_input=lambda: _slots().admit_input(sid))

    def _again(self, run: Run) -> Run:
        """A new run of the same experiment with the same inputs: the same run (``restart``)."""
        return Run(slots=_slots(), outlet=run.outlet, scenario=run.scenario, compare=run.compare,
                   speed=run.speed, animate_limit=run.animate_limit, inputs=run.given_inputs)

    def _launch(self, run: Run, seek_to: float | None = None, pause: bool = False) -> None:
        """Start (or revive) ``run`` for this connection within both limits, else refuse."""
        slots = _slots()
        settings = slots.settings
        runs = slots.connections.get(request.sid)
        if runs is None:
            raise PayloadError(GONE, "")
        # Take the slot first, then count: concurrent starts can be refused, never exceed a limit.
        if not slots.reserve(run):
            refused("server_full")
            raise PayloadError("The server is running as many experiments as it can; "
                               "try again in a moment.", "")
        if sum(r.holds_slot for r in list(runs.values()) if r is not run) \
                >= settings.max_runs_per_connection:
            slots.release(run)
            refused("runs_per_connection")
            raise PayloadError(f"At most {settings.max_runs_per_connection} runs at once per "
                               "connection; stop one first.", "")
        if not slots.keep(request.sid, run):
            slots.release(run)
            raise PayloadError(GONE, "")
        run.start(seek_to, pause)
