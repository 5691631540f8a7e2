"""Extensions created once at module level and bound to an app in ``create_app``."""
from __future__ import annotations

from typing import Any

from flask_socketio import Namespace, SocketIO
from socketio.packet import Packet


class TextPacket(Packet):
    """Socket.IO packets that never look for binary attachments in what we send.

    The default packet walks every value of every outgoing payload (recursively, in Python) to see
    whether it holds ``bytes``; for a lab frame of thousands of events that walk cost more than the
    JSON encoding itself. Herd Lab only ever sends JSON (a ``bytes`` value would now fail loudly in
    ``json.dumps``). Binary packets *from* clients are refused (``webapp.security``).
    """

    uses_binary_events = False


socketio = SocketIO(serializer=TextPacket)


def register_namespace(namespace: type[Namespace], name: str, *args: Any) -> None:
    """Register a namespace class once for the process, before ``socketio.init_app``.

    Handlers keep no state of their own (it lives in ``app.extensions``), so one registration
    serves every app a process creates (tests create many).
    """
    if not any(handler.namespace == name for handler in socketio.namespace_handlers):
        socketio.on_namespace(namespace(name, *args))
