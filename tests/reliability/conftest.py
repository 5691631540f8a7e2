"""Reliability tests: real servers in subprocesses, attacked as a curious or malicious student would.

Each test reproduces a finding of issue 9 and asserts the fixed behaviour, within a bounded time:
while the attack runs, an ``Honest`` user keeps asking for ``/healthz`` and a small summary run,
and every answer must come within ``HONEST_S``; memory is read from ``/proc`` (no forced garbage
collection anywhere). Servers are shared by the tests of a module (one per async mode) unless a
test needs settings of its own.
"""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Iterator, Sequence

import pytest

from tests.browser.conftest import LiveServer
from tests.reliability.clients import SioClient

# An honest classmate is served within 2 s while an attack goes on (issue 17's own bound): the
# suite must hold beside a busy core, where a small run during a burst of abandoned heavy runs took
# 1.63 s (bench/soak.py measures the latencies themselves).
HONEST_S = 2.0
SMALL_RUN = {"scenario": {"clients": {"count": 50}, "duration_s": 2.0}}
MODES = ["eventlet", "threading"]


class Server(LiveServer):
    """``python -m webapp`` in ``mode`` with ``HERDLAB_*`` settings from ``env``."""

    # The app's own defaults: these tests attack its limits (a worker demoted as far as the app
    # demotes it, where tests/conftest.py caps it for every other test).
    ENV: dict[str, str] = {"HERDLAB_WORKER_NICE_MAX": "19"}

    def __init__(self, mode: str, env: dict[str, str] | None = None,
                 launcher: Sequence[str] = ()) -> None:
        super().__init__({"HERDLAB_ASYNC_MODE": mode, **(env or {})}, launcher)
        self.mode = mode

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, Any]:
        return request(self.url + path, timeout=timeout)

    def post(self, path: str, body: Any, timeout: float = 5.0) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return request(self.url + path, data=data, timeout=timeout)


def request(url: str, data: bytes | None = None, timeout: float = 5.0,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            body = res.read()
            status = res.status
    except urllib.error.HTTPError as exc:
        body = exc.read()
        status = exc.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


class Honest:
    """A user who keeps loading ``/healthz`` and running a small experiment during an attack."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.latencies: list[tuple[str, float]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "Honest":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for what, call in (("healthz", lambda: self.server.get("/healthz", timeout=3)),
                               ("small run", lambda: self.server.post("/api/run", SMALL_RUN, 3))):
                start = time.monotonic()
                try:
                    status, body = call()
                    ok = status == 200
                except OSError as exc:
                    ok, body = False, repr(exc)
                took = time.monotonic() - start
                self.latencies.append((what, took))
                if not ok:
                    self.failures.append(f"{what}: {body!r}"[:200])
            self._stop.wait(0.05)

    def check(self, limit: float = HONEST_S) -> None:
        """Every answer came, and within ``limit`` seconds."""
        assert self.latencies, "the honest user got no answer at all"
        assert not self.failures, self.failures[:3]
        worst = max(self.latencies, key=lambda item: item[1])
        assert worst[1] < limit, f"honest {worst[0]} took {worst[1]:.2f} s during the attack"


def children(pid: int) -> list[int]:
    """The child processes of ``pid``, whichever of its threads started them (a thread's
    children are listed under that thread only)."""
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(p) for p in f.read().split()]
        except OSError:
            continue   # (a thread that just ended)
    return out


def workers(pid: int) -> dict[int, str]:
    """The server's worker processes: ``{pid: state}`` (R, S, T stopped, Z zombie...)."""
    out = {}
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"webapp.worker" not in f.read():
                    continue
            with open(f"/proc/{child}/stat") as f:
                out[child] = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue   # gone meanwhile
    return out


def busy_workers(pid: int, window_s: float = 0.5) -> int:
    """Worker processes of server ``pid`` that used CPU over ``window_s`` (its other children,
    the real lab's Redis and PostgreSQL, use a little now and then: not counted)."""
    def cpu(child: int) -> float:
        try:
            with open(f"/proc/{child}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except OSError:
            return 0.0
    before = {c: cpu(c) for c in workers(pid)}
    time.sleep(window_s)
    return sum(1 for c, t in before.items() if cpu(c) > t)


def no_run_left(server: "Server") -> bool:
    """No run holds a slot, and every worker process left is one the pool counts as idle (said
    "idle" after its run, or a spare still starting): none is computing a run. Read off the
    server's own state, not off CPU use: on a busy machine a spare importing the engine at nice
    19 uses CPU for many seconds, and that is not work left behind."""
    status, ready = server.get("/readyz")
    alive = [pid for pid, state in workers(server.proc.pid).items() if state != "Z"]
    return status == 200 and ready["workers"]["runs"] == 0 and len(alive) <= ready["workers"]["idle"]


def first_frame_s(url: str, timeout: float = 35.0) -> float:
    """A classmate's small live run on ``/lab``: seconds from ``start`` to its first frame
    (``timeout`` bounds each wait: past the start timeout of 30 s, a run has failed)."""
    lab = SioClient(url, "/lab")
    try:
        started = time.monotonic()
        lab.emit("start", {"scenario": {"clients": {"count": 100}, "duration_s": 1.0},
                           "speed": 20.0})
        run_id = lab.wait("started", timeout=timeout)["run_id"]
        lab.wait("frame", lambda f: f["run_id"] == run_id, timeout=timeout)
        return time.monotonic() - started
    finally:
        lab.close()


def settle(predicate, timeout: float = 5.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


@pytest.fixture(scope="module", params=MODES)
def server(request) -> Iterator[Server]:
    """One server per async mode, shared by the module's tests (module may set ``SERVER_ENV``)."""
    srv = Server(request.param, getattr(request.module, "SERVER_ENV", None))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def default_server(request) -> Iterator[Server]:
    """One server as ``make run`` starts it (eventlet), for what no async mode changes: a
    worker's limits, the pool's spares, the charge of an intervention."""
    srv = Server("eventlet", getattr(request.module, "SERVER_ENV", None))
    yield srv
    srv.stop()
