"""Streaming bench: events/s delivered over /lab and frame lateness, against a real server.

    .venv/bin/python bench/stream.py            # 1 and 50 clients, 1x and 10x (about 2 minutes)
    .venv/bin/python bench/stream.py --quick    # 1 client only

A real server (``python -m webapp``, eventlet) runs in a subprocess on a free port; real
python-socketio clients connect over the websocket transport and acknowledge every frame, as the
page does. Each client starts its own 100k-viewer run. The one-client case asks for every event
(``animate_limit`` 200,000, allowed by ``HERDLAB_LAB_MAX_ANIMATE`` on this server only); the
50-client case uses the default sampling (5,000 animated viewers each), which is what browsers get.

"late p50/p99" is the server's own ``late_ms`` per frame: when the frame was emitted minus when
it should have been (its virtual time on the run's wall-clock schedule).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = {  # 100k viewers reading one hot key over 10 s, four app servers with promise coalescing
    "clients": {"count": 100_000, "arrival": "burst", "window_s": 10.0},
    "duration_s": 10.0,
    "servers": {"count": 4},
    "strategy": {"coalesce": "promise"},
}
FULL = 200_000
WINDOW_S = 25.0   # measure at most this long per case


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "HERDLAB_ASYNC_MODE": "eventlet", "HERDLAB_SECRET_KEY": "bench",
           "HERDLAB_LAB_MAX_ANIMATE": str(FULL), "HERDLAB_MAX_RUNS_PER_SERVER": "60",
           "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


class Viewer:
    """One page: starts a run, acknowledges frames, counts events and keeps ``late_ms``."""

    def __init__(self, url: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.events = 0
        self.late: list[float] = []
        self.behind = 0
        self.done = threading.Event()
        self.error: dict | None = None
        self.first = self.last = 0.0
        self.sio.on("frame", self._frame, namespace="/lab")
        self.sio.on("done", lambda data: self.done.set(), namespace="/lab")
        self.sio.on("error", self._error, namespace="/lab")
        self.sio.connect(url, namespaces=["/lab"], transports=["websocket"])

    def _frame(self, frame: dict) -> None:
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        self.events += len(frame["events"])
        self.behind += frame["behind"]
        if frame["late_ms"] is not None:
            self.late.append(frame["late_ms"])

    def _error(self, data: dict) -> None:
        self.error = data
        self.done.set()

    def start(self, speed: float, animate_limit: int | None) -> None:
        body = {"scenario": SCENARIO, "speed": speed}
        if animate_limit:
            body["animate_limit"] = animate_limit
        self.sio.emit("start", body, namespace="/lab")


def case(url: str, clients: int, speed: float) -> dict:
    viewers = [Viewer(url) for _ in range(clients)]
    t0 = time.monotonic()
    for v in viewers:
        v.start(speed, FULL if clients == 1 else None)
    for v in viewers:
        v.done.wait(max(0.0, WINDOW_S - (time.monotonic() - t0)))
    wall = time.monotonic() - t0
    for v in viewers:
        v.sio.disconnect()
    errors = [v.error for v in viewers if v.error]
    if errors:
        raise SystemExit(f"server refused a run: {errors[0]}")
    late = sorted(x for v in viewers for x in v.late)
    finished = sum(v.done.is_set() for v in viewers)
    total = sum(v.events for v in viewers)
    return {"clients": clients, "speed": speed, "finished": finished, "wall": wall,
            "events": total, "eps": total / wall,
            "p50": statistics.median(late) if late else float("nan"),
            "p99": late[min(len(late) - 1, int(len(late) * 0.99))] if late else float("nan"),
            "frames": len(late), "behind": sum(v.behind for v in viewers)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one client only")
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for clients in (1,) if args.quick else (1, 50):
            for speed in (1.0, 10.0):
                rows.append(case(url, clients, speed))
                time.sleep(1.0)   # let the previous runs' tasks wind down
    finally:
        server.terminate()
        server.wait(10)
    header = (f"{'clients':>7} {'speed':>5} {'done':>5} {'wall s':>7} {'events':>9} "
              f"{'events/s':>9} {'frames':>7} {'behind':>6} {'late p50':>9} {'late p99':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['clients']:>7} {r['speed']:>5g} {r['finished']:>5} {r['wall']:>7.2f} "
              f"{r['events']:>9} {r['eps']:>9.0f} {r['frames']:>7} {r['behind']:>6} "
              f"{r['p50']:>7.1f}ms {r['p99']:>7.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
