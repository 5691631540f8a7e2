"""The one place that knows which concurrency library serves the app.

Everything else in Herd Lab uses only ``socketio.start_background_task`` and ``socketio.sleep``, so
switching ``HERDLAB_ASYNC_MODE`` between ``eventlet`` and ``threading`` changes nothing but this module.

Eventlet is in bug-fix-only mode and announces that with an ``EventletDeprecationWarning`` when imported. We
chose it knowingly (the project's design asks for it; see README, "Why eventlet, and the way out"), so
that single, known warning is silenced here, by message, and nothing else is.
"""
from __future__ import annotations

import importlib
import warnings

EVENTLET_NOTICE = r"\s*Eventlet is deprecated"


def prepare(mode: str) -> None:
    """Get the async library ready before the app and its sockets are imported.

    With eventlet the standard library is monkey-patched (as Flask-SocketIO's docs require for a
    message queue and for background tasks that touch sockets). This must run first in the process.
    """
    if mode != "eventlet":
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=EVENTLET_NOTICE)
        eventlet = importlib.import_module("eventlet")
    eventlet.monkey_patch()
