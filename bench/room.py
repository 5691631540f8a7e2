"""Classroom bench: one room of 300 students, one demo run, every frame fanned out to all of them.

    .venv/bin/python bench/room.py                 # one process, then two processes behind Redis
    .venv/bin/python bench/room.py --students 60   # a quick look

Real servers (``python -m webapp``, eventlet) run in subprocesses on free ports; the students are
real python-socketio clients (websocket transport) spread over a few client processes so that the
clients' own interpreter lock does not become the measurement. The instructor creates a room and
starts the classroom preset at real-time speed; every student follows.

Each student handles its messages on its reader thread (``Student``) and does not decode frame bodies (``FrameSkim`` reads ``seq`` and ``sent_at``
and skips the rest): in a class every device decodes its own frames, while here 300 decoders would share the
server's two cores and the bench would measure them instead of the fan-out.

Printed per case: the share of (student, frame) pairs delivered, the worst student's share, and the
fan-out delay p50/p99: receipt time minus the frame's ``sent_at`` (the server's wall clock at emit,
put in every room frame by ``webapp/classroom/live.py``). Same machine, same clock.
The two-process case starts a private ``redis-server`` and puts half the students on each process;
the instructor is on the first, so the second receives every frame through Redis.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import engineio
import socketio
from stream import free_port

ROOT = Path(__file__).resolve().parent.parent
NS = "/room"
DEMO = {"preset": "classroom", "scenario": {}, "speed": 1.0}  # 300 viewers, 16 s, real time
CLIENT_PROCESSES = 3


class FrameSkim:
    """A ``json`` stand-in for the students' clients: full decoding except for room frames."""

    FRAME = re.compile(r'^\["frame",\{.*?"seq":(\d+).*"sent_at":([0-9.e+-]+)', re.S)
    dumps = staticmethod(json.dumps)

    @classmethod
    def loads(cls, text: str):
        m = cls.FRAME.match(text) if text.startswith('["frame"') else None
        if m is None:
            return json.loads(text)
        return ["frame", {"seq": int(m.group(1)), "sent_at": float(m.group(2))}]


class InlineEngineIO(engineio.Client):
    """Handle each message on the reader thread: the stock client starts one thread per message,
    which with 300 clients on two cores would be the bench's own bottleneck, not the server's."""

    def _trigger_event(self, event, *args, run_async=False, **kwargs):
        return super()._trigger_event(event, *args, **kwargs)


class Student(socketio.Client):
    def _engineio_client_class(self):
        return InlineEngineIO


def start_server(port: int, message_queue: str = "") -> subprocess.Popen:
    env = {**os.environ, "HERDLAB_ASYNC_MODE": "eventlet", "HERDLAB_SECRET_KEY": "bench",
           "HERDLAB_MAX_ROOM_MEMBERS": "1000", "HERDLAB_MESSAGE_QUEUE": message_queue, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def start_redis() -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server") or sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc, f"redis://127.0.0.1:{port}/0"


def students(urls: list[str], code: str, ready: mp.Queue, results: mp.Queue, go_home: mp.Event) -> None:
    """One client process: join every student, record (seq, delay) per frame, report at the end."""
    records: list[list[tuple[int, float]]] = []
    clients = []
    finished = threading.Semaphore(0)
    for url in urls:
        got: list[tuple[int, float]] = []
        records.append(got)
        sio = Student(reconnection=False, json=FrameSkim)
        joined = threading.Event()
        sio.on("joined", lambda data, joined=joined: joined.set(), namespace=NS)
        sio.on("frame", lambda f, got=got: got.append((f["seq"], time.time() - f["sent_at"])), namespace=NS)
        sio.on("done", lambda data: finished.release(), namespace=NS)
        sio.connect(url, namespaces=[NS], transports=["websocket"], wait_timeout=20)
        sio.emit("join", {"code": code}, namespace=NS)
        if not joined.wait(20):
            raise SystemExit("a student could not join")
        clients.append(sio)
    ready.put(len(clients))
    deadline = time.monotonic() + 120
    for _ in clients:  # every student's "done", or give up at the deadline (then shares show it)
        if not finished.acquire(timeout=max(0.0, deadline - time.monotonic())):
            break
    results.put(records)
    go_home.wait(30)
    for sio in clients:
        sio.disconnect()


def case(label: str, server_urls: list[str], n: int) -> dict:
    teacher = socketio.Client(reconnection=False)
    room: dict = {}
    got_room, done = threading.Event(), threading.Event()
    frames: list[int] = []
    teacher.on("room", lambda data: (room.update(data), got_room.set()), namespace=NS)
    teacher.on("frame", lambda f: frames.append(f["seq"]), namespace=NS)
    teacher.on("done", lambda data: done.set(), namespace=NS)
    teacher.connect(server_urls[0], namespaces=[NS], transports=["websocket"])
    teacher.emit("create", {}, namespace=NS)
    got_room.wait(10)

    urls = [server_urls[i % len(server_urls)] for i in range(n)]
    ctx = mp.get_context("fork")
    ready, results, go_home = ctx.Queue(), ctx.Queue(), ctx.Event()
    chunks = [urls[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    procs = [ctx.Process(target=students, args=(chunk, room["code"], ready, results, go_home)) for chunk in chunks if chunk]
    for p in procs:
        p.start()
    joined = sum(ready.get(timeout=300) for _ in procs)
    print(f"{label}: {joined} students joined", file=sys.stderr, flush=True)
    time.sleep(1.0)  # let the member-count broadcasts settle
    teacher.emit("start", DEMO, namespace=NS)
    done.wait(120)
    records = [r for _ in procs for r in results.get(timeout=180)]
    go_home.set()
    for p in procs:
        p.join(30)
    teacher.disconnect()

    total = len(set(frames))
    delays = sorted(d * 1000 for got in records for _, d in got)
    shares = [len({seq for seq, _ in got}) / total for got in records]
    q = statistics.quantiles(delays, n=100) if len(delays) > 1 else [0.0] * 99
    return {"case": label, "students": joined, "frames": total, "delivered": sum(shares) / len(shares),
            "worst": min(shares), "p50": q[49], "p99": q[98], "max": delays[-1] if delays else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--skip-redis", action="store_true", help="only the one-process case")
    args = parser.parse_args()
    rows, procs = [], []
    try:
        port = free_port()
        procs.append(start_server(port))
        rows.append(case("1 process", [f"http://127.0.0.1:{port}"], args.students))
        procs.pop().terminate()
        if not args.skip_redis:
            redis, url = start_redis()
            procs.append(redis)
            ports = [free_port(), free_port()]
            procs.extend(start_server(p, url) for p in ports)
            rows.append(case("2 processes + Redis", [f"http://127.0.0.1:{p}" for p in ports], args.students))
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    print(f"{'case':<22}{'students':>9}{'frames':>8}{'delivered':>11}{'worst':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for r in rows:
        print(f"{r['case']:<22}{r['students']:>9}{r['frames']:>8}{r['delivered']:>10.1%}{r['worst']:>8.1%}"
              f"{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
