"""The live lab's transport: runs computed by workers, paced to the wall clock, sent over Socket.IO.

    source.py    the event source a pacer reads (``WorkerSource``: a run computed by a worker)
    pacer.py     pure pacing: virtual time against an injected clock, frames, acks, seeks
    controls.py  what a control does to a run: the one decision, for the lab and for rooms
    runner.py    a run: a source, a pacer and the task that emits their output
    slots.py     the server's run slots and workers (``app.extensions["herdlab.runs"]``)
    summary.py   ``POST /api/run``: one summary-only run in a worker, within its budget
    lab.py       the ``/lab`` namespace
    realsource.py, realrun.py, realns.py   real runs (webapp/real): a recording as an event
                 source, the datastore's line, the ``/real`` namespace
    payloads.py  validation of what browsers send; wire.py the compact event format

Importing this package imports nothing else (a worker process imports ``wire`` from it);
``init_app(app)`` registers the ``/lab`` namespace and the run slots.
"""
from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Give ``app`` its run slots and register ``/lab`` and ``/real`` (call before
    ``socketio.init_app``)."""
    from webapp.extensions import register_namespace
    from webapp.transport import realns
    from webapp.transport.lab import NAMESPACE, LabNamespace
    from webapp.transport.slots import RUNS_KEY, RunSlots

    app.extensions[RUNS_KEY] = RunSlots.from_settings(app.extensions["herdlab.settings"])
    register_namespace(LabNamespace, NAMESPACE)
    realns.init_app(app)
