"""Streaming bench: events/s delivered over /lab and frame lateness, against a real server.

    .venv/bin/python bench/stream.py            # every case below (about 2 minutes)
    .venv/bin/python bench/stream.py --quick    # 1 client only

A real server (``python -m webapp``, eventlet) runs in a subprocess on a free port. The clients are
real python-socketio clients on the websocket transport that acknowledge every frame, as the page
does, and they run in **their own processes** (the one client alone in one; 50 clients spread over
two): a Python client decoding hundreds of thousands of events a second is a CPU load of its own,
and in the measuring process it would be measured instead of the server. The parent only starts
cases and adds up what the client processes report.

Cases (the same 100k viewers reading one hot key over 10 s, 4 app servers, promise coalescing):

- ``1 client``: one page starts the 100k-viewer run and asks for every event (``animate_limit``
  200,000, allowed by ``HERDLAB_LAB_MAX_ANIMATE`` on this server only): about 300,000 events.
- ``1 client, 5k``: the same run with the default sampling a browser gets (5,000 animated viewers,
  one dot per 20): the engine does the same work, a twentieth of the per-request events are sent.
- ``50 own runs``: 50 pages each start their *own* run of 2,000 viewers (the 100k viewers split
  50 ways; all animated, as the default sampling of 5,000 allows). 50 separate 100k-viewer runs
  would be 50 times the engine work of the first case and cannot run at 1x on two cores at all.
- ``50 in a room``: 50 students follow ONE 100k-viewer run through a classroom room (``/room``),
  which is how 50 browsers watch one experiment: no acknowledgements, frames merged to 10 a second,
  animated viewers budgeted per follower (``webapp/classroom/service.py``).
- ``1M drake-live``: the ``drake-live`` preset (1,000,000 viewers, one fresh chunk) at 1x with the
  browser's default sampling (5,000 animated viewers), issue 13's target: a worker process
  computes it ahead of playback; ``achieved`` is the lowest ``speed_achieved`` the page was told
  (1.00 = it played at 1x all the way).

Columns: ``events`` delivered per client (mean) and ``dropped`` (per-request events the server
dropped for lagging clients, summed); ``events/s`` delivered to all clients together over the
streaming time (first ``started`` to last ``done``); ``offered/s`` what the run makes per wall
second at that speed (at 1x the stream is paced, so delivered cannot exceed it); ``frames/s`` per
client; ``late`` is the server's own ``late_ms`` per frame (emitted minus intended wall time);
``recv`` is the client's receipt time minus the frame's intended wall time (t / speed after the
run's first frame; anchored at the client's best-delivered frame, so the run's set-up before its
first frame is left out): what the user sees, including the network, the client's decoding and
queueing.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import engineio
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import LiveServer  # noqa: E402  (the same real server the browser tests use)

SERVER_ENV = {"HERDLAB_ASYNC_MODE": "eventlet", "HERDLAB_SECRET_KEY": "bench", "PYTHONWARNINGS": "ignore",
              "HERDLAB_MAX_ROOM_MEMBERS": "1000"}
SCENARIO = {  # 100k viewers reading one hot key over 10 s, four app servers with promise coalescing
    "clients": {"count": 100_000, "arrival": "burst", "window_s": 10.0},
    "duration_s": 10.0,
    "servers": {"count": 4},
    "strategy": {"coalesce": "promise"},
}
FULL = 200_000
MANY = 50
CLIENT_PROCESSES = 2   # for the 50-client cases
WINDOW_S = 40.0        # give up on a case after this long
WS_OPTIONS = {"skip_utf8_validation": True}  # browsers validate natively; websocket-client in pure Python


class InlineEngineIO(engineio.Client):
    """Handle each message on the reader thread, in order, as a browser tab does (the stock client
    starts one thread per message, and acknowledgements would race; with bench/room.py's 300
    students on two cores those threads would be the bench's own bottleneck, not the server's)."""

    def _trigger_event(self, event, *args, run_async=False, **kwargs):
        return super()._trigger_event(event, *args, **kwargs)


class BenchClient(socketio.Client):
    def _engineio_client_class(self):
        return InlineEngineIO


class Page:
    """One client: counts events per frame and times every frame against its intended wall time."""

    def __init__(self, url: str, ns: str) -> None:
        self.ns = ns
        # The stdlib json, not engineio's wrapper (which calls a Python hook for every integer to
        # refuse huge ones: four times slower to decode frames). Browsers parse JSON natively.
        self.sio = BenchClient(reconnection=False, json=json, websocket_extra_options=WS_OPTIONS)
        self.events = self.frames = self.behind = self.dropped = 0
        self.late: list[float] = []
        self.recv: list[float] = []
        self.achieved: list[float] = []
        self.started_at = self.done_at = 0.0
        self.speed = 1.0
        self.done = threading.Event()
        self.joined = threading.Event()
        self.room: dict = {}
        self.error: dict | None = None
        self.sio.on("started", self._started, namespace=ns)
        self.sio.on("frame", self._frame, namespace=ns)
        self.sio.on("done", self._done, namespace=ns)
        self.sio.on("error", self._error, namespace=ns)
        self.sio.on("room_error", self._error, namespace=ns)
        self.sio.on("joined", lambda data: self.joined.set(), namespace=ns)
        self.sio.on("room", lambda data: (self.room.update(data), self.joined.set()), namespace=ns)
        self.sio.connect(url, namespaces=[ns], transports=["websocket"], wait_timeout=20)

    def _started(self, msg: dict) -> None:
        self.started_at = time.monotonic()
        self.speed = msg["speed"]

    def _frame(self, frame: dict) -> None:
        now = time.monotonic()
        self.frames += 1
        # Every event is counted; the page would also decode it (store.js): an array per event.
        self.events += len(frame["events"]) + len(frame.get("events_b", ()))
        self.behind += bool(frame["behind"])
        self.dropped += frame["dropped"]
        if frame.get("speed_achieved") is not None:
            self.achieved.append(frame["speed_achieved"] / self.speed)
        if frame.get("late_ms") is not None:
            self.late.append(frame["late_ms"])
            self.recv.append((now - frame["t"] / self.speed) * 1000)

    def _done(self, msg: dict) -> None:
        self.done_at = time.monotonic()
        self.done.set()

    def _error(self, data: dict) -> None:
        self.error = data
        self.done.set()

    def report(self) -> dict:
        base = min(self.recv, default=0.0)   # the best-delivered frame: excludes the run's set-up
        return {"events": self.events, "frames": self.frames, "behind": self.behind,
                "dropped": self.dropped, "late": self.late, "recv": [x - base for x in self.recv],
                "started_at": self.started_at, "done_at": self.done_at, "achieved": self.achieved,
                "finished": self.done.is_set() and self.error is None, "error": self.error}


def client_process(url: str, ns: str, n: int, start: dict | None, room_code: str | None,
                   ready: mp.Queue, go: mp.Event, results: mp.Queue) -> None:
    """``n`` pages in this process: each starts ``start`` on /lab, or joins room ``room_code``."""
    try:
        pages = [Page(url, ns) for _ in range(n)]
        if room_code:
            for p in pages:
                p.sio.emit("join", {"code": room_code}, namespace=ns)
                if not p.joined.wait(20):
                    raise RuntimeError("a student could not join")
        ready.put(len(pages))
        go.wait(60)
        if start is not None:
            for p in pages:
                p.sio.emit("start", start, namespace=ns)
        deadline = time.monotonic() + WINDOW_S
        for p in pages:
            p.done.wait(max(0.0, deadline - time.monotonic()))
        results.put([p.report() for p in pages])
        for p in pages:
            p.sio.disconnect()
    except Exception as exc:  # report, never hang the parent
        ready.put(0)
        results.put([{"error": {"message": repr(exc)}}])


def run_case(url: str, label: str, speed: float, clients: int, start: dict | None = None,
             room: bool = False, offered_events: int | None = None,
             duration_s: float = SCENARIO["duration_s"]) -> dict:
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    ns, code, teacher = "/lab", None, None
    if room:
        ns = "/room"
        teacher = Page(url, ns)
        teacher.sio.emit("create", {}, namespace=ns)
        if not teacher.joined.wait(10):
            raise SystemExit("could not create a room")
        code = teacher.room["code"]
    procs_n = 1 if clients == 1 else CLIENT_PROCESSES
    chunks = [clients // procs_n + (i < clients % procs_n) for i in range(procs_n)]
    procs = [ctx.Process(target=client_process, args=(url, ns, k, None if room else start, code,
                                                      ready, go, results)) for k in chunks]
    for p in procs:
        p.start()
    joined = sum(ready.get(timeout=120) for _ in procs)
    if joined != clients:
        raise SystemExit(f"{label}: only {joined} of {clients} clients connected")
    time.sleep(0.5)
    go.set()
    if room:
        teacher.sio.emit("start", start, namespace=ns)
    reports = [r for _ in procs for r in results.get(timeout=WINDOW_S + 60)]
    for p in procs:
        p.join(30)
    if teacher is not None:
        teacher.sio.emit("close", {}, namespace=ns)
        teacher.sio.disconnect()
    errors = [r["error"] for r in reports if r.get("error")]
    if errors:
        raise SystemExit(f"{label}: {errors[0]}")
    late = sorted(x for r in reports for x in r["late"])
    recv = sorted(x for r in reports for x in r["recv"])
    first = min(r["started_at"] for r in reports)
    last = max(r["done_at"] or time.monotonic() for r in reports)
    wall = max(1e-9, last - first)
    events = sum(r["events"] for r in reports)
    pct = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")
    span = duration_s / speed
    offered = (offered_events or 0) / span
    return {"case": label, "speed": speed, "clients": clients,
            "finished": sum(r["finished"] for r in reports), "wall": wall,
            "events": events / clients, "dropped": sum(r["dropped"] for r in reports),
            "eps": events / wall, "offered": offered,
            "fps": statistics.mean(r["frames"] for r in reports) / wall,
            "behind": sum(r["behind"] for r in reports),
            "late50": pct(late, 0.5), "late99": pct(late, 0.99),
            "achieved": min((x for r in reports for x in r["achieved"]), default=float("nan")),
            "recv50": pct(recv, 0.5), "recv99": pct(recv, 0.99)}


def count_events(scenario: dict, dot_scale: int = 1) -> int:
    """Events a client gets for ``scenario`` with sampling ``dot_scale`` (the engine, in-process)."""
    from webapp.engine import Simulation, parse_scenario
    n = 0
    for ev in Simulation(parse_scenario(scenario), record_requests=True).events():
        n += ev.viewer is None or ev.viewer % dot_scale == 0
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one client only")
    parser.add_argument("--speeds", default="1,10", help="comma-separated speeds (default 1,10)")
    args = parser.parse_args()
    speeds = [float(s) for s in args.speeds.split(",")]
    small = {**SCENARIO, "clients": {**SCENARIO["clients"], "count": SCENARIO["clients"]["count"] // MANY}}
    full_events = count_events(SCENARIO)
    small_events = count_events(small)
    sampled_events = count_events(SCENARIO, dot_scale=SCENARIO["clients"]["count"] // 5000)
    server = LiveServer(env={**SERVER_ENV, "HERDLAB_LAB_MAX_ANIMATE": str(FULL),
                             "HERDLAB_MAX_RUNS_PER_SERVER": "60"})
    url = server.url
    rows = []
    try:
        for speed in speeds:
            rows.append(run_case(url, "1 client", speed, 1,
                                 {"scenario": SCENARIO, "speed": speed, "animate_limit": FULL},
                                 offered_events=full_events))
            time.sleep(1.0)   # let the previous runs' tasks wind down
        if not args.quick:
            for speed in speeds:
                rows.append(run_case(url, "1 client, 5k", speed, 1, {"scenario": SCENARIO, "speed": speed},
                                     offered_events=sampled_events))
                time.sleep(1.0)
            for speed in speeds:
                rows.append(run_case(url, f"{MANY} own runs", speed, MANY,
                                     {"scenario": small, "speed": speed},
                                     offered_events=small_events * MANY))
                time.sleep(1.0)
            for speed in speeds:
                rows.append(run_case(url, f"{MANY} in a room", speed, MANY,
                                     {"scenario": SCENARIO, "speed": speed}, room=True))
                time.sleep(1.0)
            rows.append(run_case(url, "1M drake-live", 1.0, 1,
                                 {"preset": "drake-live", "scenario": {}, "speed": 1.0},
                                 duration_s=4.0))
    finally:
        server.stop()
    header = (f"{'case':<15} {'speed':>5} {'done':>4} {'wall s':>6} {'events':>8} {'dropped':>7} "
              f"{'events/s':>9} {'offered/s':>9} {'frames/s':>8} {'behind':>6} "
              f"{'late p50':>8} {'late p99':>8} {'recv p50':>8} {'recv p99':>8} {'achieved':>8}")
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")
    print(header)
    print("-" * len(header))
    for r in rows:
        offered = f"{r['offered']:>9.0f}" if r["offered"] else f"{'-':>9}"
        print(f"{r['case']:<15} {r['speed']:>5g} {r['finished']:>4} {r['wall']:>6.2f} "
              f"{r['events']:>8.0f} {r['dropped']:>7} {r['eps']:>9.0f} {offered} "
              f"{r['fps']:>8.1f} {r['behind']:>6} {r['late50']:>6.1f}ms {r['late99']:>6.1f}ms "
              f"{r['recv50']:>6.1f}ms {r['recv99']:>6.1f}ms {r['achieved']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
