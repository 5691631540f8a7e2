"""Proxy bench: a department on one subnet through the production path of docs/deploy.md.

    .venv/bin/python bench/proxy.py                       # 10 instructors, 300 students, 3 processes
    .venv/bin/python bench/proxy.py --classes 3 --students 60

The site is the one ``tests/deploy/test_proxy.py`` runs (``tests/deploy/production.Site``): Debian's
nginx with the shipped site and a throwaway certificate (TLS, a non-default port), three Herd Lab
processes with the shipped settings (gevent, Redis as the message queue, the per-address
limits), a private ``redis-server``. Every client connects from its own source address in
127.0.5.0/24 on loopback, so nginx sees one subnet of distinct clients, as a school's; instructors
take 127.0.5.1-10, students the rest (beyond 254 clients two share an address).

Each instructor (a WebSocket client, ``production.WireClient``) creates a room; its students (the
lean students of ``bench/room.py``, all in one asyncio process, over TLS) join it; once everyone
is in, every instructor starts the classroom demo (300 viewers, 16 s, real time) at once.

Printed: rooms created and refused, where rooms and connections landed (each process's own
``/metrics``), and per class: students, frames, the share of (student, frame) pairs delivered,
the worst student's share, students who saw exactly their class's run and its end, and the
fan-out delay (receipt time minus the frame's ``sent_at``) p50/p99/max over all classes; the CPU
of the servers, nginx and the clients during the runs, as a share of one core.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import re
import ssl
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from room import CONNECT_ORDER, DEMO, LeanStudent, cpu_s  # also puts the repository on sys.path

from tests.deploy.production import SUBNET, Site, WireClient
from tests.reliability.redis_server import RedisServer

INSTRUCTOR_ADDRESSES = 10


def address(i: int) -> str:
    """The i-th client's source address: 127.0.5.1 .. 127.0.5.254, then round again."""
    return f"{SUBNET}{i % 254 + 1}"


async def department(url: str, cafile: str, classes: list[tuple[str, list[str]]], ready: mp.Queue,
                     results: mp.Queue, go_home: mp.Event) -> None:
    tls = ssl.create_default_context(cafile=cafile)
    students = [(n, LeanStudent(url, code, tls=tls, source=source))
                for n, (code, sources) in enumerate(classes) for source in sources]
    order = asyncio.Semaphore(CONNECT_ORDER)

    async def arrive(student: LeanStudent) -> None:
        async with order:
            await student.connect()

    await asyncio.gather(*(arrive(s) for _, s in students))
    readers = [asyncio.create_task(s.follow()) for _, s in students]
    ready.put(len(students))
    try:
        await asyncio.wait_for(asyncio.gather(*(s.done.wait() for _, s in students)), 180)
    except asyncio.TimeoutError:  # then the shares show it
        pass
    results.put([(n, s.got, sorted(r.decode() for r in s.runs), s.done.is_set()) for n, s in students])
    await asyncio.get_running_loop().run_in_executor(None, go_home.wait, 30)
    for task in readers:
        task.cancel()
    for _, s in students:
        s.close()


def students_process(*args: Any) -> None:
    asyncio.run(department(*args))


def metrics(site: Site) -> list[dict[str, float]]:
    """Each process's sockets, rooms and room members, from its own /metrics (not via nginx)."""
    out = []
    for server in site.servers:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as res:
            text = res.read().decode()
        out.append({name: float(re.search(rf"^herdlab_{name} (\S+)$", text, re.M).group(1))
                    for name in ("sockets", "rooms", "room_members")})
    return out


class Instructor:
    """One class's instructor: creates the room, starts the demo, records its run's frames."""

    def __init__(self, site: Site, source: str) -> None:
        self.client = site.socket("/room", source)
        self.client.emit("create", {})
        reply = self.client.wait_raw(lambda m: m.startswith('42/room,["room"')
                                     or m.startswith('42/room,["room_error"'))
        self.code = re.search(r'"code":"([^"]+)"', reply).group(1) if '["room"' in reply else None
        self.refusal = None if self.code else re.search(r'"reason":"([^"]+)"', reply).group(1)
        self.run_id: str | None = None
        self.frames: set[int] = set()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.client.emit("start", DEMO)
        self.thread.start()

    def _run(self) -> None:
        def match(message: str) -> bool:
            if message.startswith('42/room,["started"'):
                self.run_id = re.search(r'"run_id":"([^"]+)"', message).group(1)
            elif message.startswith('42/room,["frame"'):
                self.frames.add(int(re.search(r'"seq":(\d+)', message).group(1)))
            return message.startswith('42/room,["done"')

        self.client.wait_raw(match, timeout=180)


def run(classes: int, students: int) -> int:
    redis = RedisServer()
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp), redis.url, processes=3)
        try:
            return bench(site, classes, students)
        finally:
            site.stop()
            redis.stop()


def bench(site: Site, classes: int, students: int) -> int:
    teachers = [Instructor(site, address(i)) for i in range(classes)]
    rooms = [t for t in teachers if t.code]
    refusals = [t.refusal for t in teachers if not t.code]
    print(f"rooms: {len(rooms)} of {classes} created; refused: {refusals or 'none'}", flush=True)
    seats = [(t.code, [address(INSTRUCTOR_ADDRESSES + k) for k in range(n, students, len(rooms))])
             for n, t in enumerate(rooms)]
    ctx = mp.get_context("fork")
    ready, results, go_home = ctx.Queue(), ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=students_process,
                       args=(site.url, str(site.cert), seats, ready, results, go_home))
    proc.start()
    joined = ready.get(timeout=600)
    time.sleep(1.0)  # the member counts settle
    spread = metrics(site)
    pids = [s.proc.pid for s in site.servers]
    watched = {"servers": pids, "nginx": [site.nginx.proc.pid], "clients": [proc.pid]}
    cpu0 = {k: sum(cpu_s(p) for p in v) for k, v in watched.items()}
    wall0 = time.monotonic()
    for t in rooms:
        t.start()
    for t in rooms:
        t.thread.join(200)
    wall = time.monotonic() - wall0
    cpu = {k: (sum(cpu_s(p) for p in v) - cpu0[k]) / wall for k, v in watched.items()}
    records = results.get(timeout=300)
    go_home.set()
    proc.join(30)
    for t in teachers:
        t.client.close()

    print(f"{joined} students joined {len(rooms)} rooms through nginx (TLS) from {SUBNET}0/24")
    print(f"{'process':<10}{'sockets':>9}{'rooms':>7}{'in rooms':>10}")
    for i, m in enumerate(spread):
        print(f"{i:<10}{m['sockets']:>9.0f}{m['rooms']:>7.0f}{m['room_members']:>10.0f}")
    print(f"{'class':<7}{'students':>9}{'frames':>8}{'delivered':>11}{'worst':>8}{'own run':>9}{'ended':>7}")
    delays = []
    for n, t in enumerate(rooms):
        mine = [r for r in records if r[0] == n]
        total = len(t.frames) or 1
        shares = [len({seq for seq, _ in got}) / total for _, got, _, _ in mine]
        own = sum(runs == [t.run_id] for _, _, runs, _ in mine)
        ended = sum(done for *_, done in mine)
        delays += [d * 1000 for _, got, _, _ in mine for _, d in got]
        print(f"{n:<7}{len(mine):>9}{len(t.frames):>8}{sum(shares) / max(1, len(shares)):>10.1%}"
              f"{min(shares, default=0):>8.1%}{own:>9}{ended:>7}")
    delays.sort()
    q = statistics.quantiles(delays, n=100) if len(delays) > 1 else [0.0] * 99
    print(f"fan-out delay ms: p50 {q[49]:.0f}, p99 {q[98]:.0f}, max {delays[-1] if delays else 0:.0f}")
    print("cpu (share of one core) during the runs: " +
          ", ".join(f"{k} {v:.0%}" for k, v in cpu.items()) + f"; {wall:.1f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--students", type=int, default=300)
    args = parser.parse_args()
    return run(args.classes, args.students)


if __name__ == "__main__":
    sys.exit(main())
