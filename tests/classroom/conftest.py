"""Fixtures for the /room Socket.IO tests: the app's classroom, an instructor with a room, students."""
from __future__ import annotations

import pytest
from room_helpers import NS, received, wait_for

from webapp.classroom.namespace import STATE_KEY


@pytest.fixture
def classroom(app):
    return app.extensions[STATE_KEY].classroom


@pytest.fixture
def instructor(sio_client):
    c = sio_client(NS)
    c.emit("create", {}, namespace=NS)
    (_, room), = received(c, "room")
    c.room = room
    return c


@pytest.fixture
def student(sio_client, instructor):
    def make(code: str | None = None):
        c = sio_client(NS)
        c.emit("join", {"code": code or instructor.room["display_code"]}, namespace=NS)
        c.joined = wait_for(c, "joined")
        return c

    return make


@pytest.fixture(scope="session")
def redis_url():
    """A real ``redis-server`` on a free port for this test run, stopped afterwards."""
    from tests.reliability.redis_server import RedisServer

    server = RedisServer()
    yield server.url
    server.stop()
