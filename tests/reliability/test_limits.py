"""Limits that respect the operator's (issue 17, finding 1).

Started under a hard ``RLIMIT_AS`` (``ulimit -v``, a container's or systemd's ``LimitAS=``),
every experiment failed: a worker set its own limits with a hard value of "unlimited", which
only a privileged process may do. The server here starts as ``make run`` starts it, under a hard
limit lower than its configured per-worker memory, and a classmate's experiments run: a summary
through ``POST /api/run`` and a live run over Socket.IO, both within the honest bound.
"""
from __future__ import annotations

import time

import pytest

from tests.reliability.clients import SioClient
from tests.reliability.conftest import SMALL_RUN, Server

LIMIT = 3 << 30          # the operator's hard (and soft) limit on address space
CONFIGURED_MB = 8192     # the server's own per-worker limit, above it
SERVED_S = 2.0


OPERATORS_LIMIT = ("prlimit", f"--as={LIMIT}:{LIMIT}", "--")   # (util-linux: ulimit -v's effect)


def limits_of(pid: int) -> str:
    with open(f"/proc/{pid}/limits") as f:
        return next(line for line in f if line.startswith("Max address space"))


@pytest.fixture(scope="module")
def limited():
    """As ``make run`` starts it (eventlet; the limits are the workers', whatever the mode)."""
    srv = Server("eventlet", {"HERDLAB_WORKER_MEMORY_MB": str(CONFIGURED_MB)},
                 launcher=OPERATORS_LIMIT)
    yield srv
    srv.stop()


def test_under_a_hard_memory_limit_a_summary_and_a_live_run_work(limited):
    assert limits_of(limited.proc.pid).split()[3:5] == [str(LIMIT)] * 2
    for _ in range(3):   # the first job of a fresh worker, then reused ones
        started = time.monotonic()
        status, body = limited.post("/api/run", SMALL_RUN, timeout=10)
        assert status == 200, body
        assert body["requests"] == 50
        assert time.monotonic() - started < SERVED_S
    lab = SioClient(limited.url, "/lab")
    try:
        started = time.monotonic()
        lab.emit("start", {"scenario": {"clients": {"count": 100}, "duration_s": 1.0},
                           "speed": 20.0})
        run = lab.wait("started", timeout=10)
        frame = lab.wait("frame", lambda f: f["run_id"] == run["run_id"], timeout=10)
        assert time.monotonic() - started < SERVED_S, "the first frame came late"
        assert frame["seq"] == 0
        done = lab.wait("done", lambda d: d["run_id"] == run["run_id"], timeout=10)
        assert done["summary"]["requests"] == 100
        errors = [data for name, data in lab.drain() if name == "error"]
        assert not errors, errors
    finally:
        lab.close()
