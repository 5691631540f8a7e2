"""The one place that knows which concurrency library serves the app.

Everything else in Herd Lab uses only ``socketio.start_background_task`` and ``socketio.sleep``, so
``HERDLAB_ASYNC_MODE`` (``eventlet``, ``gevent`` or ``threading``) changes nothing but this module:

- eventlet: ``make run``'s default (the project's design names it). It is in bug-fix-only mode
  and announces that with an ``EventletDeprecationWarning`` when imported; that single, known
  warning is silenced here, by message, and nothing else is.
- gevent: the supported production mode (docs/deploy.md): maintained, and the mode
  Flask-SocketIO's maintainer recommends over eventlet. WebSockets through ``simple-websocket``
  (Flask-SocketIO's documented choice when gevent-websocket is not installed).
- threading: plain threads and ``simple-websocket``; for a laptop and for tests.

It is also where each mode's WebSocket server gets its limits (``bound_websockets``): a message,
however it is fragmented, is at most ``max_bytes``, and unmasking a frame costs C time, not a
Python loop per byte. Neither library offers a public setting for either, so these are the
project's only patches of a library's internals. Each is tied to the exact version pinned in
requirements.txt (``PATCHED_VERSIONS``): ``tests/deploy/test_patches.py`` fails as soon as an
installed version differs, so an upgrade re-checks the patch instead of breaking it silently.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any

EVENTLET_NOTICE = r"\s*Eventlet is deprecated"
# The internals patched below, and the versions they were read in (requirements.txt pins these).
PATCHED_VERSIONS = {"eventlet": "0.41.3", "python-engineio": "4.15.1", "simple-websocket": "1.1.0"}


def prepare(mode: str) -> None:
    """Get the async library ready before the app and its sockets are imported.

    With eventlet or gevent the standard library is monkey-patched (as Flask-SocketIO's docs
    require for a message queue and for background tasks that touch sockets). This must run
    first in the process.
    """
    if mode == "eventlet":
        eventlet_module().monkey_patch()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()


def eventlet_module() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=EVENTLET_NOTICE)
        return importlib.import_module("eventlet")


def server_options(mode: str) -> dict[str, Any]:
    """Extra arguments for ``socketio.run`` (Flask-SocketIO passes them to the server).

    gevent: its WSGI server keeps a connection alive for the next request once the application
    returns, but a WebSocket served by simple-websocket returns without an HTTP response, and the
    server would then read the client's closing WebSocket frames as a malformed request (and log
    them). Its documented ``handler_class`` option gets a handler that closes the connection
    after a WebSocket instead.
    """
    if mode != "gevent":
        return {}
    from gevent.pywsgi import WSGIHandler

    class Handler(WSGIHandler):
        def run_application(self) -> None:
            try:
                super().run_application()
            finally:
                if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                    self.close_connection = True

    return {"handler_class": Handler}


def bound_websockets(eio: Any, mode: str, max_bytes: int) -> None:
    """Limit WebSocket messages of the Engine.IO server ``eio`` to ``max_bytes`` in total.

    - threading and gevent (simple-websocket): its ``max_message_size`` counts every fragment of
      a message, but Engine.IO creates the server without it and has no option to pass it. So
      the WebSocket class of the Engine.IO server's driver table (``eio._async``, private; python-
      engineio 4.15.1) is replaced by a subclass that adds it to the arguments it keeps for
      simple-websocket (``server_args``, private too).
    - eventlet: its ``max_frame_length`` (Engine.IO passes ``max_http_buffer_size``) bounds each
      frame, not a fragmented message, and it unmasks byte by byte in Python (a 1 MB frame held the
      event loop for a good part of a second). Its message class gets a running total, and its
      unmasking an XOR of two big integers (as python-websockets does, about 20x faster).
    """
    if mode in ("threading", "gevent"):
        base = eio._async["websocket"]   # private: see PATCHED_VERSIONS

        class Bounded(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.server_args = {**self.server_args, "max_message_size": max_bytes}

        eio._async = {**eio._async, "websocket": Bounded}
    elif mode == "eventlet":
        _bound_eventlet()


def _bound_eventlet() -> None:
    eventlet_module()
    from eventlet import websocket

    protocol = websocket.RFC6455WebSocket
    if getattr(protocol, "herdlab_bounded", False):
        return
    message_class = protocol.Message

    class BoundedMessage(message_class):  # type: ignore[misc, valid-type]
        """A message whose fragments together stay within the frame limit."""

        size = 0

        def push(self, data: bytes, final: bool = False) -> None:
            self.size += len(data)
            if self.size > self.max_frame_length:
                raise websocket.FailedConnectionError(
                    1009, f"Message above the limit of {self.max_frame_length} bytes.")
            super().push(data, final)

    # Private to eventlet 0.41.3 (see PATCHED_VERSIONS): the class of a message being assembled,
    # and the unmasking function.
    protocol.Message = BoundedMessage
    protocol._apply_mask = staticmethod(apply_mask)
    protocol.herdlab_bounded = True


def apply_mask(data: bytes, mask: Any, length: int | None = None, offset: int = 0) -> bytes:
    """RFC 6455 unmasking: XOR with the 4-byte mask repeated, starting ``offset`` bytes in."""
    if length is None:
        length = len(data)
    if not length:
        return b""
    key = bytes(mask[(offset + i) % 4] for i in range(4))
    repeated = (key * (length // 4 + 1))[:length]
    value = int.from_bytes(data[:length], "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(length, "big")
