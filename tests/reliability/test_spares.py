"""Spares that are alive (issue 17, finding 8).

With the idle spare workers stopped (SIGSTOP), an honest run was handed a stopped spare: its
first frame came after 10 s, when the spare was continued, and it would have failed at 30 s. A
killed spare stayed a zombie until a later run happened to reap it. Here every spare is stopped,
and a classmate's run and summary are served within the honest bound (the stopped spares are
killed and replaced); then a spare is killed, and it is reaped at once and replaced.
"""
from __future__ import annotations

import os
import signal
import time

from tests.reliability.conftest import SMALL_RUN, first_frame_s, settle, workers

SERVED_S = 2.0
SPARES = 2    # the server's default (HERDLAB_WORKER_SPARES)


def waiting_spares(pid: int) -> list[int]:
    """Once the server has its spares (and any worker back from a run), all alive and waiting
    (sleeping), their PIDs."""
    def ready() -> bool:
        states = list(workers(pid).values())
        return len(states) >= SPARES and set(states) == {"S"}
    assert settle(ready, timeout=15), workers(pid)
    time.sleep(0.3)   # (a worker back from the run above may still be on its way)
    assert settle(ready, timeout=15), workers(pid)
    return list(workers(pid))


def test_stopped_spares_are_never_handed_out(default_server):
    server = default_server
    server.post("/api/run", SMALL_RUN, timeout=10)    # the first run starts the spares
    stopped = waiting_spares(server.proc.pid)
    try:
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        assert first_frame_s(server.url) < SERVED_S
        started = time.monotonic()
        status, body = server.post("/api/run", SMALL_RUN, timeout=10)
        assert status == 200, body
        assert time.monotonic() - started < SERVED_S
        # The stopped ones were killed and reaped; live spares took their places.
        assert settle(lambda: not set(stopped) & set(workers(server.proc.pid)), timeout=5)
        waiting_spares(server.proc.pid)
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def test_a_killed_spare_is_reaped_at_once_and_replaced(default_server):
    server = default_server
    server.post("/api/run", SMALL_RUN, timeout=10)
    spare = waiting_spares(server.proc.pid)[0]
    os.kill(spare, signal.SIGKILL)
    # Reaped (no zombie left) without any run or request to notice it, and replaced.
    assert settle(lambda: spare not in workers(server.proc.pid), timeout=2)
    assert spare not in waiting_spares(server.proc.pid)
    assert first_frame_s(server.url) < SERVED_S
