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

Spares that are alive (issue 17: a stopped spare was handed out, and the run's first frame came
10 s later): before a spare is handed out it is pinged, and it must answer within ``PING_S``; one
that does not (stopped, hung) is killed and replaced, never handed out. A worker found dead is
reaped at once, by its own PID (``Popen.poll``: ``waitpid(pid, WNOHANG)``), never by
``waitpid(-1)``: the web process has other children (the real lab's services) whose owners reap
them. ``maintain`` (the run slots call it every ``MAINTAIN_S``) finds dead and hung spares between
runs, and starts their replacements.
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
PING_S = 0.5            # a waiting worker that does not answer a ping within this is stopped
START_GRACE_S = 10.0    # or hung; one still importing the engine is, after this long
POLL_S = (0.001, 0.02)  # how often acquire looks for an answer: the first look, the longest
SPAWN_AFTER_S = 0.1     # no answer yet: a new worker starts meanwhile (a niced spare on a
                        # busy machine may take tens of ms to answer: not a reason to start one)
SMALL = 64              # bytes: "idle" and "pong" are shorter, a chunk of events far longer


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
        self.spawned = time.monotonic()
        self.said_idle = False              # it has imported the engine and waits for a job
        self.pinged: float | None = None    # when the ping still unanswered was sent

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, spec: dict[str, Any]) -> None:
        self.channel.send(("job", spec))

    def send(self, message: tuple[Any, ...]) -> None:
        self.channel.send(message)

    def ping(self) -> None:
        """Ask a waiting worker whether it is alive (it answers ``("pong",)``)."""
        if self.pinged is None:
            self.pinged = time.monotonic()
            self.channel.send(("ping",))

    def hear(self) -> bool:
        """Read what it said (it is waiting: "idle", "pong"); False once it is gone."""
        try:
            bodies = self.channel.receive()
        except ChannelClosed:
            return False
        for body in bodies:
            if len(body) > SMALL:
                continue   # the rest of a job it was doing: events nobody reads any more
            message = load(body)
            if message == ("idle",):
                self.said_idle = True
            elif message == ("pong",):
                self.said_idle = True    # (a starting worker answers once it is ready)
                self.pinged = None
        return self.proc.poll() is None

    def silent(self, now: float) -> bool:
        """Pinged, and no answer within ``PING_S`` (one still starting gets ``START_GRACE_S``)."""
        if self.pinged is None or now - self.pinged <= PING_S:
            return False
        return self.said_idle or now - self.spawned > START_GRACE_S

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
    """Hands out started workers, checked alive; keeps ``spares`` more waiting, and takes small
    ones back. ``sleep`` is how ``acquire`` waits for an answer (the async mode's, in the app)."""

    RETURN_S = 2.0   # a worker told to stop that has not said "idle" by then is killed

    def __init__(self, spares: int = 1, sleep: Callable[[float], None] = time.sleep) -> None:
        self.spares = spares
        self.max_idle = max(spares, 2)
        self.sleep = sleep
        self._idle: deque[Worker] = deque()        # waiting for a job, the newest last
        self._starting: deque[Worker] = deque()    # spawned, still importing the engine
        self._returning: list[tuple[Worker, float]] = []
        self._dying: list[Worker] = []
        self.started = 0
        self.reused = 0
        self.replaced = 0    # spares killed because they did not answer a ping
        # Every worker not yet reaped (handed out or not); if the pool is dropped unclosed (an
        # app a test forgot), they are killed and waited for, never left running or as zombies.
        self._live: set[Worker] = set()
        weakref.finalize(self, _kill_all, self._live)
        # Requests and run tasks share the pool: threads in threading mode, greenlets that can
        # switch inside a spawn under eventlet (where the patched lock is a green one).
        self._lock = threading.RLock()

    @property
    def idle(self) -> tuple[Worker, ...]:
        """Workers waiting for a job (ready, or still starting)."""
        return tuple(self._idle) + tuple(self._starting)

    def acquire(self) -> Worker:
        """A started worker for a job, alive: every waiting worker is pinged and the first to
        answer is handed out (the newest warm one first). If none has answered after
        ``SPAWN_AFTER_S``, a new one starts meanwhile (so a stopped spare costs a little more
        than a start); after ``PING_S`` the silent ones are killed and the new one is handed
        out, ready or nearly so."""
        started = time.monotonic()
        pause = POLL_S[0]
        fresh: Worker | None = None
        with self._lock:
            self._reap()
            for worker in (*self._idle, *self._starting):
                worker.ping()
        while True:
            with self._lock:
                worker = self._claim()
                waited = time.monotonic() - started
                if worker is None and fresh is None and (
                        waited > SPAWN_AFTER_S or not (self._idle or self._starting)):
                    fresh = self._spawn()
                    fresh.ping()
                    self._starting.append(fresh)
                if worker is None and waited > PING_S:
                    self._reap()   # (the silent ones go)
                    worker = fresh if fresh in self._starting else self._spawn()
                    if worker in self._starting:
                        self._starting.remove(worker)
                if worker is not None:
                    self._top_up()
                    return worker
            self.sleep(pause)
            pause = min(2 * pause, POLL_S[1])

    def _claim(self) -> Worker | None:
        """Take the first waiting worker that answered its ping (the newest warm one first)."""
        for queue in (self._idle, self._starting):
            for worker in (reversed(queue) if queue is self._idle else list(queue)):
                if worker.hear() and worker.pinged is None and worker.said_idle:
                    queue.remove(worker)
                    return worker
        return None

    def release(self, worker: Worker, kill: bool = False) -> None:
        """The run is over with this worker: it stops, and comes back if it stayed small."""
        with self._lock:
            self._release(worker, kill)

    def _release(self, worker: Worker, kill: bool) -> None:
        if kill or worker.channel.closed:
            self._kill(worker)
        else:
            worker.said_idle = False
            worker.pinged = None
            worker.send(("stop",))
            self._returning.append((worker, time.monotonic() + self.RETURN_S))
        self._reap()

    @property
    def returning(self) -> bool:
        return bool(self._returning)

    def top_up(self) -> None:
        with self._lock:
            self._top_up()

    def _top_up(self) -> None:
        while len(self._idle) + len(self._starting) < self.spares:
            self._starting.append(self._spawn())

    def reap(self) -> None:
        """Take back workers that said "idle", kill late ones, forget the dead."""
        with self._lock:
            self._reap()

    def maintain(self) -> None:
        """Between runs: kill the dead and the silent (reaping them at once), take back the
        returning, and start replacements for spares that are gone."""
        with self._lock:
            self._reap()
            if self.started:   # (no spares before the first run)
                self._top_up()

    def _reap(self) -> None:
        now = time.monotonic()
        for queue in (self._idle, self._starting):
            for worker in list(queue):
                alive = worker.hear()
                if not alive or worker.silent(now):
                    queue.remove(worker)
                    if alive:
                        self.replaced += 1
                        log.warning("worker %d did not answer a ping: replaced", worker.pid)
                    self._kill(worker)
                elif queue is self._starting and worker.said_idle:
                    self._starting.remove(worker)
                    self._idle.append(worker)
        while len(self._idle) > self.max_idle:   # (a start raced a late answer: one too many)
            self._kill(self._idle.popleft())
        returning = []
        for worker, deadline in self._returning:
            alive = worker.hear()
            if alive and worker.said_idle and len(self._idle) < self.max_idle:
                self.reused += 1
                self._idle.append(worker)
            elif not alive or worker.said_idle or now > deadline:
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
        if not worker.reaped():   # (a process already dead is reaped here, at once)
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
