"""Classroom bench: one room of 300 students, one demo run, every frame fanned out to all of them.

    .venv/bin/python bench/room.py                 # one process, then two processes behind Redis
    .venv/bin/python bench/room.py --students 60   # a quick look
    .venv/bin/python bench/room.py --heavy-clients # the earlier python-socketio students, to compare

Real servers (``python -m webapp``, eventlet) run in subprocesses on free ports. The instructor (a
python-socketio client in this process) creates a room and starts the classroom preset at real-time
speed; every student follows.

The students (``LeanStudent``) are as cheap for this machine as a real device is, because in a class
every device has its own CPU while here all 300 share the server's two cores: one asyncio process
holds all of them, each on its own TCP connection with a minimal standard-library websocket. To
the server they are ordinary Socket.IO clients on the websocket transport: HTTP upgrade with the
``Sec-WebSocket-Accept`` check, Engine.IO open, ``40/room,`` namespace connect, the ``join`` event,
a pong for every Engine.IO ping, masked frames. They do not validate UTF-8 or decode JSON of room
frames: ``seq`` and ``sent_at`` are found with ``bytes.find``; the receipt time is taken as soon as
the frame's last byte has been read. The earlier students (python-socketio + websocket-client,
pure Python, 100 threads in each of 3 processes, ``--heavy-clients``) used about 5 times the
server's CPU and their own scheduling made the tail: the bench measured itself (``bench/README.md``).

Printed per case: the share of (student, frame) pairs delivered, the worst student's share, the
fan-out delay p50/p99/max: receipt time minus the frame's ``sent_at`` (the server's wall clock at
emit, put in every room frame by ``webapp/classroom/live.py``; same machine, same clock), and the
CPU used during the run (``/proc/<pid>/stat``, as a share of one core) by the server process(es)
and by the student process(es).
The two-process case starts a private ``redis-server`` and puts half the students on each process;
the instructor is on the first, so the second receives every frame through Redis.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import multiprocessing as mp
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time

import socketio
from stream import SERVER_ENV, BenchClient  # also puts the repository on sys.path

from tests.browser.conftest import LiveServer, free_port

NS = "/room"
DEMO = {"preset": "classroom", "scenario": {}, "speed": 1.0}  # 300 viewers, 16 s, real time
CLIENT_PROCESSES = 3  # for --heavy-clients


class FrameSkim:
    """(--heavy-clients) A ``json`` stand-in for the python-socketio students: full decoding except for room frames."""

    FRAME = re.compile(r'^\["frame",\{.*?"seq":(\d+).*"sent_at":([0-9.e+-]+)', re.S)
    dumps = staticmethod(json.dumps)

    @classmethod
    def loads(cls, text: str):
        m = cls.FRAME.match(text) if text.startswith('["frame"') else None
        if m is None:
            return json.loads(text)
        return ["frame", {"seq": int(m.group(1)), "sent_at": float(m.group(2))}]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (all its threads), from ``/proc``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_redis() -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server") or sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc, f"redis://127.0.0.1:{port}/0"


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SIO_PREFIX = b"42" + NS.encode() + b","  # Engine.IO message + Socket.IO event, in the /room namespace
CONNECT_ORDER = 20  # students connecting at once (like a class arriving, not one SYN flood)


class LeanStudent:
    """One student on a minimal Socket.IO client: standard-library websocket over asyncio.

    What the server sees is what a browser's socket.io-client sends on the websocket transport:
    the HTTP upgrade (``/socket.io/?EIO=4&transport=websocket``, a random ``Sec-WebSocket-Key``,
    the ``Sec-WebSocket-Accept`` checked), Engine.IO's open packet, the namespace connect
    (``40/room,``), the ``join`` event, a pong for every ping, masked client frames. What it
    skips is the per-message work a device does on its own CPU: no UTF-8 check or decode and no
    JSON decode of room frames; ``seq`` and ``sent_at`` are found with two ``bytes.find`` calls
    (``sent_at`` is the frame's last key, put there by ``webapp/classroom/live.py``). The receipt
    time is taken as soon as a websocket frame's last byte has been read from the socket.
    """

    def __init__(self, url: str, code: str, tls: ssl.SSLContext | None = None,
                 source: str | None = None) -> None:
        """``url`` is ``http://host:port`` (or ``https://`` with ``tls``); ``source``: the local
        address to connect from (bench/proxy.py gives each client its own in 127.0.5.0/24)."""
        self.host, port = url.split("://", 1)[1].split(":")
        self.port = int(port)
        self.code = code
        self.tls = tls
        self.source = source
        self.got: list[tuple[int, float]] = []
        self.runs: set[bytes] = set()   # run ids of the frames received
        self.done = asyncio.Event()
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.tls, server_hostname=self.host if self.tls else None,
            local_addr=(self.source, 0) if self.source else None)
        key = base64.b64encode(os.urandom(16))
        self.writer.write(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                          b"Host: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                          % (self.host.encode(), self.port, key))
        head = await self.reader.readuntil(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        if not head.startswith(b"HTTP/1.1 101") or accept not in head:
            raise SystemExit(f"websocket upgrade refused: {head[:200]!r}")
        opened = await self.read()
        if not opened.startswith(b"0{"):
            raise SystemExit(f"no Engine.IO open packet: {opened[:200]!r}")
        self.send(b"40" + NS.encode() + b",")
        connected = await self.read()
        if not connected.startswith(b"40" + NS.encode() + b","):
            raise SystemExit(f"namespace connect refused: {connected[:200]!r}")
        self.send(SIO_PREFIX + json.dumps(["join", {"code": self.code}]).encode())
        while True:  # joined (member-count broadcasts may come first)
            message = await self.read()
            if message.startswith(SIO_PREFIX + b'["joined"'):
                return
            if message.startswith(SIO_PREFIX + b'["room_error"'):
                raise SystemExit(f"a student could not join: {message[:200]!r}")
            self.answer_ping(message)

    async def read(self) -> bytes:
        """The next websocket message's payload (bytes, not decoded); answers websocket pings."""
        parts = []
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(await self.reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(n)  # server frames are not masked
            opcode = b0 & 0x0F
            if opcode == 0x9:  # websocket ping
                self.send(payload, opcode=0xA)
                continue
            if opcode == 0x8:
                raise ConnectionError("server closed the websocket")
            parts.append(payload)
            if b0 & 0x80:  # FIN
                return parts[0] if len(parts) == 1 else b"".join(parts)

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
        masked = int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        self.writer.write(head + mask + masked.to_bytes(n, "big"))

    def answer_ping(self, message: bytes) -> None:
        if message == b"2":  # Engine.IO ping -> pong
            self.send(b"3")

    async def follow(self) -> None:
        """Read until the run's ``done``: (seq, delay) per room frame, delay taken on arrival."""
        frame, done = SIO_PREFIX + b'["frame",', SIO_PREFIX + b'["done",'
        while True:
            message = await self.read()
            now = time.time()
            if message.startswith(frame):
                i = message.find(b'"seq":') + 6
                j = message.rfind(b'"sent_at":') + 10
                seq = int(message[i:message.find(b",", i)])
                sent_at = float(message[j:message.find(b"}", j)])
                self.got.append((seq, now - sent_at))
                r = message.find(b'"run_id":"') + 10
                self.runs.add(message[r:message.find(b'"', r)])
            elif message.startswith(done):
                self.done.set()
            else:
                self.answer_ping(message)

    def close(self) -> None:
        self.writer.close()


async def lean_students(urls: list[str], code: str, ready: mp.Queue, results: mp.Queue, go_home: mp.Event) -> None:
    class_ = [LeanStudent(url, code) for url in urls]
    order = asyncio.Semaphore(CONNECT_ORDER)

    async def arrive(student: LeanStudent) -> None:
        async with order:
            await student.connect()

    await asyncio.gather(*(arrive(s) for s in class_))
    readers = [asyncio.create_task(s.follow()) for s in class_]
    ready.put(len(class_))
    try:
        await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in class_)), 120)
    except asyncio.TimeoutError:  # then the shares show it
        pass
    results.put([s.got for s in class_])
    await asyncio.get_running_loop().run_in_executor(None, go_home.wait, 30)
    for task in readers:
        task.cancel()
    for s in class_:
        s.close()


def lean_process(urls: list[str], code: str, ready: mp.Queue, results: mp.Queue, go_home: mp.Event) -> None:
    """The students' one client process: every student on one asyncio loop."""
    asyncio.run(lean_students(urls, code, ready, results, go_home))


def students(urls: list[str], code: str, ready: mp.Queue, results: mp.Queue, go_home: mp.Event) -> None:
    """(--heavy-clients) One process of python-socketio students: join every student, record (seq, delay) per frame, report at the end."""
    records: list[list[tuple[int, float]]] = []
    clients = []
    finished = threading.Semaphore(0)
    for url in urls:
        got: list[tuple[int, float]] = []
        records.append(got)
        sio = BenchClient(reconnection=False, json=FrameSkim)
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


def case(label: str, server_urls: list[str], n: int, server_pids: list[int], heavy: bool = False) -> dict:
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
    if heavy:  # the python-socketio clients, over a few processes
        chunks, target = [urls[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)], students
    else:
        chunks, target = [urls], lean_process
    procs = [ctx.Process(target=target, args=(chunk, room["code"], ready, results, go_home)) for chunk in chunks if chunk]
    for p in procs:
        p.start()
    joined = sum(ready.get(timeout=300) for _ in procs)
    print(f"{label}: {joined} students joined", file=sys.stderr, flush=True)
    time.sleep(1.0)  # let the member-count broadcasts settle
    pids = {"server": server_pids, "clients": [p.pid for p in procs]}
    cpu0 = {k: [cpu_s(pid) for pid in v] for k, v in pids.items()}
    wall0 = time.monotonic()
    teacher.emit("start", DEMO, namespace=NS)
    done.wait(120)
    time.sleep(0.5)  # the last frame reaches the students
    wall = time.monotonic() - wall0
    cpu = {k: sum(cpu_s(pid) for pid in v) - sum(cpu0[k]) for k, v in pids.items()}
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
            "worst": min(shares), "p50": q[49], "p99": q[98], "max": delays[-1] if delays else 0.0,
            "server_cpu": cpu["server"] / wall, "client_cpu": cpu["clients"] / wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--skip-redis", action="store_true", help="only the one-process case")
    parser.add_argument("--heavy-clients", action="store_true",
                        help="python-socketio students in 3 processes (the earlier bench) instead of the lean ones")
    args = parser.parse_args()
    rows, servers, redis = [], [], None
    try:
        servers.append(LiveServer(env=SERVER_ENV))
        rows.append(case("1 process", [servers[0].url], args.students, [servers[0].proc.pid],
                         args.heavy_clients))
        servers.pop().stop()
        if not args.skip_redis:
            redis, url = start_redis()
            servers.extend(LiveServer(env={**SERVER_ENV, "HERDLAB_MESSAGE_QUEUE": url}) for _ in range(2))
            rows.append(case("2 processes + Redis", [s.url for s in servers], args.students,
                             [s.proc.pid for s in servers], args.heavy_clients))
    finally:
        for server in servers:
            server.stop()
        if redis is not None:
            redis.terminate()
            redis.wait(10)
    print(f"{'case':<22}{'students':>9}{'frames':>8}{'delivered':>11}{'worst':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'srv cpu':>9}{'cli cpu':>9}")
    for r in rows:
        print(f"{r['case']:<22}{r['students']:>9}{r['frames']:>8}{r['delivered']:>10.1%}{r['worst']:>8.1%}"
              f"{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}{r['server_cpu']:>9.0%}{r['client_cpu']:>9.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
