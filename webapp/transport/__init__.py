"""The live lab's transport: engine events paced to the wall clock and streamed over Socket.IO.

Importing this package registers the ``/lab`` namespace on the module-level ``socketio``
(``create_app`` imports it before ``socketio.init_app``). ``runner.Run`` is the reusable piece: it
streams one run to one sid or to a room; the classroom's ``RoomRun`` (``classroom/live.py``) only
changes where and how often its frames go out and adds taps.
"""
from webapp.extensions import socketio
from webapp.transport.lab import LabNamespace
from webapp.transport.runner import Run, live_tasks

lab_namespace = LabNamespace()
socketio.on_namespace(lab_namespace)

__all__ = ["Run", "lab_namespace", "live_tasks"]
