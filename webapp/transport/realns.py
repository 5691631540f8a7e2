"""The ``/real`` Socket.IO namespace: the live lab's protocol, for runs against real services.

Everything ``/lab`` does (docs/protocol.md), with these differences:

- ``start`` takes two more keys: ``real`` (the ``real.*`` settings without the prefix, e.g.
  ``{"processes": 4, "pool_timeout_s": 2}``; webapp/real/settings.py) and ``beside`` (true: side
  B is the simulation fed the real run's measured arrivals and service times). ``compare`` is
  refused: a real run has no "other mitigation" side. Besides the scenario's own validation,
  the bounds of every real run are checked (at most 5,000 requests, 60 s, 100 connections...).
- Before ``started`` come ``real`` messages: ``{run_id, phase, message, ...}`` with ``phase``
  ``queued`` (and ``place``: 1 = first in line, ``ahead``: runs before it, ``wait_max_s``: the
  longest it can wait), ``planning`` (its plan is being made and no run is before it),
  ``waiting`` (another web process's real run holds the datastore), ``starting`` (its turn
  came: the services checked, the app servers started), ``recording`` (and
  ``t``), ``simulating``; ``failed`` (and ``field``) goes with an ``error`` that blames a
  field; ``notice`` (``notice``: a sentence, no ``message``) when the run measured that this
  machine cannot make the planned herd and stretches its queries -- always before
  ``started``. A run that fails before ``started`` is told by an ``error`` with its
  ``run_id``.
- A start is refused at once if its estimated engine steps are over the budget per run (its
  plan is a simulation: the same check as ``/lab``), if the connection has a real run already,
  if another connection from the same address is waiting in line already (one waiting per
  address), or if the line is full; each refusal says when to try again.
- ``started`` carries ``mode: "real"``, ``real``, ``beside``, ``processes`` and ``requests``;
  the summaries in ``done`` are a real run's (``mode: "real"``, ``real: {...}``) and, beside,
  the simulation's.
- A seek on an ended run replays its recording; ``restart`` queues a new real run.

When the services' binaries are missing, ``start`` is refused with the install command.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, request

from webapp.engine import ScenarioError
from webapp.real.services import missing_message
from webapp.real.settings import check, parse_settings
from webapp.transport.budget import check_cost
from webapp.transport.lab import (LabNamespace, LabOutlet, _answer_errors, _single, _slots)
from webapp.transport.payloads import (START_KEYS, PayloadError, envelope, parse_start)
from webapp.transport.realrun import RealLabRun, RealLine, RealStart
from webapp.transport.runner import Run

NAMESPACE = "/real"
LINE_KEY = "herdlab.real"
REAL_START_KEYS = START_KEYS + ("real", "beside")


def parse_real_start(payload: Any, *, max_animate: int) -> RealStart:
    """Validate a ``start`` on ``/real``; every refusal names its field."""
    body = envelope(payload, REAL_START_KEYS, "start")
    if body.get("compare") is not None:
        raise PayloadError("A real run has no compare side; set 'beside' to run the simulation "
                           "of the same arrivals beside it.", "compare")
    if body.get("inputs"):
        raise PayloadError("A real run takes no inputs: real services are measured as they "
                           "are.", "inputs")
    lab = parse_start({k: v for k, v in body.items() if k in START_KEYS},
                      max_animate=max_animate)
    beside = body.get("beside", False)
    if not isinstance(beside, bool):
        raise PayloadError("'beside' must be true or false.", "beside")
    raw = body.get("real", {})
    if not isinstance(raw, Mapping):
        raise PayloadError("'real' must be an object of real.* settings (it may be {}).", "real")
    try:
        settings = parse_settings(raw)
        processes = check(lab.scenario, settings, beside)
    except ScenarioError as exc:
        key = exc.key
        raise PayloadError(str(exc), key if key.startswith("real.") else f"scenario.{key}") \
            from None
    return RealStart(lab.scenario, settings, beside, lab.speed, lab.animate_limit, processes)


def _line() -> RealLine:
    return current_app.extensions[LINE_KEY]


class RealOutlet(LabOutlet):
    """One ``/real`` connection: the lab's acknowledged frames, on this namespace."""

    namespace = NAMESPACE


class RealNamespace(LabNamespace):
    """``/lab``'s bookkeeping and controls; starting a run means joining the datastore's line."""

    @_answer_errors
    def on_start(self, *args: Any) -> None:
        line = _line()
        if line.missing:
            raise PayloadError(line.missing, "")
        settings = current_app.extensions["herdlab.settings"]
        start = parse_real_start(_single(args, "start"), max_animate=settings.lab_max_animate)
        check_cost(start.scenario, settings.run_max_steps)   # its plan is a simulation
        self._launch(RealLabRun(line=line, start=start, slots=_slots(),
                                outlet=RealOutlet(request.sid),
                                address=request.remote_addr or "unknown"))

    def _again(self, run: Run) -> Run:
        assert isinstance(run, RealLabRun)
        return RealLabRun(line=run.line, start=run.request, slots=_slots(), outlet=run.outlet,
                          address=run.address)

    def _launch(self, run: Run, seek_to: float | None = None, pause: bool = False) -> None:
        """A new run takes its place in the line first; a refused one leaves it again."""
        line = _line()
        if seek_to is None:
            assert isinstance(run, RealLabRun)
            line.join(run)
        try:
            super()._launch(run, seek_to, pause)
        except BaseException:
            line.leave(run)   # (a replay was never in the line: nothing happens)
            raise


def init_app(app: Any) -> None:
    """Give ``app`` the datastore's line and register ``/real``."""
    from webapp.extensions import register_namespace

    app.extensions[LINE_KEY] = RealLine(
        missing_message(), app.extensions["herdlab.settings"].real_waiting_per_address)
    register_namespace(RealNamespace, NAMESPACE)
