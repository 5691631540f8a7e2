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
    """A real ``redis-server`` on a free port for this test run, stopped afterwards.

    ``make test`` installs Debian's redis-server when missing (tests/require.sh); under CI a missing
    server is a failure, never a skip.
    """
    import os
    import shutil
    import subprocess
    import time

    import redis

    from tests.browser.conftest import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed: run `apt-get install redis-server` (or `make test`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
    yield url
    client.close()
    proc.terminate()
    proc.wait(timeout=10)
