"""The project's only patches of libraries' internals (``webapp/asyncmode.py``: WebSocket
message limits and eventlet's unmasking) have no public replacement, so they are tied to the
versions they were written for: these tests fail on an upgrade, before the patch can break
silently, and check that each patched internal still is what the patch expects."""
from __future__ import annotations

import inspect
import os
import re
from importlib.metadata import version

import pytest

from tests.browser.conftest import ROOT
from webapp import asyncmode
from webapp.config import ASYNC_MODES
from webapp.extensions import socketio


@pytest.mark.parametrize("package", sorted(asyncmode.PATCHED_VERSIONS))
def test_a_patched_library_is_the_version_its_patch_was_written_for(package):
    pinned = asyncmode.PATCHED_VERSIONS[package]
    assert version(package) == pinned, (
        f"{package} {version(package)} is installed, but webapp/asyncmode.py patches its "
        f"internals as of {pinned}: re-read the patch against the new version, then update "
        "PATCHED_VERSIONS and requirements.txt")
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(rf"^{re.escape(package)}=={re.escape(pinned)}$", requirements, re.M | re.I)


def test_eventlet_still_has_the_message_class_and_unmasking_the_patch_replaces():
    asyncmode.eventlet_module()
    from eventlet import websocket

    source = inspect.getsource(websocket)
    assert source.count("def _apply_mask(") == 1 and "self._apply_mask(" in source
    assert "self.Message(" in source
    assert list(inspect.signature(websocket.RFC6455WebSocket.Message.push).parameters)[:3] \
        == ["self", "data", "final"]


def test_the_faster_unmasking_gives_the_same_bytes_as_eventlets():
    asyncmode.eventlet_module()
    from eventlet.websocket import RFC6455WebSocket

    mask = os.urandom(4)
    data = os.urandom(1031)
    expected = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert asyncmode.apply_mask(data, mask) == expected
    assert asyncmode.apply_mask(data[5:], mask, offset=5) == expected[5:]
    if not getattr(RFC6455WebSocket, "herdlab_bounded", False):   # eventlet's own, unpatched
        assert RFC6455WebSocket._apply_mask(data, mask) == expected


@pytest.mark.parametrize("async_mode", [m for m in ASYNC_MODES if m != "eventlet"])
def test_simple_websocket_gets_the_message_limit(app, async_mode):
    """The driver's WebSocket class keeps simple-websocket's arguments in ``server_args``; the
    bounded subclass adds ``max_message_size`` there."""
    ws_class = socketio.server.eio._async["websocket"]
    ws = ws_class(lambda _: None, socketio.server.eio)
    settings = app.extensions["herdlab.settings"]
    assert ws.server_args["max_message_size"] == settings.max_message_kb << 10
    assert "max_message_size" in inspect.signature(__import__("simple_websocket").Server).parameters


def test_the_message_gate_sits_where_python_socketio_registered_its_handler(app):
    handler = socketio.server.eio.handlers["message"]
    assert handler.__name__ == "gated"
