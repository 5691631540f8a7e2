"""Memory comes back (issue 9, findings 3 and 4), without a forced garbage collection anywhere.

Simulations live and die in worker processes; the web process keeps, per run, a bounded window
of computed events while it plays and, once a run has ended, only its scenario and inputs (for a
replay by seek). So repeated rounds of large runs leave the server's RSS where the first round
left it.
"""
from __future__ import annotations

import time

import pytest

from tests.reliability.clients import RawSocket, SioClient
from tests.reliability.conftest import settle

MARGIN_MB = 25
BIG = {"preset": "drake-live", "scenario": {"clients": {"count": 300_000}}, "speed": 4.0}


def round_of_large_runs(server, connections: int = 3, play_s: float = 0.6) -> None:
    """One connection plays its run to the end (``done``); the others vanish after a moment.

    It waits on the state (``done``), up to a generous deadline, not on each frame's gap: beside a
    busy core on a slow VM one gap between frames exceeded 10 s (run 49), which says nothing about
    memory. Every socket is closed however it ends (one left open was reported by the garbage
    collector in the next tests, and failed them)."""
    clients = [RawSocket(server.url) for _ in range(connections)]
    try:
        for c in clients:
            c.open_namespace("/lab")
            c.emit("/lab", "start", {**BIG, "speed": 20.0})
        deadline = time.monotonic() + play_s
        for c in clients[1:]:         # read (and drop) frames for a moment, then vanish
            while time.monotonic() < deadline:
                try:
                    c.read_text(timeout=0.2)
                except OSError:
                    break
            c.close()
        finished = time.monotonic() + 60
        while time.monotonic() < finished:   # a complete run: frames, then done
            try:
                text = clients[0].read_text(timeout=5)
            except TimeoutError:
                continue
            assert text is not None, "the server hung up before the run was done"
            if text.startswith('42/lab,["done"'):
                break
        else:
            raise AssertionError("the complete run did not finish in 60 s")
    finally:
        for c in clients:
            c.close()


# Three rounds, each waiting up to 60 s for its complete run: 11-26 s for the test in a quiet suite
# on this slow VM, 59-81 s beside a busy core (runs 52, 54, 58). Its timeout is above the three
# deadlines.
@pytest.mark.timeout(240)
def test_rounds_of_large_runs_leave_the_servers_memory_where_the_first_round_left_it(server):
    """Complete runs and abandoned ones (the finding: +90 MB per complete 1M-viewer run, and
    405 -> 2,773 MB over rounds of abandoned ones)."""
    round_of_large_runs(server)
    time.sleep(0.5)
    first = server.rss_mb()
    for _ in range(2):
        round_of_large_runs(server)
    time.sleep(0.5)
    assert server.rss_mb() - first < MARGIN_MB, (first, server.rss_mb())


def test_start_stop_cycles_on_one_idle_connection_keep_no_simulations(server):
    client = SioClient(server.url, "/lab")
    try:
        client.emit("start", {**BIG, "scenario": {"clients": {"count": 100_000}}})
        first_id = client.wait("started", timeout=20)["run_id"]
        client.emit("control", {"run_id": first_id, "action": "stop"})
        client.wait("state", lambda s: s["run_id"] == first_id and s["status"] == "stopped")
        time.sleep(0.5)
        first = server.rss_mb()
        ids = [first_id]
        for _ in range(7):   # eight in all, like the finding
            client.emit("start", {**BIG, "scenario": {"clients": {"count": 100_000}}})
            run_id = client.wait("started", timeout=20)["run_id"]
            client.emit("control", {"run_id": run_id, "action": "stop"})
            client.wait("state", lambda s, r=run_id: s["run_id"] == r and s["status"] == "stopped")
            ids.append(run_id)
        time.sleep(0.5)
        assert server.rss_mb() - first < MARGIN_MB, (first, server.rss_mb())
        # Kept for replay all the same: the first run can still be sought (re-run by a worker).
        client.emit("control", {"run_id": ids[-1], "action": "seek", "value": 1.0, "pause": True})
        frame = client.wait("frame", lambda f: f["run_id"] == ids[-1] and f.get("resume"), timeout=30)
        assert frame["t"] == 1.0
    finally:
        client.close()
    assert settle(lambda: server.get("/healthz")[0] == 200)
