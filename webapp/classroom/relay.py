"""Where a room lives, and how an event reaches it: one process, or several behind Redis.

A room is owned by the process where it was created: its state, its run and its tallies live in
that process's memory. With one process that is the whole story (``Local``). With several
(``HERDLAB_MESSAGE_QUEUE=redis://...``) a student may be connected to another process, so:

- a Redis key ``herdlab:room:<code>`` names the owning process (it also keeps codes unique);
- a process that receives an event for a room it does not own publishes it on the owner's inbox
  channel ``herdlab:inbox:<owner>``; the owner handles it exactly like a local event;
- whatever the owner sends (replies to one sid, the run's frames to a room, entering a sid into a
  room) goes through Flask-SocketIO's message queue, which delivers it on whichever process holds
  the connection.

Limit, stated plainly: if the owning process dies, its rooms end (the key expires and students see
the room is gone); the instructor creates a new room. Nothing is lost but the live session.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Iterable

from webapp.classroom.codes import normalize_code
from webapp.classroom.rooms import Room
from webapp.classroom.service import Classroom
from webapp.extensions import socketio

log = logging.getLogger(__name__)

ROUTED_BY_CODE = ("join", "claim")


class Local:
    """One process: every room is here, nothing to look up."""

    classroom: Classroom

    def start(self) -> None:
        """Nothing runs in the background with one process."""

    def receive(self, event: str, sid: str, payload: Any, address: str) -> None:
        self.classroom.handle(event, sid, payload, address)

    def taken(self, code: str) -> bool:
        return False

    def opened(self, room: Room) -> None:
        """Nothing to announce: no other process could be asked about this room."""

    def closed(self, room: Room) -> None:
        """Nothing to withdraw."""

    def refresh(self, rooms: Iterable[Room]) -> None:
        """Nothing to keep alive."""


class Redis(Local):
    """Several processes: a directory of owners in Redis and an inbox channel per process."""

    def __init__(self, url: str, ttl_s: float) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.host = secrets.token_hex(8)
        self.ttl = int(ttl_s)
        self.codes: dict[str, str] = {}  # sid connected here -> code of the room it talks to

    def start(self) -> None:
        socketio.start_background_task(self._listen)

    def receive(self, event: str, sid: str, payload: Any, address: str) -> None:
        if event in ROUTED_BY_CODE and isinstance(payload, dict):
            code = normalize_code(payload.get("code"))
            if code:
                self.codes[sid] = code
        code = self.codes.pop(sid, None) if event == "leave" else self.codes.get(sid)
        owner = self.redis.get(_key(code)) if code and event != "create" else None
        if owner is None or owner == self.host:
            self.classroom.handle(event, sid, payload, address)
        else:
            message = {"event": event, "sid": sid, "payload": payload, "address": address}
            self.redis.publish(_inbox(owner), json.dumps(message))

    def taken(self, code: str) -> bool:
        return bool(self.redis.exists(_key(code)))

    def opened(self, room: Room) -> None:
        self.redis.set(_key(room.code), self.host, ex=self.ttl)

    def closed(self, room: Room) -> None:
        self.redis.delete(_key(room.code))

    def refresh(self, rooms: Iterable[Room]) -> None:
        for room in rooms:
            self.redis.expire(_key(room.code), self.ttl)

    def _listen(self) -> None:
        """Handle events relayed by other processes for rooms this process owns."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(_inbox(self.host))
        for message in pubsub.listen():
            try:
                data = json.loads(message["data"])
                self.classroom.handle(str(data["event"]), str(data["sid"]), data.get("payload"),
                                      str(data.get("address")))
            except Exception:
                log.exception("bad relayed classroom message")


def _key(code: str) -> str:
    return f"herdlab:room:{code}"


def _inbox(host: str) -> str:
    return f"herdlab:inbox:{host}"
