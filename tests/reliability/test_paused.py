"""Paused is idle (issue 17, finding 6).

A paused run's task slept 0 s forever (its next tick was in the past): one paused run took a
whole web core, 30 took 93-96%, for as long as the idle limit (120 s), and a ``seek`` with
``pause: true`` did the same. Here an attacker pauses as many runs as the server holds, half of
them through a paused seek; the server process then uses almost no CPU (measured as its own CPU
time from /proc, not wall time), and a classmate is served at once.
"""
from __future__ import annotations

import time

import pytest

from tests.reliability.clients import SioClient
from tests.reliability.conftest import SMALL_RUN, Server, first_frame_s, settle
from webapp.config import ASYNC_MODES

SERVER_ENV = {"HERDLAB_MAX_RUNS_PER_SERVER": "13"}
RUNS = 12            # 6 connections x 2 runs, one slot left for the classmate
IDLE_SHARE = 0.05    # of one core
WINDOW_S = 2.0
SERVED_S = 2.0
LONG = {"scenario": {"clients": {"count": 50}, "duration_s": 60.0}, "speed": 1.0}


@pytest.fixture(scope="module", params=ASYNC_MODES)
def server(request):
    """Every async mode: how a paused run sleeps (the mode's event) is each mode's own."""
    srv = Server(request.param, SERVER_ENV)
    yield srv
    srv.stop()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (its threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0   # utime, stime in clock ticks (USER_HZ)


def cpu_share(pid: int, window_s: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(window_s)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start)


def pause_all(server) -> list[SioClient]:
    """Start ``RUNS`` long runs; pause half of them, seek the other half with ``pause: true``;
    return once every one says it is paused at its instant."""
    clients = [SioClient(server.url, "/lab") for _ in range(RUNS // 2)]
    for i, client in enumerate(clients):
        for j in range(2):
            client.emit("start", LONG)
            run_id = client.wait("started")["run_id"]
            if (i + j) % 2:
                client.emit("control", {"run_id": run_id, "action": "pause"})
            else:
                client.emit("control", {"run_id": run_id, "action": "seek", "value": 20.0,
                                        "pause": True})
            client.wait("state", lambda s: s["run_id"] == run_id and s["status"] == "paused"
                        and s["action"] in ("pause", "seek"), timeout=15)
    return clients


def test_paused_and_seeking_runs_leave_the_server_idle(server):
    clients = pause_all(server)
    try:
        time.sleep(0.5)   # the frames in flight are sent; the workers have filled their windows
        share = cpu_share(server.proc.pid, WINDOW_S)
        assert share < IDLE_SHARE, f"{RUNS} paused runs kept the web process at {share:.0%} " \
                                   "of a core"
        started = time.monotonic()
        status, body = server.post("/api/run", SMALL_RUN, timeout=SERVED_S)
        assert status == 200, body
        assert time.monotonic() - started < SERVED_S
        assert first_frame_s(server.url) < SERVED_S
    finally:
        for client in clients:
            client.close()
    # Their slots come back once the connections are gone (the next test starts from none).
    assert settle(lambda: server.get("/healthz")[0] == 200 and cpu_share(server.proc.pid, 0.5)
                  < IDLE_SHARE, timeout=10)
