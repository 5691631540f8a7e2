"""Soak bench: an honest class keeps working while one attacker after another tries to stall it.

    .venv/bin/python bench/soak.py                 # every attack, 8 s each (about 4 minutes)
    .venv/bin/python bench/soak.py --seconds 4 --attacks join-flood,big-body
    .venv/bin/python bench/soak.py --attacks real  # only the real-systems lab's phases
    .venv/bin/python bench/soak.py --workers       # what a worker costs to start and to reuse

A real server (``python -m webapp``, eventlet, the default settings) runs in a subprocess. The
honest class, the whole time:

- 50 students follow a room whose instructor runs the classroom preset again and again (raw
  WebSocket students, all in one thread, reading every frame; each frame's delay is receipt time
  minus the server's ``sent_at``);
- 10 lab users, each in a loop: a small ``POST /api/run`` (a "queries saved" baseline) and a small
  live run on ``/lab`` from ``start`` to ``started``;
- one ``GET /healthz`` every 0.1 s.

During the ``real-*`` phases one more honest user runs small real runs on ``/real`` (200
synchronised reads with a promise each, against the server's private PostgreSQL and Redis), from
``start`` to ``started`` ("real start") and on to ``done``.

Each attack (the findings of issues 9 and 17, as ``tests/reliability/`` reproduces them) runs for
``--seconds``; per attack the bench prints the honest users' p99 latency for each kind of request,
their errors, the students' frame delay p99, the server's RSS before and after (no forced
garbage collection anywhere), the web process's CPU (its CPU time over the phase's wall time:
1.0 is a whole core) and, after a real phase, the PostgreSQL backends still running a query a
second after the attack stopped ("pg busy"). ``quiet`` is the same class with no
attack, ``real-quiet`` with the real user too. The real attacks (issue 17, findings 2-5), all
through the public ``/real`` API as any student could:

- ``real-plan-bomb``: a real run whose plan is a simulation of ~10^14 steps (a lock polled every
  millisecond, 60 s queries slowed 100 times), held by a connection that stays;
- ``real-cut-runs``: 5,000 requests without a pool, on queries slowed to 6,000 s, cut (the
  connection closes) once they are recording, again and again; ``real-cpu-queries`` the same
  with 16 CPU-bound queries;
- ``real-kill-postgres`` and ``real-kill-redis``: the private service is killed (SIGKILL) mid-run,
  once, at the start of the phase (an operator's accident rather than a student's attack);
- ``real-line-fill``: seven connections each start a long real run and stay (one records, six
  wait), so the line is full.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import LiveServer  # noqa: E402
from tests.reliability.clients import RawSocket, SioClient  # noqa: E402
from tests.reliability.conftest import SMALL_RUN, request, workers  # noqa: E402

MB = 1 << 20
PING = b"\x81\x012"   # a server's WebSocket text frame of length 1: Engine.IO's "2" (ping)
STUDENTS = 50
LAB_USERS = 10
ROOT = Path(__file__).resolve().parents[1]
PG_DATA = ROOT / ".herdlab" / "pg"     # the private cluster (webapp/real/services.py)
REAL_RUN = {"scenario": {"duration_s": 1, "clients": {"count": 200, "window_s": 0},
                         "servers": {"count": 2}, "strategy": {"coalesce": "promise"},
                         "datastore": {"connections": 8, "service_ms": 100,
                                       "service_dist": "constant"}},
            "real": {"synchronised": True}, "speed": 8}


class Recorder:
    """Latencies and errors of the honest class, per kind, for the current phase."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.samples: dict[str, list[float]] = {}
            self.errors: list[str] = []

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.samples.setdefault(kind, []).append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[:120])

    def p99(self, kind: str) -> float:
        xs = sorted(self.samples.get(kind, []))
        return xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000 if xs else float("nan")


class Class:
    """The honest class: students in a room, lab users, a health check."""

    def __init__(self, server: LiveServer, rec: Recorder) -> None:
        self.server, self.rec = server, rec
        self.stop = threading.Event()
        self.teacher = SioClient(server.url, "/room")
        self.teacher.emit("create", {})
        self.room = self.teacher.wait("room")
        self.students = []
        for _ in range(STUDENTS):
            ws = RawSocket(server.url)
            ws.open_namespace("/room")
            ws.emit("/room", "join", {"code": self.room["code"]})
            ws.sock.setblocking(False)
            self.students.append(ws)
        self.real_on = threading.Event()   # the real user runs during the real-* phases only
        self.threads = [threading.Thread(target=self._students, daemon=True),
                        threading.Thread(target=self._teacher, daemon=True),
                        threading.Thread(target=self._health, daemon=True),
                        threading.Thread(target=self._real_user, daemon=True),
                        *(threading.Thread(target=self._lab_user, daemon=True)
                          for _ in range(LAB_USERS))]
        for t in self.threads:
            t.start()

    def _students(self) -> None:
        sel = selectors.DefaultSelector()
        for ws in self.students:
            sel.register(ws.sock, selectors.EVENT_READ, ws)
        while not self.stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                ws = key.data
                try:
                    data = ws.sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(ws.sock)
                    self.rec.error("a student was disconnected")
                    continue
                now = time.time()
                at = data.rfind(b'"sent_at":')
                if at >= 0:
                    try:
                        sent = float(data[at + 10:at + 40].split(b"}")[0].split(b",")[0])
                        self.rec.add("student frame", now - sent)
                    except ValueError:
                        pass
                if PING in data:   # an Engine.IO ping (a text frame "2"): answer it
                    ws.sock.setblocking(True)
                    ws.send_text("3")
                    ws.sock.setblocking(False)

    def _teacher(self) -> None:
        while not self.stop.is_set():
            self.teacher.emit("start", {"preset": "classroom", "scenario": {}, "speed": 4.0})
            self.stop.wait(5.0)

    def _health(self) -> None:
        while not self.stop.is_set():
            self._timed("healthz", lambda: request(self.server.url + "/healthz", timeout=5))
            self.stop.wait(0.1)

    def _lab_user(self) -> None:
        lab = SioClient(self.server.url, "/lab")
        try:
            while not self.stop.is_set():
                self._timed("api run", lambda: request(self.server.url + "/api/run",
                                                       data=json.dumps(SMALL_RUN).encode(), timeout=5))
                start = time.monotonic()
                lab.emit("start", {"scenario": {"clients": {"count": 100}, "duration_s": 2.0},
                                   "speed": 20.0})
                try:
                    lab.wait("started", timeout=5)
                    self.rec.add("lab start", time.monotonic() - start)
                    lab.wait("done", timeout=10)
                except Exception:
                    self.rec.error("a lab run did not start or finish")
                self.stop.wait(0.5)
        finally:
            lab.close()

    def _real_user(self) -> None:
        """Small real runs, one after the other, while ``real_on`` is set."""
        real = None
        try:
            while not self.stop.is_set():
                if not self.real_on.wait(0.2):
                    continue
                if real is None:
                    real = SioClient(self.server.url, "/real")
                start = time.monotonic()
                real.emit("start", REAL_RUN)
                try:
                    run_id = real.wait("started", timeout=60)["run_id"]
                    self.rec.add("real start", time.monotonic() - start)
                    real.wait("done", lambda d: d["run_id"] == run_id, timeout=60)
                except Exception:
                    errors = [d for n, d in real.drain() if n == "error"]
                    self.rec.error("a real run did not start or finish: "
                                   + (errors[0]["message"] if errors else "no answer"))
                    real.close()
                    real = None   # a new connection: the stuck run goes with the old one
                self.stop.wait(0.5)
        finally:
            if real is not None:
                real.close()

    def _timed(self, kind: str, call: Callable[[], tuple[int, Any]]) -> None:
        start = time.monotonic()
        try:
            status, body = call()
            if status != 200:
                self.rec.error(f"{kind}: {status} {body}")
        except OSError as exc:
            self.rec.error(f"{kind}: {exc!r}")
        self.rec.add(kind, time.monotonic() - start)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)
        for ws in self.students:
            ws.close()
        self.teacher.close()


# ----- attacks: each runs until ``stop`` is set ---------------------------------------------------
def heavy_summaries(url: str, stop: threading.Event) -> None:
    heavy = {"scenario": {"clients": {"count": 200_000, "window_s": 2.0}, "duration_s": 4.0}}
    def loop() -> None:
        while not stop.is_set():
            request(url + "/api/run", data=json.dumps(heavy).encode(), timeout=30)
    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def expensive_refused(url: str, stop: threading.Event) -> None:
    body = {"scenario": {"clients": {"count": 20_000}, "datastore": {"service_ms": 60_000},
                         "strategy": {"coalesce": "lock", "lock_poll_ms": 1}}}
    while not stop.is_set():
        request(url + "/api/run", data=json.dumps(body).encode(), timeout=10)


def abandoned_live_runs(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        clients = [RawSocket(url) for _ in range(3)]
        for c in clients:
            c.open_namespace("/lab")
            c.emit("/lab", "start", {"preset": "drake-live", "scenario": {}, "speed": 1.0})
        stop.wait(0.3)
        for c in clients:
            c.close()


def big_body(url: str, stop: threading.Event) -> None:
    import socket
    host, port = url.split("//")[1].split(":")
    while not stop.is_set():
        sock = socket.create_connection((host, int(port)), timeout=5)
        try:
            sock.sendall(f"POST /api/run HTTP/1.1\r\nHost: {host}\r\nContent-Length: {100 * MB}"
                         "\r\nContent-Type: application/json\r\n\r\n".encode())
            for _ in range(100):
                sock.sendall(b"x" * MB)
        except OSError:
            pass
        finally:
            sock.close()


def websocket_frames(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        with RawSocket(url) as ws:
            try:
                ws.sock.sendall(ws.frame(b"4" + b"x" * MB))
                piece = b"x" * (32 << 10)
                ws.sock.sendall(ws.frame(b"4" + piece, fin=False))
                for _ in range(200):
                    ws.sock.sendall(ws.frame(piece, opcode=0, fin=False))
            except OSError:
                pass


def binary_attachments(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        with RawSocket(url) as ws:
            try:
                ws.open_namespace("/room")
                ws.send_text('451-/room,["join",{"_placeholder":true,"num":0}]')
                for _ in range(20):
                    ws.sock.sendall(ws.frame(b"x" * (60 << 10), opcode=2))
            except OSError:
                pass


def flood(event: str, payload: dict, count: int) -> Callable[[str, threading.Event], None]:
    """``count`` copies of one message in one write, into the honest class's room."""
    def attack(url: str, stop: threading.Event) -> None:
        code = SOAK["room"]["code"]
        body = {**payload, "code": code} if event == "join" else payload
        while not stop.is_set():
            with RawSocket(url) as ws:
                try:
                    ws.open_namespace("/room")
                    ws.emit("/room", "join", {"code": code})
                    ws.sock.sendall(ws.frame(f"42/room,{json.dumps([event, body])}".encode()) * count)
                except OSError:
                    pass
                stop.wait(0.5)
    return attack


def wrong_codes(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        with RawSocket(url) as ws:
            try:
                ws.open_namespace("/room")
                for i in range(30):
                    ws.emit("/room", "join", {"code": f"2222-{2222 + i % 7000:04d}"[:9]})
            except OSError:
                pass


def non_reading_follower(url: str, stop: threading.Event) -> None:
    teacher = SioClient(url, "/room")
    teacher.emit("create", {})
    room = teacher.wait("room")
    reader = RawSocket(url, receive_buffer=4096)
    reader.open_namespace("/room")
    reader.emit("/room", "join", {"code": room["code"]})
    reader.pong_blindly(5)
    while not stop.is_set():
        teacher.emit("start", {"scenario": {"clients": {"count": 100}, "duration_s": 100,
                                            "sample_interval_s": 0.001},
                               "compare": {"strategy": {"coalesce": "promise"}}, "speed": 20.0})
        stop.wait(5)
    teacher.emit("close", {})
    reader.close()
    teacher.close()


def paused_runs(url: str, stop: threading.Event) -> None:
    clients = [RawSocket(url) for _ in range(20)]
    for c in clients:
        c.open_namespace("/lab")
        for _ in range(2):
            c.emit("/lab", "start", {"scenario": {"clients": {"count": 10}, "duration_s": 60}})
    for c in clients:
        ids = []
        deadline = time.monotonic() + 10
        while len(ids) < 2 and time.monotonic() < deadline:
            try:
                text = c.read_text(timeout=1) or ""
            except OSError:
                break
            if text.startswith('42/lab,["started"'):
                ids.append(json.loads(text[len("42/lab,"):])[1]["run_id"])
        for run_id in ids:
            c.emit("/lab", "control", {"run_id": run_id, "action": "pause"})
    stop.wait(3600)
    for c in clients:
        c.close()


REFUSED_INPUT = {"kind": "slow_db", "factor": 100, "for_s": 600}
HOLDING_99 = {"scenario": {"clients": {"count": 2000}, "duration_s": 60.0,
                           "strategy": {"coalesce": "lock", "lock_poll_ms": 5},
                           "datastore": {"service_ms": 200}},
              "inputs": [{"t": 0.01 * i, "kind": "inject"} for i in range(99)], "speed": 0.05}


def refused_inputs(url: str, stop: threading.Event) -> None:
    """8 connections, each with a run holding 99 inputs, flood it with inputs the cost check
    refuses (issue 17, finding 7: they were checked before they were charged)."""
    socks = []
    for _ in range(8):
        ws = RawSocket(url)
        ws.open_namespace("/lab")
        ws.emit("/lab", "start", HOLDING_99)
        while True:
            text = ws.read_text(timeout=30) or ""
            if text.startswith('42/lab,["started"'):
                run_id = json.loads(text[len("42/lab,"):])[1]["run_id"]
                break
        ws.pong_blindly(5)
        control = json.dumps(["control", {"run_id": run_id, "action": "input",
                                          "input": REFUSED_INPUT}])
        socks.append((ws, ws.frame(f"42/lab,{control}".encode())))
    while not stop.is_set():
        for ws, frame in socks:
            try:
                ws.sock.sendall(frame * 50)
            except OSError:
                pass
        stop.wait(0.2)
    for ws, _ in socks:
        ws.close()


def stopped_spares(url: str, stop: threading.Event) -> None:
    """The server's spare workers are stopped (SIGSTOP) for the phase: a spare handed out
    stopped made a run wait 10 s (issue 17, finding 8). An operator's accident, not a student's.
    A spare is told from a worker at a run by what it did over 0.3 s: it slept, used no CPU at
    all, and has used little more than importing the engine takes."""
    server = SOAK["server_pid"]
    def asleep() -> dict[int, float]:
        used = {}
        for pid, state in workers(server).items():
            try:
                if state == "S":
                    used[pid] = cpu_s(pid)
            except OSError:
                continue   # (gone meanwhile)
        return used

    before = asleep()
    time.sleep(0.3)
    after = asleep()
    stopped = {pid for pid, used in before.items() if after.get(pid) == used < 0.5}
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    print(f"stopped-spares: {len(stopped)} spares stopped", file=sys.stderr)
    stop.wait(3600)
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass   # (killed and replaced by the pool: what it should do)


def real_starter(body: dict, hold_until: str | None) -> Callable[[str, threading.Event], None]:
    """Start ``body`` on /real from a fresh connection, again and again: with ``hold_until`` a
    phase ("recording"), close the connection once the run gets there (a cut run); without,
    keep the connection (and its run) for the rest of the phase."""
    def attack(url: str, stop: threading.Event) -> None:
        while not stop.is_set():
            client = SioClient(url, "/real")
            try:
                client.emit("start", body)
                if hold_until is None:
                    stop.wait(3600)
                    return
                client.wait("real", lambda d: d["phase"] == hold_until, timeout=30)
            except Exception:
                stop.wait(0.5)
            finally:
                client.close()
    return attack


PLAN_BOMB = {"scenario": {"duration_s": 60, "clients": {"count": 5000},
                          "strategy": {"coalesce": "lock", "lock_poll_ms": 1},
                          "datastore": {"service_ms": 60_000, "connections": 8},
                          "faults": {"slow_db_at_s": 0, "slow_db_for_s": 60,
                                     "slow_factor": 100}}, "real": {}}
CUT_NO_POOL = {"scenario": {"duration_s": 5, "clients": {"count": 5000},
                            "datastore": {"service_ms": 60_000},
                            "faults": {"slow_db_at_s": 0, "slow_db_for_s": 5,
                                       "slow_factor": 100}}, "real": {"pool": False}}
CUT_CPU = {"scenario": {"duration_s": 5, "clients": {"count": 16, "window_s": 0},
                        "servers": {"count": 16},
                        "datastore": {"service_ms": 60_000, "connections": 16}},
           "real": {"query": "cpu"}}
LONG_REAL = {"scenario": {"duration_s": 60, "clients": {"count": 5000},
                          "datastore": {"service_ms": 50}}, "real": {}}


def service_pid(name: str) -> int | None:
    """The private PostgreSQL's postmaster (``postgres``) or Redis (``redis``), if running."""
    if name == "postgres":
        try:
            return int((PG_DATA / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
    socket_path = str(ROOT / ".herdlab" / "redis.sock").encode()
    for pid, cmdline in processes():
        if b"redis-server" in cmdline and socket_path in cmdline:
            return pid
    return None


def processes() -> list[tuple[int, bytes]]:
    """Every process's PID and command line (its title, for PostgreSQL's backends)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out.append((int(pid), f.read()))
        except OSError:
            continue
    return out


def parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def kill_service(name: str) -> Callable[[str, threading.Event], None]:
    def attack(url: str, stop: threading.Event) -> None:
        stop.wait(1.0)   # the real user's run is under way
        pid = service_pid(name)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        stop.wait(3600)
    return attack


def line_fill(url: str, stop: threading.Event) -> None:
    clients = []
    for _ in range(7):
        client = SioClient(url, "/real")
        client.emit("start", LONG_REAL)
        clients.append(client)
    stop.wait(3600)
    for client in clients:
        client.close()


def pg_busy() -> int:
    """Backends of the private PostgreSQL running a query now (a backend's process title says
    what it does: "postgres: herdlab postgres [local] SELECT", "... idle")."""
    postmaster = service_pid("postgres")
    busy = 0
    for pid, cmdline in processes():
        title = cmdline.decode(errors="replace").strip("\0 ")
        if title.startswith("postgres:") and "[local]" in title \
                and not title.endswith("idle") and parent(pid) == postmaster:
            busy += 1
    return busy


SOAK: dict[str, Any] = {}
ATTACKS: dict[str, Callable[[str, threading.Event], None]] = {
    "quiet": lambda url, stop: stop.wait(3600),
    "heavy-summaries": heavy_summaries,
    "expensive-refused": expensive_refused,
    "abandoned-live-runs": abandoned_live_runs,
    "big-body": big_body,
    "websocket-frames": websocket_frames,
    "binary-attachments": binary_attachments,
    "join-flood": flood("join", {}, 30_000),
    "answer-flood": flood("answer", {"choice": 1}, 20_000),
    "wrong-codes": wrong_codes,
    "non-reading-follower": non_reading_follower,
    "paused-runs": paused_runs,
    "refused-inputs": refused_inputs,
    "stopped-spares": stopped_spares,
    "real-quiet": lambda url, stop: stop.wait(3600),
    "real-plan-bomb": real_starter(PLAN_BOMB, None),
    "real-cut-runs": real_starter(CUT_NO_POOL, "recording"),
    "real-cpu-queries": real_starter(CUT_CPU, "recording"),
    "real-kill-postgres": kill_service("postgres"),
    "real-kill-redis": kill_service("redis"),
    "real-line-fill": line_fill,
}


def measure_workers(rounds: int = 10) -> None:
    """Start cost of a worker (spawn until it says "idle"), and a small summary's round trip on a
    warm worker against a fresh one (what ``POST /api/run`` pays in each case)."""
    import pickle
    import statistics

    from webapp.engine import parse_scenario
    from webapp.worker.pool import Worker, WorkerPool

    def until_idle(worker: Worker) -> None:
        worker.said_idle = False
        while not (worker.hear() and worker.said_idle):
            time.sleep(0.001)

    def summary(worker: Worker) -> None:
        worker.start({"kind": "summary", "scenarios": [parse_scenario(SMALL_RUN["scenario"])],
                      "max_steps": 10**7, "cpu_s": 10})
        while not any(pickle.loads(b)[0] == "summary" for b in worker.channel.receive()):
            time.sleep(0.001)

    spawn, fresh, warm = [], [], []
    pool = WorkerPool(spares=0)
    for _ in range(rounds):
        t0 = time.perf_counter()
        worker = Worker()
        until_idle(worker)
        spawn.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        summary(worker)
        fresh.append(time.perf_counter() - t0)
        worker.send(("stop",))
        until_idle(worker)
        t0 = time.perf_counter()
        summary(worker)
        warm.append(time.perf_counter() - t0)
        pool.release(worker, kill=True)
    pool.close()
    ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms"
    print(f"load average {os.getloadavg()[0]:.2f}; {rounds} rounds")
    print(f"spawn until ready (python -m webapp.worker, engine imported): {ms(spawn)}")
    print(f"small summary, first job of that worker:                     {ms(fresh)}")
    print(f"small summary, on a warm (reused) worker:                    {ms(warm)}")


def cpu_s(pid: int) -> float:
    """The process's CPU time so far (user + system), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per attack (default 8)")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help="comma-separated names")
    parser.add_argument("--workers", action="store_true", help="only measure worker start costs")
    args = parser.parse_args()
    if args.workers:
        measure_workers()
        return 0
    names = [n for n in args.attacks.split(",") if n]
    if names == ["real"]:
        names = [n for n in ATTACKS if n.startswith("real-")]
    server = LiveServer(env={"HERDLAB_ASYNC_MODE": "eventlet", "PYTHONWARNINGS": "ignore"})
    rec = Recorder()
    rows = []
    try:
        honest = Class(server, rec)
        SOAK["room"] = honest.room
        SOAK["server_pid"] = server.proc.pid
        time.sleep(2.0)   # warm up
        for name in names:
            before = rss_mb(server.proc.pid)
            real = name.startswith("real-")
            if real:
                honest.real_on.set()
            rec.reset()
            stop = threading.Event()
            attacker = threading.Thread(target=ATTACKS[name], args=(server.url, stop), daemon=True)
            attacker.start()
            cpu_before, wall_before = cpu_s(server.proc.pid), time.monotonic()
            time.sleep(args.seconds)
            web_cpu = (cpu_s(server.proc.pid) - cpu_before) / (time.monotonic() - wall_before)
            stop.set()
            attacker.join(timeout=30)
            time.sleep(1.0)
            honest.real_on.clear()
            rows.append((name, {k: rec.p99(k) for k in ("healthz", "api run", "lab start",
                                                         "student frame", "real start")},
                         len(rec.errors), before, rss_mb(server.proc.pid),
                         pg_busy() if real else None, web_cpu))
            print(f"{name}: done" + "".join(f"\n  honest error: {e}" for e in sorted(set(rec.errors))),
                  file=sys.stderr)
        honest.close()
    finally:
        server.stop()
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end; {args.seconds:g} s per attack")
    header = (f"{'attack':<22} {'healthz p99':>11} {'api run p99':>11} {'lab start p99':>13} "
              f"{'frame p99':>9} {'real start p99':>14} {'errors':>6} {'RSS before':>10} "
              f"{'after':>7} {'web CPU':>7} {'pg busy':>7}")
    print(header)
    print("-" * len(header))
    for name, p99, errors, before, after, busy, web in rows:
        print(f"{name:<22} {p99['healthz']:>9.0f}ms {p99['api run']:>9.0f}ms "
              f"{p99['lab start']:>11.0f}ms {p99['student frame']:>7.0f}ms "
              f"{p99['real start']:>12.0f}ms {errors:>6} {before:>8.0f}MB {after:>5.0f}MB "
              f"{web:>6.0%} {'' if busy is None else busy:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
