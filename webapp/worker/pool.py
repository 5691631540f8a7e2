"""The web process's side of the workers: start them, keep a warm spare, kill and reap them.

A worker is a fresh interpreter (``python -m webapp.worker FD``) with one end of a socket pair.
Measured on the 2-core machine (bench/README.md): ``spawn`` costs about 65 ms of the *worker's*
CPU (starting Python and importing the engine) and a few ms in the web process; ``fork`` of the
web process is unsafe (eventlet's hub, other threads' locks, copy-on-write of the whole server)
and multiprocessing's ``forkserver`` cannot run under eventlet (its green sockets have no
``sendmsg`` to pass file descriptors). So: spawn, and keep ``spares`` workers already started
and waiting, so a run starts without that delay.

A worker that did a small job comes back to the pool for the next one (see ``__main__``); one
that did a big job exits, and its memory with it. When the web process goes away its sockets
close and every worker, spare or busy, exits at its next look at the socket.
"""
from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any, Callable

from webapp.worker.channel import Channel, ChannelClosed, load

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """One worker process and the web process's end of its channel."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webapp.worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL)
        finally:
            theirs.close()
        self.channel = Channel(mine)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, spec: dict[str, Any]) -> None:
        self.channel.send(("job", spec))

    def send(self, message: tuple[Any, ...]) -> None:
        self.channel.send(message)

    def kill(self) -> None:
        """Stop it now (idempotent); the pool reaps the process later."""
        self.channel.close()
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except OSError:
                pass

    def reaped(self) -> bool:
        return self.proc.poll() is not None


class WorkerPool:
    """Hands out started workers; keeps ``spares`` more waiting, and takes small ones back."""

    RETURN_S = 2.0   # a worker told to stop that has not said "idle" by then is killed

    def __init__(self, spares: int = 1) -> None:
        self.spares = spares
        self.max_idle = max(spares, 2)
        self._idle: deque[Worker] = deque()        # said "idle": warm, the newest last
        self._starting: deque[Worker] = deque()    # spawned, still importing the engine
        self._returning: list[tuple[Worker, float]] = []
        self._dying: list[Worker] = []
        self.started = 0
        self.reused = 0
        # Every worker not yet reaped (handed out or not); if the pool is dropped unclosed (an
        # app a test forgot), they are killed and waited for, never left running or as zombies.
        self._live: set[Worker] = set()
        weakref.finalize(self, _kill_all, self._live)
        # Called after a release, so the owner can reap the returning worker soon (``reap``
        # must run a little later, when the worker has said "idle"); the pool has no clock.
        self.after_release: Callable[[], None] = lambda: None
        # Requests and run tasks share the pool: threads in threading mode, greenlets that can
        # switch inside a spawn under eventlet (where the patched lock is a green one).
        self._lock = threading.RLock()

    @property
    def idle(self) -> tuple[Worker, ...]:
        """Workers waiting for a job (ready, or still starting)."""
        return tuple(self._idle) + tuple(self._starting)

    def acquire(self) -> Worker:
        """A started worker for a job: a warm one if any (it said "idle"), else the spare that
        started first (it is nearly ready), else a new one."""
        with self._lock:
            return self._acquire()

    def _acquire(self) -> Worker:
        self.reap()
        worker = None
        while worker is None and (self._idle or self._starting):
            candidate = self._idle.pop() if self._idle else self._starting.popleft()
            if candidate.proc.poll() is None and not candidate.channel.closed:
                worker = candidate
            else:
                self._kill(candidate)
        if worker is None:
            worker = self._spawn()
        self.top_up()
        return worker

    def release(self, worker: Worker, kill: bool = False) -> None:
        """The run is over with this worker: it stops, and comes back if it stayed small."""
        with self._lock:
            self._release(worker, kill)
        self.after_release()

    def _release(self, worker: Worker, kill: bool) -> None:
        if kill or worker.channel.closed:
            self._kill(worker)
        else:
            worker.send(("stop",))
            self._returning.append((worker, time.monotonic() + self.RETURN_S))
        self.reap()

    @property
    def returning(self) -> bool:
        return bool(self._returning)

    def top_up(self) -> None:
        with self._lock:
            while len(self._idle) + len(self._starting) < self.spares:
                self._starting.append(self._spawn())

    def reap(self) -> None:
        """Take back workers that said "idle", kill late ones, forget the dead."""
        with self._lock:
            self._reap()

    def _reap(self) -> None:
        now = time.monotonic()
        for worker in list(self._starting):
            state = _returned(worker)
            if state == "idle":
                self._starting.remove(worker)
                self._idle.append(worker)
            elif state == "gone":
                self._starting.remove(worker)
                self._kill(worker)
        returning = []
        for worker, deadline in self._returning:
            state = _returned(worker)
            if state == "idle" and len(self._idle) < self.max_idle:
                self.reused += 1
                self._idle.append(worker)
            elif state == "idle" or state == "gone" or now > deadline:
                self._kill(worker)
            else:
                returning.append((worker, deadline))
        self._returning = returning
        self._dying = [w for w in self._dying if not w.reaped()]
        # Over a copy (list() of a set is one step under the GIL): a spawn in another thread must
        # not break the loop (seen once in the test process, where apps of both async modes live).
        for worker in [w for w in list(self._live) if w.reaped()]:
            self._live.discard(worker)

    def close(self) -> None:
        """Kill every worker this pool knows (spares included) and wait for them to be gone."""
        with self._lock:
            self._idle.clear()
            self._starting.clear()
            self._returning = []
            self._dying = []
        _kill_all(self._live)

    def _kill(self, worker: Worker) -> None:
        worker.kill()
        self._dying.append(worker)

    def _spawn(self) -> Worker:
        self.started += 1
        worker = Worker()
        self._live.add(worker)
        return worker


def _kill_all(workers: set[Worker]) -> None:
    for worker in list(workers):
        worker.kill()
    for worker in list(workers):
        try:
            worker.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    workers.clear()


def _returned(worker: Worker) -> str:
    """"idle" once the worker said so, "gone" if it exited, else "busy" (still winding down)."""
    try:
        bodies = worker.channel.receive()
    except ChannelClosed:
        return "gone"
    for body in bodies:
        if load(body) == ("idle",):
            return "idle"
    return "busy"
