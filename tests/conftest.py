"""Fixtures shared by every test: the app, its HTTP client and Socket.IO test clients.

Browser fixtures (a real server in a subprocess plus headless Chromium) live in
``tests/browser/conftest.py``.
"""
from __future__ import annotations

import os
from typing import Callable, Iterator

import pytest
from engineio.payload import Payload
from playwright.sync_api import expect

from webapp import create_app
from webapp.extensions import socketio

# Workers started by the tests (in-process pools, and every server's, which inherit this) are
# demoted 2 nice steps at most, not the app's 19: a heavy run that keeps computing would yield to
# every other test of the suite and to a busy core beside it, and never finish in time on a loaded
# machine. The demotion itself is tested with the app's own default (test_worker_priority.py, and
# tests/reliability, whose servers set it back to 19).
os.environ.setdefault("HERDLAB_WORKER_NICE_MAX", "2")

# Playwright's `expect` gives up after 5 s unless told otherwise, whatever the page's own default:
# a page that shows the right thing 6 s late on a busy machine is slow, not wrong. Every wait on
# what a page shows gets 20 s (a test that means a tighter bound says so, or measures it).
expect.set_options(timeout=20_000)

# The polling transport decodes at most 16 packets per HTTP request by default; a burst of frames
# from a run would be refused as too many packets (a known trap with the Python test client).
Payload.max_decode_packets = 500


@pytest.fixture
def async_mode() -> str:
    """Socket.IO test modules parametrize this to run under both eventlet and threading."""
    return "threading"


@pytest.fixture
def app_config(async_mode: str) -> dict:
    """Settings overrides for the app under test; a test may override this fixture.

    No spare workers: every test has an app of its own, so spares started ahead of its next run
    were two worker starts per test, never used (spares are tested in tests/transport/test_pool.py
    and tests/reliability/test_spares.py)."""
    return {"testing": True, "async_mode": async_mode, "secret_key": "test-secret",
            "worker_spares": 0}


@pytest.fixture
def app(app_config: dict):
    app = create_app(app_config)
    yield app
    app.extensions["herdlab.runs"].close()   # its runs' tasks and worker processes


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sio_client(app) -> Iterator[Callable[..., object]]:
    """Factory for Socket.IO test clients: ``sio_client("/lab")``; all are disconnected afterwards."""
    made = []

    def make(namespace: str = "/", **kwargs):
        c = socketio.test_client(app, namespace=namespace, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        if c.is_connected():
            c.disconnect()


# Tests that time something -- a server's answers or its memory under attack, the pacing of
# frames, a worker's replies, a class seeing its instructor's switch within a second -- or that
# drive the real PostgreSQL and Redis: `make test` runs them after the others have run in
# parallel (Makefile), one at a time in two streams (marker `real`, and the rest), so at most one
# other test's CPU lands inside their measurements.
SERIAL = ("tests/reliability/", "tests/real/", "tests/transport/test_lab_stream.py",
          "tests/transport/test_worker.py", "tests/browser/test_classroom.py")


# The parallel part hands whole files to its workers in collection order (the Makefile's
# --no-loadscope-reorder keeps it; xdist would order files by their number of tests): the longest
# files go first, so that none of them starts last and runs on alone at the end (a lesson's
# walk-through with the capstone's million viewers is minutes). Longest first, as
# `make test --durations` showed.
LONGEST_FIRST = ("tests/browser/test_lessons.py",
                 "tests/browser/test_truth.py", "tests/browser/test_playback.py",
                 "tests/transport/test_lab_payloads.py", "tests/browser/test_labels.py",
                 "tests/engine/test_engine_combinations.py", "tests/browser/test_story.py",
                 "tests/browser/test_interventions.py", "tests/browser/test_lab.py",
                 "tests/transport/test_lab_inputs.py", "tests/engine/test_engine_memory.py",
                 "tests/engine/test_engine_golden.py", "tests/browser/test_csp.py",
                 "tests/browser/test_projector.py")


# The lessons' claims on many seeds (1-20 and a random draw of 20): CPU and nothing else, minutes
# of it. `make test` runs them in a process of their own at a low priority, beside both parts, so
# they use the cores the waiting tests leave idle instead of lengthening the run; beside the
# serial part they are the busy core those tests must bear (issue 17).
CLAIMS = ("tests/lessons/test_lessons_random.py::",)


def pytest_collection_modifyitems(items):
    for item in items:
        if any(part in item.nodeid for part in SERIAL):
            item.add_marker(pytest.mark.serial)
        if item.nodeid.startswith(CLAIMS):
            item.add_marker(pytest.mark.claims)
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))   # (stable)
