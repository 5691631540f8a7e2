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

If the owning process dies, its rooms are lost with their live state; everyone connected to
them hears so within 10 s, and the instructor reopens the room on another process with the same
code (see ``Redis``). Why not keep rooms in Redis so that any process can serve any room: a
room's run (its pacer and its worker process) lives in exactly one process anyway, and the rest
of its state is small and changes with every answer and tap; an owner with a heartbeat and a
reclaim by token gives the same recovery with far less code and no distributed locking.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
from typing import Any, Iterable

from webapp.classroom.codes import normalize_code
from webapp.classroom.rooms import Room, RoomError
from webapp.classroom.service import Classroom
from webapp.extensions import socketio

log = logging.getLogger(__name__)

ROUTED_BY_CODE = ("join", "claim")        # the sender talks to this room from now on
ROUTED_ONCE = ("room_status", "close_room")  # one question about a room, by its token: the sender
                                             # stays with its own room
STORE_DOWN = "The classroom's shared store is unreachable right now; try again in a moment."


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
    """Several processes: a directory of owners in Redis and an inbox channel per process.

    Faults it survives:

    - Redis restarts: the listener reconnects with exponential backoff (and jitter) and
      resubscribes; the heartbeat writes this process's keys again (``SET``, not ``EXPIRE``), so
      its rooms, and rooms created afterwards, work across processes again within a beat.
    - The owner of a room dies: its heartbeat key (``herdlab:host:<id>``) expires within
      ``HOST_TTL_S``; every process checks, each beat, the owners of the rooms its connections
      talk to, and tells those students and instructors (``room_closed``, reason ``owner_lost``)
      within ``HOST_TTL_S + 2 * BEAT_S`` (under 10 s). The room's key keeps a hash of its control
      token, so the instructor's console, reconnected to any process, reopens the room there
      with the same code (``claim``); students join again.
    """

    HOST_TTL_S = 5
    BEAT_S = 1.5
    BACKOFF_S = (0.1, 5.0)

    def __init__(self, url: str, ttl_s: float) -> None:
        import redis

        self.errors = (redis.RedisError, OSError)
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                          socket_connect_timeout=2)
        self.host = secrets.token_hex(8)
        self.ttl = int(ttl_s)
        self.codes: dict[str, str] = {}  # sid connected here -> code of the room it talks to
        self.running = False

    def start(self) -> None:
        self.running = True
        # Flask-SocketIO's message queue starts listening at this process's first connection,
        # and what another process sends this one's clients before it has subscribed is lost
        # (Redis pub/sub keeps nothing): a student whose "join" was the first connection of a
        # freshly started process could wait for "joined" for ever. Listen from the start.
        server = socketio.server
        if not server.manager_initialized:
            server.manager_initialized = True
            server.manager.initialize()
        socketio.start_background_task(self._listen)
        socketio.start_background_task(self._beat)

    def stop(self) -> None:
        self.running = False

    def receive(self, event: str, sid: str, payload: Any, address: str) -> None:
        code = self._code(event, sid, payload)
        try:
            owner = self._owner(code) if code and event != "create" else None
            if owner is None or owner["host"] == self.host:
                self.classroom.handle(event, sid, payload, address)
            elif self._alive(owner["host"]):
                message = {"event": event, "sid": sid, "payload": payload, "address": address}
                self.redis.publish(_inbox(owner["host"]), json.dumps(message))
            elif event in ROUTED_ONCE:   # its process is gone: answered here ("not open")
                self.classroom.handle(event, sid, payload, address)
            else:
                self._lost(event, sid, payload, address, code, owner)
        except self.errors:
            log.warning("classroom store unreachable for %s", event)
            self.classroom.refuse(sid, event, "store_down", STORE_DOWN)

    def _code(self, event: str, sid: str, payload: Any) -> str | None:
        """The room an event is for: named in the payload (``join``, ``claim``, and the one-off
        questions by token), else the room the sender last joined or claimed."""
        named = normalize_code(payload.get("code")) if isinstance(payload, dict) else None
        if event in ROUTED_ONCE:
            return named
        if event in ROUTED_BY_CODE and named:
            self.codes[sid] = named
        return self.codes.pop(sid, None) if event == "leave" else self.codes.get(sid)

    def _lost(self, event: str, sid: str, payload: Any, address: str, code: str,
              owner: dict[str, str]) -> None:
        """The room's process is gone: its instructor reopens it here, anyone else is told."""
        token = payload.get("token") if isinstance(payload, dict) else None
        if event == "claim" and isinstance(token, str) and _hash(token) == owner.get("token"):
            self.classroom.reopen(sid, code, token, address)
        elif event != "leave":
            self.codes.pop(sid, None)
            self.classroom.lost(sid, code)

    def taken(self, code: str) -> bool:
        """Whether another process's room has ``code``; a new room waits for Redis to say."""
        try:
            return bool(self.redis.exists(_key(code)))
        except self.errors:
            log.warning("classroom store unreachable: no room can be created")
            raise RoomError("store_down", STORE_DOWN) from None

    def opened(self, room: Room) -> None:
        try:
            self.redis.set(_key(room.code), self._record(room), ex=self.ttl)
        except self.errors:   # the heartbeat announces it once Redis is back
            log.warning("could not announce room %s yet", room.code)

    def closed(self, room: Room) -> None:
        try:
            self.redis.delete(_key(room.code))
        except self.errors:
            log.warning("could not withdraw room %s from the store", room.code)

    def refresh(self, rooms: Iterable[Room]) -> None:
        """Done by the heartbeat (``_beat``), which survives a Redis restart."""

    # ----- background ------------------------------------------------------------------------
    def _beat(self) -> None:
        """Say this process is alive, re-write its rooms' keys, check the owners of the others."""
        suspects: set[str] = set()
        while self.running:
            try:
                pipe = self.redis.pipeline()
                pipe.set(_host_key(self.host), "1", ex=self.HOST_TTL_S)
                for room in list(self.classroom.registry.rooms.values()):
                    pipe.set(_key(room.code), self._record(room), ex=self.ttl)
                pipe.execute()
                suspects = self._check_owners(suspects)
            except self.errors:
                log.warning("classroom heartbeat: Redis unreachable")
            except Exception:
                log.exception("classroom heartbeat failed")
            socketio.sleep(self.BEAT_S)

    def _check_owners(self, suspects: set[str]) -> set[str]:
        """Rooms whose owner missed its heartbeat twice in a row are lost: tell their people."""
        local = set(self.classroom.registry.rooms)
        by_code: dict[str, list[str]] = {}
        for sid, code in list(self.codes.items()):
            if code not in local:
                by_code.setdefault(code, []).append(sid)
        missing: set[str] = set()
        for code, sids in by_code.items():
            owner = self._owner(code)
            if owner is None or owner["host"] == self.host or self._alive(owner["host"]):
                continue
            if code not in suspects:
                missing.add(code)
                continue
            for sid in sids:
                self.codes.pop(sid, None)
                self.classroom.lost(sid, code)
        return missing

    def _listen(self) -> None:
        """Handle events relayed by other processes for rooms this process owns; reconnect (with
        backoff) whenever the connection to Redis breaks."""
        delay = self.BACKOFF_S[0]
        while self.running:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(_inbox(self.host))
                delay = self.BACKOFF_S[0]
                for message in pubsub.listen():
                    self._relayed(message)
            except self.errors:
                log.warning("classroom relay: Redis unreachable, retrying in %.1f s", delay)
                socketio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.BACKOFF_S[1])

    def _relayed(self, message: dict[str, Any]) -> None:
        try:
            data = json.loads(message["data"])
            self.classroom.handle(str(data["event"]), str(data["sid"]), data.get("payload"),
                                  str(data.get("address")))
        except Exception:
            log.exception("bad relayed classroom message")

    # ----- the directory -----------------------------------------------------------------------
    def _record(self, room: Room) -> str:
        return json.dumps({"host": self.host, "token": _hash(room.token)})

    def _owner(self, code: str) -> dict[str, str] | None:
        raw = self.redis.get(_key(code))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) and "host" in record else None

    def _alive(self, host: str) -> bool:
        return bool(self.redis.exists(_host_key(host)))


def _key(code: str) -> str:
    return f"herdlab:room:{code}"


def _inbox(host: str) -> str:
    return f"herdlab:inbox:{host}"


def _host_key(host: str) -> str:
    return f"herdlab:host:{host}"


def _hash(token: str) -> str:
    """What the directory keeps of a control token: enough to check one, not to use it."""
    return hashlib.sha256(token.encode()).hexdigest()
