"""The datastore: a FIFO multi-server queue that can slow down under load and crash.

``connections`` queries are served at once; the rest wait in FIFO order. With ``contention`` on,
a query that starts while more queries are inside than there are connections is slowed (like a
CPU past saturation). With ``crash`` on, a queue at or above ``overload_queue`` for
``crash_after_s`` takes the datastore down for ``recovery_s``: everything it held fails and new
queries are rejected until it is back. With both off it is a plain M/M/c (or M/D/c, M/G/c) queue.

A query still waiting for a connection leaves the queue when ``cancel`` is called (its clients
all gave up: lifecycle.py decides); one already running runs on, as a real statement does, and
its answer goes nowhere. With ``pool_timeout_s`` on, a query that has waited that long for a
connection is refused (``db_rejected``, reason ``pool_timeout``), as psycopg_pool's ``getconn``
raises ``PoolTimeout``: the app server gives up on the connection, not the client on the
answer. A cancelled (or refused) query stays in the deque as a tombstone, skipped when it
reaches the head, so cancelling costs O(1) however long the queue; every count the model acts on
(``queued``, the queue limit, overload) leaves tombstones out.
"""
import itertools
import math
from collections import deque
from random import Random
from typing import TYPE_CHECKING, Any, Callable, Sequence

from webapp.engine.counters import Counters
from webapp.engine.events import (DB_CANCELLED, DB_FAILED, DB_FINISHED, DB_QUEUED, DB_REJECTED,
                                  DB_STARTED, DB_STATE, Event)
from webapp.engine.recorder import Recorder
from webapp.engine.scenario import Datastore as DatastoreConfig

from webapp.engine.loop import cancel_timer

if TYPE_CHECKING:
    from webapp.engine.loop import Loop

UP, OVERLOADED, DOWN = "up", "overloaded", "down"
MAX_CONTENTION_LOAD = 11.0   # the slow-down stops growing past 10 extra loads


def service_sampler(cfg: DatastoreConfig, rng: Random) -> Callable[[], float]:
    """Draws one query's service time (seconds) from ``cfg.service_dist`` around its mean."""
    mean = cfg.service_ms / 1000.0
    if cfg.service_dist == "constant":
        return lambda: mean
    if cfg.service_dist == "exponential":
        return lambda: rng.expovariate(1.0 / mean)
    mu = math.log(mean) - cfg.lognormal_sigma ** 2 / 2      # lognormal with that mean
    return lambda: rng.lognormvariate(mu, cfg.lognormal_sigma)


class Query:
    """One fetch sent to the datastore; ``on_done(t, ok)`` is called exactly once, unless the
    server that sent it has died (then its answer goes nowhere). ``waiting``: the client attempts
    still waiting for its answer (lifecycle.py keeps it; at 0 a queued query is cancelled)."""

    __slots__ = ("id", "key", "server", "req", "attempt", "role", "on_done", "t_submit",
                 "queued", "running", "doomed", "waiting", "cancelled", "timer")

    def __init__(self, qid: int, key: str, server: int, req: Any, attempt: int | None,
                 role: str, on_done: Callable[[float, bool], None], t: float) -> None:
        self.id = qid
        self.key = key
        self.server = server
        self.req = req
        self.attempt = attempt
        self.role = role
        self.on_done = on_done
        self.t_submit = t
        self.queued = False      # waiting for a connection (only then can it be cancelled)
        self.running = False
        self.doomed = False      # faults.fail_fetch: served, but answers with an error
        self.waiting = 0
        self.cancelled = False   # left the queue: a tombstone until it reaches the head
        self.timer: list | None = None   # its pool timeout while it waits (Loop.timer)


class Datastore:
    """The model. It schedules its own work on ``loop``, records on ``recorder``, counts
    rejected and failed queries in ``counters``, and hands every query's outcome to
    ``answer(t, query, ok)``. ``given``: service times for the first queries to start, in order
    (a trace's, engine/trace.py); the rest are drawn."""

    def __init__(self, cfg: DatastoreConfig, rng: Random, loop: "Loop", recorder: Recorder,
                 counters: Counters, answer: Callable[[float, Query, bool], None],
                 given: Sequence[float] = ()) -> None:
        self.cfg = cfg
        self.loop = loop
        self.recorder = recorder
        self.counters = counters
        self.answer = answer
        self.queue: deque[Query] = deque()     # FIFO, with cancelled tombstones
        self.running: dict[int, Query] = {}
        self._tombstones = 0
        self.state = UP
        self.down_s = 0.0
        self.peak_inflight = 0
        self._epoch = 0          # bumps whenever an overload ends, cancelling its crash timer
        self._down_since = 0.0
        self._service = service_sampler(cfg, rng)
        if given:
            self._service = itertools.chain(given, iter(self._service, None)).__next__
        self.slow = 1.0          # faults.slow_*: queries starting now take this many times longer
        self.moments: Any = None   # engine/moments.py, told of every change of state

    @property
    def queued(self) -> int:
        """Queries waiting for a connection (cancelled ones have left)."""
        return len(self.queue) - self._tombstones

    @property
    def inflight(self) -> int:
        return len(self.queue) - self._tombstones + len(self.running)

    def submit(self, t: float, q: Query) -> None:
        cfg = self.cfg
        if self.state == DOWN or (cfg.queue_limit and self.queued >= cfg.queue_limit
                                  and len(self.running) >= cfg.connections):
            self.counters.db_rejected += 1
            self.recorder.note(DB_REJECTED, t, q.req, q.server, q.id,
                               "down" if self.state == DOWN else "queue_full")
            on_done, q.on_done = q.on_done, None     # as answer() does (its server is alive)
            on_done(t, False)
            return
        if len(self.running) < cfg.connections:
            self._start(t, q)
        else:
            self.queue.append(q)
            q.queued = True
            queued = len(self.queue) - self._tombstones
            self.recorder.note(DB_QUEUED, t, q.req, q.server, q.id, queued)
            if cfg.pool_timeout_s:
                q.timer = self.loop.timer(t + cfg.pool_timeout_s, self._pool_timeout, q)
            if queued >= cfg.overload_queue and self.state == UP:
                self._set_state(t, OVERLOADED)
        inflight = len(self.queue) - self._tombstones + len(self.running)
        if inflight > self.peak_inflight:
            self.peak_inflight = inflight

    def _start(self, t: float, q: Query) -> None:
        cfg = self.cfg
        self.running[q.id] = q
        q.running = True
        service = self._service()
        if self.slow != 1.0:
            service *= self.slow
        if cfg.contention:
            load = self.inflight / cfg.connections
            if load > 1.0:
                service *= 1.0 + cfg.contention * (min(load, MAX_CONTENTION_LOAD) - 1.0)
        self.recorder.note(DB_STARTED, t, q.req, q.server, q.id, service * 1000.0)
        self.loop.later(t + service, self._finish, q)

    def _finish(self, t: float, q: Query) -> None:
        if not q.running:        # failed by a crash while in service
            return
        q.running = False
        del self.running[q.id]
        nxt = self._next()
        if nxt is not None:
            self._start(t, nxt)
            self._maybe_not_overloaded(t)
        ok = not q.doomed
        self.recorder.note(DB_FINISHED if ok else DB_FAILED, t, q.req, q.server, q.id)
        if not ok:
            self.counters.db_failed += 1
        self.answer(t, q, ok)

    def _next(self) -> Query | None:
        """The first live query of the queue, taken out (tombstones before it are dropped)."""
        queue = self.queue
        while queue:
            q = queue.popleft()
            if not q.cancelled:
                self._leave_queue(q)
                return q
            self._tombstones -= 1
        return None

    def _leave_queue(self, q: Query) -> None:
        """``q`` no longer waits for a connection (so its pool timeout will not fire)."""
        q.queued = False
        if q.timer is not None:
            cancel_timer(q.timer)
            q.timer = None

    def _pool_timeout(self, t: float, q: Query) -> None:
        """``q`` waited ``pool_timeout_s`` for a connection: refused, it leaves the queue (a
        tombstone, as a cancelled one) and answers with a failure its clients hear."""
        q.timer = None
        self._leave_queue(q)
        q.cancelled = True
        self._tombstones += 1
        self.counters.db_rejected += 1
        self.recorder.note(DB_REJECTED, t, q.req, q.server, q.id, "pool_timeout")
        self._maybe_not_overloaded(t)
        self.answer(t, q, False)

    def _maybe_not_overloaded(self, t: float) -> None:
        if self.state == OVERLOADED and self.queued < self.cfg.overload_queue:
            self._set_state(t, UP)

    def cancel(self, t: float, q: Query) -> None:
        """Every client waiting for ``q`` gave up while it was still queued: it leaves the queue
        (no connection time spent) and answers, to nobody, with a failure."""
        self._leave_queue(q)
        q.cancelled = True
        self._tombstones += 1
        self.counters.db_cancelled += 1
        self.recorder.note(DB_CANCELLED, t, q.req, q.server, q.id)
        self._maybe_not_overloaded(t)
        self.answer(t, q, False)

    def _set_state(self, t: float, state: str, failed: int = 0) -> None:
        if state != OVERLOADED:
            self._epoch += 1
        self.state = state
        recover_at = None
        if state == OVERLOADED and self.cfg.crash:
            self.loop.later(t + self.cfg.crash_after_s, self._crash, self._epoch)
        elif state == DOWN:
            recover_at = t + self.cfg.recovery_s
            self._down_since = t
            self.loop.later(recover_at, self._recover)
        self.recorder.system(Event((t, DB_STATE, None, None, None, None, state, recover_at)))
        if self.moments is not None:
            self.moments.db_state(t, state, recover_at,
                                  self.queued if state == OVERLOADED else failed)

    def _crash(self, t: float, epoch: int) -> None:
        """The overload outlasted crash_after_s: go down, failing everything held, queue first."""
        if epoch != self._epoch or self.state != OVERLOADED:
            return
        held = [q for q in self.queue if not q.cancelled] + list(self.running.values())
        self._set_state(t, DOWN, len(held))
        self.queue.clear()
        self._tombstones = 0
        self.running.clear()
        for q in held:
            self._leave_queue(q)
            q.running = False
            self.counters.db_failed += 1
            self.recorder.note(DB_FAILED, t, q.req, q.server, q.id)
        for q in held:
            self.answer(t, q, False)

    def _recover(self, t: float) -> None:
        self.down_s += t - self._down_since
        self._set_state(t, UP)

    def down_so_far(self, now: float) -> float:
        return self.down_s + (now - self._down_since if self.state == DOWN else 0.0)
