"""The default Socket.IO namespace accepts connections under every async mode."""
from __future__ import annotations

import pytest

from webapp.config import ASYNC_MODES

pytestmark = pytest.mark.parametrize("async_mode", ASYNC_MODES)


def test_client_connects_and_disconnects(sio_client):
    c = sio_client("/")
    assert c.is_connected()
    c.disconnect()
    assert not c.is_connected()
