"""Bounded outgoing queues: a client that does not read cannot make the server buffer for it.

Engine.IO queues every packet for a client until its connection takes it. A client that never
reads (but answers pings, so it is never timed out) would grow that queue by every frame of its
room, megabytes a second. So:

- a lab run asks ``congested`` before each frame and merges ticks instead (the pacer's ``behind``);
- frames sent to a room are dropped for the members whose queue already holds ``MAX_QUEUED``
  packets (their next frame's ``seq`` jumps; a page that sees a gap asks for a ``rejoin``);
- a client whose queue reaches ``HARD_LIMIT`` packets of any kind is disconnected.

``guard`` installs the last two on the Socket.IO server (``webapp.security.init_app``).
"""
from __future__ import annotations

import logging
from typing import Any

from webapp.extensions import socketio

log = logging.getLogger(__name__)

MAX_QUEUED = 8          # packets waiting for one client before its frames are merged or dropped
HARD_LIMIT = 1_000      # packets waiting for one client before it is disconnected
ROOM_FRAME = '2/room,["frame",'


def backlog(eio_sid: str | None) -> int:
    sock = socketio.server.eio.sockets.get(eio_sid) if eio_sid else None
    return sock.queue.qsize() if sock is not None else 0


def congested(sid: str, namespace: str) -> bool:
    """Whether the connection behind ``sid`` has ``MAX_QUEUED`` packets still to take."""
    return backlog(socketio.server.manager.eio_sid_from_sid(sid, namespace)) >= MAX_QUEUED


class Stats:
    dropped_frames = 0
    disconnected = 0


def guard(server: Any) -> None:
    """Wrap the Engine.IO server's ``send_packet`` (every packet to a client, broadcasts
    included, goes through it) with the two bounds above."""
    eio = server.eio
    send_packet = eio.send_packet

    def bounded_send_packet(eio_sid: str, pkt: Any) -> None:
        queued = backlog(eio_sid)
        if queued >= MAX_QUEUED:
            if queued >= HARD_LIMIT:
                Stats.disconnected += 1
                log.warning("disconnecting %s: %d packets it does not read", eio_sid, queued)
                eio.disconnect(eio_sid)
                return
            data = getattr(pkt, "data", None)
            if isinstance(data, str) and data.startswith(ROOM_FRAME):
                Stats.dropped_frames += 1
                return
        send_packet(eio_sid, pkt)

    eio.send_packet = bounded_send_packet
