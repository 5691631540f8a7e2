"""Messages between the web process and a worker process, over one Unix socket pair.

A message is any picklable Python value, framed as a 4-byte big-endian length and its pickle. Both
ends are our own code (the worker pickles only what it computed), so pickle is safe here, and it
is the cheapest way to move event tuples between processes.

The two ends differ on purpose:

- ``Channel`` (the web process) never blocks: the socket is non-blocking, ``receive`` takes what
  has arrived and ``send`` queues what the socket cannot take yet. So it behaves the same under
  eventlet (a green socket in non-blocking mode calls straight through) and under threading, and a
  pacer tick or a request handler can read it without ever holding the event loop.
- ``WorkerEnd`` (the worker process) blocks, with an optional timeout: the worker has nothing
  else to do while it waits for credit or a command.
"""
from __future__ import annotations

import pickle
import select
import socket
import struct
from typing import Any

HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 << 20      # far above any chunk a worker sends; a larger length is corruption
READ_SIZE = 1 << 18


class ChannelClosed(Exception):
    """The other end went away (it exited, was killed, or closed the socket)."""


def frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class _Frames:
    """Splits a byte stream into message bodies."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        buf = self._buf
        start = 0
        while len(buf) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(buf, start)
            if size > MAX_MESSAGE:
                raise ChannelClosed(f"message of {size} bytes: the stream is corrupt")
            end = start + HEADER.size + size
            if len(buf) < end:
                break
            out.append(bytes(buf[start + HEADER.size:end]))
            start = end
        if start:
            del buf[:start]
        return out


class Channel:
    """The web process's end: non-blocking, bounded reads per call."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self._frames = _Frames()
        self._out = bytearray()
        self.closed = False

    def send(self, message: Any) -> None:
        """Queue ``message`` and push what the socket takes now (the rest goes on the next call)."""
        if self.closed:
            return
        self._out += frame(message)
        self.flush()

    def flush(self) -> None:
        while self._out and not self.closed:
            try:
                sent = self.sock.send(self._out)
            except BlockingIOError:
                return
            except OSError:
                self.close()
                return
            del self._out[:sent]

    def receive(self, max_bytes: int = 4 << 20) -> list[bytes]:
        """Message bodies (still pickled) that have arrived, reading at most ~``max_bytes``.

        Raises ``ChannelClosed`` once the other end is gone and everything it sent was read.
        """
        if self.closed:
            raise ChannelClosed("closed")
        self.flush()
        bodies: list[bytes] = []
        read = 0
        while read < max_bytes:
            try:
                data = self.sock.recv(READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                self.close()
                raise ChannelClosed(str(exc)) from None
            if not data:
                self.close()
                if bodies:
                    return bodies + self._frames.feed(b"")
                raise ChannelClosed("the worker closed its end")
            read += len(data)
            bodies.extend(self._frames.feed(data))
        return bodies

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


class WorkerEnd:
    """The worker process's end: blocking sends, receives with a timeout."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        self.sock = sock
        self._frames = _Frames()
        self._ready: list[bytes] = []

    def send(self, message: Any) -> int:
        """Send one message; returns its size in bytes (what flow control counts)."""
        data = frame(message)
        try:
            self.sock.sendall(data)
        except OSError as exc:   # broken pipe, reset: the web process is gone
            raise ChannelClosed(str(exc)) from None
        return len(data)

    def receive(self, timeout: float | None) -> Any:
        """The next message, or None if none arrives within ``timeout`` (0: only what is here)."""
        while not self._ready:
            if timeout is not None:
                readable, _, _ = select.select([self.sock], [], [], timeout)
                if not readable:
                    return None
            try:
                data = self.sock.recv(READ_SIZE)
            except OSError as exc:   # reset by a web process that died
                raise ChannelClosed(str(exc)) from None
            if not data:
                raise ChannelClosed("the web process closed its end")
            self._ready.extend(self._frames.feed(data))
            timeout = None   # the rest of a message follows at once: wait for all of it
        return pickle.loads(self._ready.pop(0))


def load(body: bytes) -> Any:
    return pickle.loads(body)
