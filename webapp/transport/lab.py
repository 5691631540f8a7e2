"""The ``/lab`` Socket.IO namespace: one browser tab runs and controls its own experiments.

The namespace only does bookkeeping and refusal: which runs belong to which connection, the
per-connection and per-server limits, and turning every bad input into an ``error`` event that names
the field. Pacing and streaming live in ``runner``; validation in ``payloads`` (and the engine).
A handler never raises: whatever goes wrong is answered with ``error`` and touches nothing else.
"""
from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from typing import Any, Callable

from flask import current_app, request
from flask_socketio import Namespace, emit

from webapp.transport.payloads import (ControlRequest, PayloadError, check_seek, parse_control,
                                       parse_start)
from webapp.transport.runner import NAMESPACE, Run, release, reserve

log = logging.getLogger(__name__)

MAX_KEPT_RUNS = 8   # finished runs remembered per connection, so they can be replayed (seek)


def _answer_errors(handler: Callable[..., None]) -> Callable[..., None]:
    """Turn any failure of an event handler into one ``error`` event for its sender."""

    @functools.wraps(handler)
    def wrapper(self: "LabNamespace", *args: Any) -> None:
        try:
            handler(self, *args)
        except PayloadError as exc:
            _error(str(exc), exc.field)
        except Exception:
            log.exception("/lab %s handler failed", handler.__name__)
            _error("Something went wrong on the server; nothing was changed.", None)

    return wrapper


def _error(message: str, field: str | None, run_id: str | None = None) -> None:
    emit("error", {"message": message, "field": field, "run_id": run_id})


def _single(args: tuple[Any, ...], event: str) -> Any:
    """Socket.IO events may carry any number of arguments; ours take exactly one object."""
    if len(args) != 1:
        raise PayloadError(f"'{event}' takes exactly one object.", "")
    return args[0]


class LabNamespace(Namespace):
    """Connection bookkeeping for ``/lab``: ``{sid: {run_id: Run}}``, newest last."""

    def __init__(self, namespace: str = NAMESPACE) -> None:
        super().__init__(namespace)
        self.connections: dict[str, OrderedDict[str, Run]] = {}

    def on_connect(self, auth: Any = None) -> None:
        self.connections[request.sid] = OrderedDict()

    def on_disconnect(self, reason: Any = None) -> None:
        for run in self.connections.pop(request.sid, {}).values():
            run.stop()

    @_answer_errors
    def on_start(self, *args: Any) -> None:
        settings = current_app.extensions["herdlab.settings"]
        req = parse_start(_single(args, "start"), max_animate=settings.lab_max_animate)
        run = Run(target=request.sid, scenario=req.scenario, compare=req.compare,
                  speed=req.speed, animate_limit=req.animate_limit)
        self._launch(run, None)

    @_answer_errors
    def on_control(self, *args: Any) -> None:
        ctl = parse_control(_single(args, "control"))
        runs = self.connections.get(request.sid, {})
        run = runs.get(ctl.run_id)
        if run is None:
            raise PayloadError("No run with that 'run_id' on this connection.", "run_id")
        if ctl.action == "stop":
            run.stop()
        elif ctl.action == "restart":
            run.stop()
            runs.pop(run.run_id)
            self._launch(Run(target=request.sid, scenario=run.scenario, compare=run.compare,
                             speed=run.speed, animate_limit=run.animate_limit), None)
        elif run.running:
            self._live_control(run, ctl)
        elif ctl.action == "seek":
            check_seek(ctl.value, run.duration_s)
            self._launch(run, ctl.value)
        else:
            raise PayloadError(f"The run is {run.status}: only seek, restart and stop apply.",
                               "action")

    def _live_control(self, run: Run, ctl: ControlRequest) -> None:
        if ctl.action == "seek":
            check_seek(ctl.value, run.duration_s)
        try:
            run.control(ctl.action, ctl.value)
        except OverflowError:
            raise PayloadError("Too many controls pending for this run; wait a moment.",
                               "action") from None

    def _launch(self, run: Run, seek_to: float | None) -> None:
        """Start (or revive) ``run`` for this connection within both limits, else ``error``."""
        settings = current_app.extensions["herdlab.settings"]
        runs = self.connections.setdefault(request.sid, OrderedDict())
        runs[run.run_id] = run
        runs.move_to_end(run.run_id)
        # Take the slot first, then count: concurrent starts can be refused, never exceed a limit.
        if not reserve(run, settings.max_runs_per_server):
            self._forget_if_new(runs, run, seek_to)
            raise PayloadError("The server is running as many experiments as it can; "
                               "try again in a moment.", "")
        if sum(r.holds_slot for r in list(runs.values())) > settings.max_runs_per_connection:
            release(run)
            self._forget_if_new(runs, run, seek_to)
            raise PayloadError(f"At most {settings.max_runs_per_connection} runs at once per "
                               "connection; stop one first.", "")
        run.start(seek_to)
        while len(runs) > MAX_KEPT_RUNS:
            oldest = next((r for r in runs.values() if not r.holds_slot and not r.running), None)
            if oldest is None:
                break
            runs.pop(oldest.run_id)

    @staticmethod
    def _forget_if_new(runs: OrderedDict[str, Run], run: Run, seek_to: float | None) -> None:
        if seek_to is None:
            runs.pop(run.run_id, None)
