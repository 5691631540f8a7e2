"""The one place that knows which concurrency library serves the app.

Everything else in Herd Lab uses only ``socketio.start_background_task`` and ``socketio.sleep``, so
switching ``HERDLAB_ASYNC_MODE`` between ``eventlet`` and ``threading`` changes nothing but this module.

Eventlet is in bug-fix-only mode and announces that with an ``EventletDeprecationWarning`` when imported. We
chose it knowingly (the project's design asks for it; see README, "Why eventlet, and the way out"), so
that single, known warning is silenced here, by message, and nothing else is.

It is also where each mode's WebSocket server gets its limits (``bound_websockets``): a message,
however it is fragmented, is at most ``max_bytes``, and unmasking a frame costs C time, not a
Python loop per byte.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any

EVENTLET_NOTICE = r"\s*Eventlet is deprecated"


def prepare(mode: str) -> None:
    """Get the async library ready before the app and its sockets are imported.

    With eventlet the standard library is monkey-patched (as Flask-SocketIO's docs require for a
    message queue and for background tasks that touch sockets). This must run first in the process.
    """
    if mode != "eventlet":
        return
    eventlet_module().monkey_patch()


def eventlet_module() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=EVENTLET_NOTICE)
        return importlib.import_module("eventlet")


def bound_websockets(eio: Any, mode: str, max_bytes: int) -> None:
    """Limit WebSocket messages of the Engine.IO server ``eio`` to ``max_bytes`` in total.

    - threading (simple-websocket): its ``max_message_size`` counts every fragment of a message,
      but Engine.IO creates the server without it: pass it.
    - eventlet: its ``max_frame_length`` (Engine.IO passes ``max_http_buffer_size``) bounds each
      frame, not a fragmented message, and it unmasks byte by byte in Python (a 1 MB frame held the
      event loop for a good part of a second). Its message class gets a running total, and its
      unmasking an XOR of two big integers (as python-websockets does, about 20x faster).
    """
    if mode == "threading":
        base = eio._async["websocket"]

        class Bounded(base):  # type: ignore[misc, valid-type]
            def __init__(self, handler: Any, server: Any, **kwargs: Any) -> None:
                super().__init__(handler, server, max_message_size=max_bytes, **kwargs)

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
