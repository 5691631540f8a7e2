"""Caps on rooms and members, enforced through the /room namespace."""
from __future__ import annotations

import pytest
from room_helpers import NS, wait_for

pytestmark = pytest.mark.parametrize("async_mode", ["eventlet", "threading"])


@pytest.fixture
def app_config(async_mode):
    return {"testing": True, "async_mode": async_mode, "secret_key": "t", "max_rooms": 2, "max_room_members": 2}


def test_room_and_member_caps(sio_client, instructor, student):
    other = sio_client(NS)
    other.emit("create", namespace=NS)
    third = sio_client(NS)
    third.emit("create", namespace=NS)
    assert wait_for(third, "room_error")["reason"] == "rooms_full"
    student(), student()
    late = sio_client(NS)
    late.emit("join", {"code": instructor.room["code"]}, namespace=NS)
    assert wait_for(late, "room_error")["reason"] == "room_full"
