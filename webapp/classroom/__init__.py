"""Classroom mode: an instructor drives one live experiment for a room of students (issue 6).

    codes.py      join codes, and comparing control tokens
    tokens.py     signed tokens: the instructor's control token, a student's member token
    limits.py     bounded sliding-window rate limiters
    rooms.py      rooms, members, predictions, caps and idle expiry (plain Python)
    history.py    the room's run so far (samples, thinned; what is in flight) for a page that comes back
    payloads.py   validation of what browsers send on /room
    live.py       the room's run: the transport's runner streamed to a room, plus "join the herd"
    service.py    what each event does, in the process that owns the room
    relay.py      one process, or several sharing rooms through Redis
    namespace.py  the /room Socket.IO namespace
    views.py      the instructor console, presenter screen, /join page and QR code

``init_app(app)`` builds the app's rooms and pages and registers ``/room``; ``start(app)`` starts
the relay's listener once Socket.IO is bound to the app.
"""
from __future__ import annotations

from typing import Any

from webapp.classroom import relay
from webapp.classroom.namespace import STATE_KEY, RoomNamespace
from webapp.classroom.rooms import RoomLimits, RoomRegistry
from webapp.classroom.service import Classroom
from webapp.classroom.tokens import Tokens
from webapp.extensions import register_namespace
from webapp.transport.slots import RUNS_KEY


def init_app(app: Any) -> None:
    """Build the app's rooms and pages and register ``/room`` (before ``socketio.init_app``)."""
    from webapp.classroom import views
    from webapp.classroom.live import NAMESPACE

    settings = app.extensions["herdlab.settings"]
    router = relay.Redis(settings.message_queue, settings.room_idle_s + 120) \
        if settings.message_queue.startswith("redis") else relay.Local()
    registry = RoomRegistry(RoomLimits.from_settings(settings), code_taken=router.taken,
                            tokens=Tokens(settings.secret_key))
    router.classroom = Classroom(registry, settings, lambda: app.extensions.get("herdlab.course"),
                                 router, app.extensions[RUNS_KEY])
    app.extensions[STATE_KEY] = router
    app.register_blueprint(views.bp)
    register_namespace(RoomNamespace, NAMESPACE)


def start(app: Any) -> None:
    """Start what runs in the background (the relay's listener), after ``socketio.init_app``."""
    app.extensions[STATE_KEY].start()
