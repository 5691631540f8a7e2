"""Clients for the reliability tests: a real Socket.IO client, and a raw WebSocket that can send
what no library would (huge frames, endless fragments, binary attachments) and can stop reading."""
from __future__ import annotations

import base64
import json
import os
import queue
import socket
import struct
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import socketio


class SioClient:
    """python-socketio on the websocket transport; every event of ``ns`` goes to a queue."""

    def __init__(self, url: str, ns: str) -> None:
        self.ns = ns
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, data=None: self.events.put((event, data)), namespace=ns)
        self.sio.connect(url, namespaces=[ns], transports=["websocket"], wait_timeout=10)

    def emit(self, event: str, payload: Any = None) -> None:
        self.sio.emit(event, payload, namespace=self.ns)

    def wait(self, name: str, until=lambda _: True, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            event, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if event == name and until(data):
                return data

    def drain(self) -> list[tuple[str, Any]]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def close(self) -> None:
        """Hang up without waiting for the server's goodbye (Werkzeug, under threading, takes
        seconds to close a WebSocket; nothing here needs to wait for it)."""
        if self.sio.connected:
            ws = self.sio.eio.ws
            if ws is not None:
                # FIN now: a bare close() leaves the socket open while the client's reader
                # thread is blocked in recv() on it (Linux), so the server saw the hang-up only
                # when it next wrote (up to a ping interval, 25 s, later).
                hang_up(ws.sock)
                ws.shutdown()                # no close handshake (websocket-client waits 3 s)
            self.sio.eio.disconnect(abort=True)


class RawSocket:
    """A hand-made WebSocket to ``/socket.io/`` (Engine.IO 4): masked frames built byte by byte."""

    def __init__(self, url: str, receive_buffer: int | None = None) -> None:
        parts = urlsplit(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:   # a small window: what it does not read piles up on the server
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head[:100]
        self.buffer = head.split(b"\r\n\r\n", 1)[1]
        self.pinger: threading.Thread | None = None

    def frame(self, payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(
            (mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big") if n else b""
        return head + mask + masked

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.frame(text.encode()))

    def read_text(self, timeout: float = 5.0) -> str | None:
        """The next text frame's payload (unfragmented, unmasked, as servers send); None at close."""
        self.sock.settimeout(timeout)
        while True:
            while len(self.buffer) < 2:
                if not self._fill():
                    return None
            b0, b1 = self.buffer[0], self.buffer[1]
            n, at = b1 & 0x7F, 2
            if n == 126:
                n, at = struct.unpack("!H", self._need(4)[2:4])[0], 4
            elif n == 127:
                n, at = struct.unpack("!Q", self._need(10)[2:10])[0], 10
            data = self._need(at + n)[at:at + n]
            self.buffer = self.buffer[at + n:]
            if b0 & 0x0F == 8:
                return None
            if b0 & 0x0F == 1:
                return data.decode()

    def _need(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError("closed")
        return self.buffer

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise
        except OSError:
            return False
        self.buffer += chunk
        return bool(chunk)

    def open_namespace(self, ns: str) -> None:
        """Engine.IO open, then the Socket.IO namespace connect, as a browser does."""
        assert (self.read_text() or "").startswith("0")
        self.send_text(f"40{ns},")
        while not (self.read_text() or "").startswith(f"40{ns},"):
            pass

    def emit(self, ns: str, event: str, payload: Any) -> None:
        self.send_text(f"42{ns}," + json.dumps([event, payload]))

    def pong_blindly(self, every_s: float = 5.0) -> None:
        """Answer pings without ever reading (Engine.IO only checks that a pong comes)."""
        def loop() -> None:
            while True:
                time.sleep(every_s)
                try:
                    self.send_text("3")
                except OSError:
                    return

        self.pinger = threading.Thread(target=loop, daemon=True)
        self.pinger.start()

    def closed_by_server(self, timeout: float = 5.0) -> bool:
        """Whether the server closes the connection (close frame or EOF) within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.read_text(timeout=max(0.05, deadline - time.monotonic())) is None:
                    return True
            except socket.timeout:
                return False
            except (ConnectionError, OSError):
                return True
        return False

    def close(self) -> None:
        hang_up(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def hang_up(sock: socket.socket | None) -> None:
    """Send FIN at once, whatever other thread is blocked reading ``sock``."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:          # already closed, or never connected
        pass
