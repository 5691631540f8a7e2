"""The ``/room`` Socket.IO namespace: hands every event to the relay, which finds the room's owner.

Handlers do no room logic (that is ``service.Classroom``): they name the event, the sender and its
address, so the same event handled here or relayed from another process behaves the same.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_socketio import Namespace


STATE_KEY = "herdlab.classroom"
# Events a browser may send; "leave" is only ever sent on its behalf, when it disconnects.
CLIENT_EVENTS = ("create", "claim", "join", "detach", "rejoin", "answer", "tap", "settings", "lesson",
                 "start", "control", "predict", "close_prediction", "herd", "close", "room_status",
                 "close_room")


class RoomNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        """Anyone may connect; joining a room is the checked step."""

    def on_disconnect(self, reason: Any = None) -> None:
        self._route("leave", ())

    def _route(self, event: str, args: tuple[Any, ...]) -> None:
        # One object per event; several arguments are passed on as a tuple, which is refused.
        payload = args[0] if len(args) == 1 else (args or None)
        current_app.extensions[STATE_KEY].receive(event, request.sid, payload, request.remote_addr or "unknown")


def _handler(event: str):
    def handler(self: RoomNamespace, *args: Any) -> None:
        self._route(event, args)

    handler.__name__ = f"on_{event}"
    handler.__doc__ = f"Route '{event}' to the room's owner."
    return handler


for _event in CLIENT_EVENTS:
    setattr(RoomNamespace, f"on_{_event}", _handler(_event))
