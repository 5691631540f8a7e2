"""A private ``redis-server`` for tests, on a free port, which a test may kill and start again.

``make test`` installs Debian's redis-server when missing (tests/require.sh); under CI a missing
server is a failure, never a skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import redis

from tests.browser.conftest import free_port


class RedisServer:
    """A private ``redis-server`` on a fixed port, which a test may kill and start again."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            message = "redis-server is not installed: run `apt-get install redis-server`"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop it for good (the end of a test run)."""
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=10)
