"""Fixtures of the deployment tests: the whole production path (``production.Site``), Chromium."""
from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest

from tests.browser.conftest import browser, pytest_runtest_makereport  # noqa: F401 (fixtures)
from tests.deploy.production import Site

# nginx, openssl and systemd-analyze are Debian packages `make test` installs (tests/require.sh).
PROGRAMS = ("nginx", "openssl", "redis-server")


def need(program: str) -> None:
    """A missing program is a failure under CI and a skip that names it elsewhere."""
    if shutil.which(program) or os.path.exists(f"/usr/sbin/{program}"):
        return
    message = f"{program} is not installed: `make test` installs it as root (tests/require.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    for program in PROGRAMS:
        need(program)
    from tests.reliability.redis_server import RedisServer

    redis = RedisServer()
    try:
        running = Site(tmp_path_factory.mktemp("site"), redis.url)
        yield running
        running.stop()
    finally:
        redis.stop()
