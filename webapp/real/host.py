"""The real host: ``webapp.engine.ports.Host`` on a real Redis and a real PostgreSQL.

The strategy modules (``webapp/strategies``) run unchanged on it. Under gevent every request is
a greenlet, so a port call that does I/O (``fresh``, ``claim``, ``put``) blocks only its own
greenlet for one Redis round trip and returns, exactly the synchronous-looking call the port
asks for; whatever completes later comes back through the same callbacks as in the simulation:

- ``later(t, fn)``       a real timer (``gevent.spawn_later``); ``fn`` gets the clock then;
- ``fetch``              a greenlet that takes a connection from this server's pool (psycopg 3 +
                         psycopg_pool), runs a query whose cost is real, writes the value to
                         Redis, then calls ``on_done``; real failures become rejections or
                         failed queries (datastore.classify);
- ``fresh``/``put``      a Redis GET/SET with a PX TTL (rediscache.py);
- ``claim``/``release``  ``SET NX PX`` with the holder's token and a Lua compare-and-delete;
- promises               the strategies' own ``singleflight.Group``: real in-process structures;
- ``note``               an event in the engine's vocabulary, stamped with *this* host's clock
                         (seconds since the run's start on ``time.monotonic``, which every
                         process of the run shares), never with the ``t`` the caller passes.

One host serves the app servers of one process; each server has its own pool, and the
mitigations' per-server tables (promise groups) are this process's memory, as in a real fleet.
A request lives in the process of its first server; a retry goes to the next server of the
same process. ``alive`` is True for every server here: a server that dies takes its process
with it (faults.leader_dies kills the process for real), and the fleet reports it.
"""
from __future__ import annotations

import itertools
import os
import time
from random import Random
from typing import Any, Callable

import gevent
from gevent.event import Event as Flag

from webapp.engine.events import (ARRIVE, CACHE_HIT, CACHE_MISS, CACHE_SET, CHUNK_PUBLISHED,
                                  DB_FINISHED, DB_QUEUED, DB_REJECTED, DB_STARTED, FETCH_START,
                                  RESPOND, RETRY, TIMEOUT, Event)
from webapp.engine.scenario import OFF, Scenario
from webapp.real import datastore
from webapp.real.counters import COUNTERS
from webapp.real.rediscache import RedisCache
from webapp.real.settings import RealSettings
from webapp.strategies import COALESCING, SWITCHED



class Request:
    """One viewer's request (ports.Request), across all its attempts."""

    __slots__ = ("id", "viewer", "key", "server", "home", "t0", "attempt", "done")

    def __init__(self, rid: int, viewer: int, key: str, home: int, t0: float) -> None:
        self.id = rid
        self.viewer = viewer
        self.key = key
        self.home = home                  # the server of its first attempt
        self.server: int | None = None    # the server of the attempt in flight
        self.t0 = t0
        self.attempt = 0
        self.done = False


class RemoteHolder:
    """A claim's holder in another process: only its server is known (what the strategies read
    of a holder: ``holder.leader.server``)."""

    __slots__ = ("server",)

    def __init__(self, server: int) -> None:
        self.server = server

    @property
    def leader(self) -> "RemoteHolder":
        return self


class RealHost:
    """``servers``: the app servers of this process; ``pools[server]`` their connection pools
    (None with ``real.pool=false``: ``connect()`` opens one connection per query)."""

    def __init__(self, scenario: Scenario, settings: RealSettings, servers: list[int],
                 cache: RedisCache, pools: dict[int, Any], pool_size: int,
                 connect: Callable[[], Any], start: float, index: int, processes: int,
                 emit: Callable[[Event], None], die: Callable[[], None],
                 cpu_rows_per_s: float = 0.0) -> None:
        s = self.scenario = scenario
        self.settings = settings
        self.servers = servers
        self.cache = cache
        self.pools = pools
        self.pool_size = pool_size
        self.connect = connect
        self.start = start
        self.emit = emit
        self.die = die
        self.cpu_rows_per_s = cpu_rows_per_s
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.waiting = 0                 # fetches waiting for a connection
        self.busy = dict.fromkeys(servers, 0)   # connections running a query, per server
        self.tag = f"p{index}.{os.getpid()}"
        self._index = index
        self._query_ids = itertools.count(index, processes)   # unique across the fleet
        self._versions = itertools.count()
        self._rngs: dict[str, Random] = {}
        self._service = datastore.service_sampler(s.datastore, self.rng("service"))
        self._mean_service_s = s.datastore.service_ms / 1000.0
        self._tokens: dict[Any, str] = {}     # claim owner -> its token in Redis
        self._owners: dict[str, Any] = {}     # token -> owner (this process's owners)
        self._faults_seen: set[str] = set()
        self._pending = 0                     # timers and fetches still to run
        self._arrivals_left = 0
        self.idle = Flag()                    # set when nothing is left to do
        self.failure: BaseException | None = None
        self._barrier: tuple[int, Flag] | None = None
        self._synchronise: Callable[[Flag], None] | None = None
        self._build_mitigations()

    # ----------------------------------------------------------------- setup
    def _build_mitigations(self) -> None:
        """As the simulation does: the coalescing strategy named, then every mitigation whose
        switch is on; each hook is called only on the mitigations that implement it."""
        s = self.scenario
        self.coalescing = COALESCING[s.strategy.coalesce](self)
        chosen = [self.coalescing] + [cls(self) for cls in SWITCHED
                                      if s.get(cls.switch) != OFF[cls.switch]]
        hooks = lambda name: [getattr(m, name) for m in chosen if hasattr(m, name)]  # noqa
        self._on_fresh = hooks("on_fresh")
        self._on_expired = hooks("on_expired")
        self._ttl_hooks = hooks("ttl")
        self._on_publish = hooks("on_publish")
        delays = hooks("retry_delay")
        self._retry_delay = delays[0] if delays else lambda retry: 0.0

    def now(self) -> float:
        return time.monotonic() - self.start

    def expect(self, arrivals: int,
               synchronise: Callable[[Flag], None] | None = None) -> None:
        """``arrivals`` first attempts will come. With a synchronised herd every miss of a
        first attempt waits on a flag; once all this process's first attempts have looked the
        cache up, ``synchronise(flag)`` is called and sets it when the whole fleet is there."""
        self._arrivals_left = arrivals
        self.idle.clear()
        if synchronise is not None:
            self._barrier = (arrivals, Flag())
            self._synchronise = synchronise
            if arrivals == 0:
                synchronise(self._barrier[1])
        self._check_idle()

    # ----------------------------------------------------------------- work the fleet gives
    def arrive_new(self, rid: int, viewer: int, server: int, key: str) -> None:
        """A first attempt arrives now (called in its own greenlet)."""
        req = Request(rid, viewer, key, server, self.now())
        c = self.counters
        c["requests"] += 1
        c["in_flight"] += 1
        self._arrivals_left -= 1
        self._arrive(req)

    def publish(self, key: str, chunk: int) -> None:
        """live_video: the producer announces chunk ``key`` (pre-warming writes it first)."""
        t = self.now()
        for hook in self._on_publish:
            hook(t, key)
        self.emit(Event((self.now(), CHUNK_PUBLISHED, None, None, None, key, chunk)))

    def warm(self, keys: list[str]) -> None:
        """Write ``keys`` as if at t=0 (before the start): workload.warm_start, or several keys
        cached together by a deploy."""
        for key in keys:
            self._cache_write(0.0, key, "warm_start", self._mean_service_s)

    # ----------------------------------------------------------------- a request's path
    def _arrive(self, req: Request) -> None:
        attempt = req.attempt
        mine = self.servers
        server = mine[(mine.index(req.home) + attempt) % len(mine)]
        req.server = server
        self.counters["arrived"] += 1
        self.emit(Event((self.now(), ARRIVE, req.id, req.viewer, server, req.key, attempt)))
        timeout = self.scenario.clients.timeout_s
        if timeout:
            gevent.spawn_later(timeout, self.guard, self._timeout, req, attempt)
        if not self.scenario.cache.enabled:
            self.coalescing.on_miss(self.now(), req, attempt, server)
            return
        entry = self.cache.get(req.key)
        t = self.now()
        if entry is not None and t < entry.expires:
            self.counters["cache_hits"] += 1
            self.emit(Event((t, CACHE_HIT, req.id, req.viewer, server, req.key, attempt)))
            self._looked_up(attempt)
            for hook in self._on_fresh:
                if hook(t, req, attempt, server, entry):
                    return
            self.settle(t, req, attempt, True, "cache")
            return
        if entry is not None:
            for hook in self._on_expired:
                if hook(t, req, attempt, server, entry):
                    self._looked_up(attempt)
                    return
        self.counters["cache_misses"] += 1
        self.emit(Event((self.now(), CACHE_MISS, req.id, req.viewer, server, req.key, attempt)))
        if self._looked_up(attempt):
            self._barrier[1].wait()
        self.coalescing.on_miss(self.now(), req, attempt, server)

    def _looked_up(self, attempt: int) -> bool:
        """Count a first attempt's lookup toward a synchronised herd; True if it must wait."""
        if self._barrier is None or attempt:
            return False
        left, flag = self._barrier
        self._barrier = (left - 1, flag)
        if left == 1:
            self._synchronise(flag)
        return True

    def _timeout(self, req: Request, attempt: int) -> None:
        if req.attempt != attempt or req.done:
            return
        t = self.now()
        self.emit(Event((t, TIMEOUT, req.id, req.viewer, req.server, req.key, attempt)))
        self._retry_or_end(t, req, "timeout")

    def _retry_or_end(self, t: float, req: Request, reason: str) -> None:
        c = self.counters
        server, req.server = req.server, None
        if req.attempt < self.scenario.clients.retries:
            req.attempt += 1             # from now on the old attempt's answers are dropped
            c["retries"] += 1
            delay = self._retry_delay(req.attempt)
            self.emit(Event((t, RETRY, req.id, req.viewer, server, req.key, req.attempt,
                             delay * 1000.0, reason)))
            self.track(gevent.spawn_later(delay, self.guard, self._arrive, req))
            return
        req.done = True
        c["in_flight"] -= 1
        c["timeouts" if reason == "timeout" else "errors"] += 1
        self.emit(Event((t, RESPOND, req.id, req.viewer, server, req.key, req.attempt, reason,
                         (t - req.t0) * 1000.0, None)))
        self._check_idle()

    # ----------------------------------------------------------------- ports.Host
    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        delay = max(0.0, t - self.now())
        self.track(gevent.spawn_later(delay, self.guard, lambda: fn(self.now(), *args)))

    def fetch(self, t: float, req: Request, attempt: int, server: int, role: str,
              on_done: Callable[[float, bool], None]) -> None:
        qid = next(self._query_ids)
        self.counters["db_queries"] += 1
        self.emit(Event((self.now(), FETCH_START, req.id, req.viewer, server, req.key, attempt,
                         role, qid)))
        faults = self.scenario.faults
        doomed = faults.fail_fetch and self._first("fail_fetch")
        if faults.leader_dies and role == "leader" and self._first("leader_dies"):
            gevent.spawn_later(self._mean_service_s / 2, self.die)
        self.track(gevent.spawn(self.guard, self._query, qid, req, attempt, server, role,
                                 on_done, doomed))

    def settle(self, t: float, req: Request, attempt: int, ok: bool, source: str,
               coalesced: bool = False) -> None:
        if req.attempt != attempt or req.done:
            return                       # the client already gave up on this attempt
        t = self.now()
        if not ok:
            self._retry_or_end(t, req, "error")
            return
        c = self.counters
        server, req.server = req.server, None
        req.done = True
        c["completed"] += 1
        c["in_flight"] -= 1
        if coalesced:
            c["coalesced"] += 1
        self.emit(Event((t, RESPOND, req.id, req.viewer, server, req.key, attempt, "ok",
                         (t - req.t0) * 1000.0, source)))
        self._check_idle()

    def alive(self, server: int) -> bool:
        return server in self.busy

    def fresh(self, key: str, t: float) -> bool:
        entry = self.cache.get(key)
        return entry is not None and self.now() < entry.expires

    def put(self, t: float, key: str, role: str, delta: float) -> None:
        self._cache_write(self.now(), key, role, delta)

    def claim(self, name: str, owner: Any, t: float, lease_s: float) -> tuple[bool, Any]:
        won, other = self.cache.claim(name, self._token(owner), lease_s)
        return won, self._holder(other)

    def release(self, name: str, owner: Any) -> None:
        token = self._tokens.pop(owner, None)
        if token is not None:
            self._owners.pop(token, None)
            self.cache.release(name, token)

    def note(self, kind: str, t: float, req: Request, server: int | None, *fields: Any) -> None:
        self.emit(Event((self.now(), kind, req.id, req.viewer, server, req.key) + fields))

    def config(self, section: str) -> Any:
        return getattr(self.scenario, section)

    def rng(self, stream: str) -> Random:
        """Seeded from the run's seed, the stream and this process: two processes do not roll
        the same dice (XFetch would refresh in every process at once)."""
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = Random(f"{self.scenario.seed}/{stream}/{self._index}")
        return rng

    def count(self, counter: str, n: int = 1) -> None:
        self.counters[counter] += n

    # ----------------------------------------------------------------- the datastore
    def _query(self, qid: int, req: Request, attempt: int, server: int, role: str,
               on_done: Callable[[float, bool], None], doomed: bool) -> None:
        t_submit = self.now()
        service_s = self._service()
        sql, params = datastore.statement(self.settings.query, service_s, self.cpu_rows_per_s,
                                          doomed)
        pool = self.pools.get(server)
        if pool is not None and self.busy[server] >= self.pool_size:
            self.emit(Event((self.now(), DB_QUEUED, req.id, req.viewer, server, req.key, qid,
                             self.waiting + 1)))
        self.waiting += 1
        failure: tuple[str, str] | None = None
        connected = False
        try:
            with (pool.connection(timeout=self.settings.pool_timeout_s) if pool is not None
                  else self.connect()) as conn:
                connected = True
                self.waiting -= 1
                self.busy[server] += 1
                try:
                    self.emit(Event((self.now(), DB_STARTED, req.id, req.viewer, server,
                                     req.key, qid, service_s * 1000.0)))
                    conn.execute(sql, params)
                finally:
                    self.busy[server] -= 1
        except Exception as exc:   # noqa: BLE001 -- classified, else re-raised
            failure = datastore.classify(exc)
            if failure is None:
                raise
            if not connected:
                self.waiting -= 1
        t = self.now()
        c = self.counters
        if failure is None:
            self.emit(Event((t, DB_FINISHED, req.id, req.viewer, server, req.key, qid)))
        elif failure[0] == DB_REJECTED:
            c["db_rejected"] += 1
            self.emit(Event((t, DB_REJECTED, req.id, req.viewer, server, req.key, qid,
                             failure[1])))
        else:
            c["db_failed"] += 1
            self.emit(Event((t, failure[0], req.id, req.viewer, server, req.key, qid)))
        if failure is None and self.scenario.cache.enabled:
            self._cache_write(t, req.key, role, t - t_submit, req, server)
        on_done(self.now(), failure is None)

    def _cache_write(self, t: float, key: str, role: str, delta: float,
                     req: Request | None = None, server: int | None = None) -> None:
        s = self.scenario
        ttl = s.cache.ttl_s
        for hook in self._ttl_hooks:
            ttl = hook(ttl)
        keep = ttl + (s.strategy.stale_ttl_s if s.strategy.stale_while_revalidate else 0.0)
        self.cache.put(key, t + ttl, delta, f"{self.tag}.{next(self._versions)}", keep + 2.0)
        # Stamped once written (visible to others); a warm write before the start is at 0.
        self.emit(Event((max(0.0, self.now()), CACHE_SET, req.id if req else None, req.viewer if req else None,
                         server, key, role, ttl)))

    # ----------------------------------------------------------------- claims and faults
    def _token(self, owner: Any) -> str:
        """The owner's id in Redis: unique in the fleet, ending with its server (a holder in
        another process is known by that only)."""
        token = self._tokens.get(owner)
        if token is None:
            leader = getattr(owner, "leader", None)
            server = getattr(leader, "server", -1)
            token = f"{self.tag}.{len(self._owners)}.{next(self._versions)}:{server}"
            self._tokens[owner] = token
            self._owners[token] = owner
        return token

    def _holder(self, token: str | None) -> Any:
        if not token:
            return None
        local = self._owners.get(token)
        return local if local is not None else RemoteHolder(int(token.rsplit(":", 1)[1]))

    def _first(self, fault: str) -> bool:
        """True for the first event of ``fault`` in the whole run (all processes)."""
        if fault in self._faults_seen:
            return False
        self._faults_seen.add(fault)
        return self.cache.first("fault:" + fault)

    # ----------------------------------------------------------------- bookkeeping
    def track(self, greenlet: gevent.Greenlet) -> None:
        self._pending += 1
        greenlet.link(self._untrack)

    def _untrack(self, _greenlet: gevent.Greenlet) -> None:
        self._pending -= 1
        self._check_idle()

    def _check_idle(self) -> None:
        if self._pending == 0 and self._arrivals_left == 0 and self.counters["in_flight"] == 0:
            self.idle.set()

    def guard(self, fn: Callable[..., None], *args: Any) -> None:
        """Run a greenlet's work; a bug fails the whole run loudly instead of one greenlet
        printing a traceback and the run hanging."""
        try:
            fn(*args)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:   # noqa: BLE001 -- handed to the process's main loop
            if self.failure is None:
                self.failure = exc
            self.idle.set()
