"""The default Socket.IO namespace accepts connections under both async modes."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.parametrize("async_mode", ["eventlet", "threading"])


def test_client_connects_and_disconnects(sio_client):
    c = sio_client("/")
    assert c.is_connected()
    c.disconnect()
    assert not c.is_connected()
