"""gevent, the production mode, at the edges: the same WebSocket limits as the other modes, a
run streams, and a closed WebSocket leaves no noise in the log (``asyncmode.server_options``).
The reliability suite attacks eventlet and threading at length; these are its checks that
depend on the async server's own WebSocket code."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.reliability.clients import RawSocket, SioClient
from tests.reliability.conftest import Server
from tests.reliability.test_edges import binary_attachments_disconnect, endless_fragments, refused

MB = 1 << 20


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server("gevent", {"HERDLAB_REAL_SERVICES": "off"})
    yield running
    running.stop()


def test_the_server_says_it_runs_gevent(server):
    assert server.get("/healthz")[1]["async_mode"] == "gevent"


def test_a_run_streams_over_a_websocket_and_its_close_leaves_no_noise(server):
    client = SioClient(server.url, "/lab")
    try:
        client.emit("start", {"scenario": {"clients": {"count": 100}, "duration_s": 1.0}, "speed": 10})
        assert client.wait("done", timeout=30)["summary"]
    finally:
        client.sio.disconnect()
    assert server.get("/healthz")[0] == 200
    assert "Expected GET method" not in server.log.read_text()


def test_a_1_mb_websocket_frame_is_refused(server):
    with RawSocket(server.url) as ws:
        try:
            ws.sock.sendall(ws.frame(b"4" + b"x" * MB))
        except OSError:
            pass
        assert refused(ws, server.mode)


def test_endless_fragments_are_cut_at_the_message_limit(server):
    with RawSocket(server.url) as ws:
        assert endless_fragments(ws) < 20 * MB, "the server kept reading fragments"


def test_binary_attachments_are_refused_by_disconnecting(server):
    with RawSocket(server.url) as ws:
        binary_attachments_disconnect(ws)
    assert server.get("/healthz")[0] == 200
