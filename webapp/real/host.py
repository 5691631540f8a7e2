"""The real host: ``webapp.engine.ports.Host`` on a real Redis and a real PostgreSQL.

The strategy modules (``webapp/strategies``) run unchanged on it. Under gevent every request is
a greenlet, so a port call that does I/O (``fresh``, ``claim``, ``put``) blocks only its own
greenlet for one Redis round trip and returns, exactly the synchronous-looking call the port
asks for; whatever completes later comes back through the same callbacks as in the simulation:

- ``later(t, fn)``       a real timer (``gevent.spawn_later``); ``fn`` gets the clock then;
- ``fetch``              a greenlet that takes a connection from this server's pool (psycopg 3 +
                         psycopg_pool), runs a query whose cost is real, writes the value to
                         Redis, then calls ``on_done``; real failures become rejections or
                         failed queries (datastore.classify). The attempts waiting for it are
                         counted (``join`` adds one); once all have given up while it still
                         waits for a pool connection, its wait is interrupted: cancelled;
- ``fresh``/``put``      a Redis GET/SET with a PX TTL (rediscache.py);
- ``claim``/``release``  ``SET NX PX`` with the holder's token (ending with its server) and a
                         Lua compare-and-delete;
- ``watch``/``notify``   a waiting list on Redis, woken over pub/sub (wakeups.py);
- promises               the strategies' own ``singleflight.Group``: real in-process structures;
- ``note``               an event in the engine's vocabulary, stamped with *this* host's clock
                         (seconds since the run's start on ``time.monotonic``, which every
                         process of the run shares), never with the ``t`` the caller passes.

**Measured where it happens.** A cache read or write is stamped when Redis did it (its ``TIME``),
a query's ``db_started`` when PostgreSQL received it, with the service time PostgreSQL measured
(datastore.py): the app server learns of each only later, by its own scheduling, and that delay
is the client's, not the cache's or the datastore's. Both servers' wall clocks are mapped onto
the run's clock (``at``). Such an event is emitted late but stamped earlier, so while one may
still come the host *holds* the time it can come from (``hold``): the outbox sends events only
up to the oldest hold (``complete_until``), in time order, holding back at most ``MAX_HOLD_S``.

**Latency from the planned arrival.** A request's latency runs from when the plan said it
arrives, not from when its greenlet got to start: a late start counts against the system (the
correction for coordinated omission, as wrk2 and HdrHistogram make it). Its ``arrive`` event
is stamped when it really started; the fleet reports the lateness beside the latency.

One host serves the app servers of one process; each server has its own pool, and the
mitigations' per-server tables (promise groups, the retry budget) are this process's memory, as
in a real fleet. A request lives in the process of its first server; a retry goes to the next
server of the same process. ``alive`` is True for every server here: a server that dies takes
its process with it (faults.leader_dies kills the process for real), and the fleet reports it.
"""
from __future__ import annotations

import itertools
import os
import time
from random import Random
from typing import Any, Callable

import gevent
from gevent.event import Event as Flag

from webapp.engine.datastore import service_sampler
from webapp.engine.events import (ARRIVE, CACHE_HIT, CACHE_MISS, CACHE_SET, CHUNK_PUBLISHED,
                                  DB_CANCELLED, DB_FINISHED, DB_QUEUED, DB_REJECTED, DB_SLOW,
                                  DB_STARTED, FETCH_START, RESPOND, RETRY, RETRY_DENIED, TIMEOUT,
                                  Event)
from webapp.engine.faults import MISS_ROLES
from webapp.engine.mitigations import Mitigations
from webapp.engine.scenario import Scenario
from webapp.engine.waits import QueryWaits
from webapp.real import datastore
from webapp.real.counters import COUNTERS
from webapp.real.rediscache import RedisCache
from webapp.real.settings import RealSettings, pool_timeout_s
from webapp.real.wakeups import Wakeups


def wall_minus_monotonic() -> float:
    """``time.time() - time.monotonic()``, read as close together as this process can (the
    narrowest of a few tries): maps Redis's and PostgreSQL's wall-clock stamps onto the run."""
    best = None
    for _ in range(5):
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        if best is None or after - before < best[0]:
            best = (after - before, wall - (before + after) / 2)
    return best[1]


MAX_HOLD_S = 0.2
MAX_LOOKS = 10_000            # looks measured per request (the rest are not fed)


class Cancelled(Exception):
    """Thrown into a query's greenlet while it waits for a pool connection and nobody waits for
    its answer any more. An ``Exception`` on purpose: psycopg_pool then takes the waiter off its
    queue (a ``GreenletExit`` would leave it there and a connection would be handed to nobody)."""


class Request:
    """One viewer's request (ports.Request), across all its attempts."""

    __slots__ = ("id", "viewer", "key", "server", "home", "t0", "attempt", "done", "query",
                 "lag")

    def __init__(self, rid: int, viewer: int, key: str, home: int, t0: float) -> None:
        """``t0``: its planned arrival, where its latency runs from."""
        self.id = rid
        self.viewer = viewer
        self.key = key
        self.home = home                  # the server of its first attempt
        self.server: int | None = None    # the server of the attempt in flight
        self.t0 = t0
        self.attempt = 0
        self.done = False
        self.query: Query | None = None   # the query the attempt in flight waits for
        self.lag = 0.0                    # its last look: from its callback to its answer


class Query:
    """A fetch in flight (what ``Host.fetch`` returns). ``waiting``: the attempts waiting for its
    answer; ``queued`` until it has a connection; ``parked`` while its greenlet waits in the
    pool's queue (where it can be interrupted); ``cancelled`` once nobody waits while queued."""

    __slots__ = ("id", "greenlet", "waiting", "queued", "parked", "cancelled")

    def __init__(self, qid: int) -> None:
        self.id = qid
        self.greenlet: gevent.Greenlet | None = None
        self.waiting = 0
        self.queued = True
        self.parked = False
        self.cancelled = False


class RealHost(QueryWaits):
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
        self.made: dict[str, int] = {}   # how often each place in the strategies made its event
        self.busy = dict.fromkeys(servers, 0)   # connections running a query, per server
        self.tag = f"p{index}.{os.getpid()}"
        self._index = index
        self._query_ids = itertools.count(index, processes)   # unique across the fleet
        self._versions = itertools.count()
        self._rngs: dict[str, Random] = {}
        self._service = service_sampler(s.datastore, self.rng("service"))
        self._mean_service_s = s.datastore.service_ms / 1000.0
        self._pool_timeout_s = pool_timeout_s(s, settings)
        self._service_scale = 1.0
        f = s.faults
        self._slow = (f.slow_db_at_s, f.slow_db_at_s + f.slow_db_for_s, f.slow_factor)
        self._after = f.slow_db_at_s + f.slow_db_for_s     # summary's after_trigger
        self._tokens: dict[Any, str] = {}     # claim owner -> its token in Redis
        self._faults_seen: set[str] = set()
        self._pending = 0                     # timers and fetches still to run
        self._arrivals_left = 0
        self.idle = Flag()                    # set when nothing is left to do
        self.failure: BaseException | None = None
        self._barrier: tuple[int, Flag] | None = None
        self._synchronise: Callable[[Flag], None] | None = None
        self._wall = wall_minus_monotonic()
        self._holds: dict[int, float] = {}     # hold -> the earliest time its event can have
        self._hold_ids = itertools.count()
        # What the simulation beside the run is fed (``measured``), measured here.
        self.held: list[tuple[float, float]] = []    # per query: (handed, seconds) a connection
        self._returned: dict[int, float] = {}        # backend pid -> when last returned
        self.looks: dict[int, list[tuple[float, float]]] = {}   # request id -> its looks
        self.around: list[tuple[int, float]] = []    # per answered or refused query: (id, s)
        self.claims: dict[int, float] = {}           # request id -> its next step after a miss
        self._missed: dict[Any, Request] = {}        # greenlet -> request whose claim is next
        self._claimed: dict[Any, float] = {}         # greenlet -> when its fetch was decided
        # Claims (a lock, a marker): how many were won over a holder whose lease had run out,
        # and the longest any was held here (claim decided to release).
        self.locks = {"takeovers": 0, "held_max_s": 0.0}
        self._holding: dict[Any, float] = {}         # owner -> when its claim was decided
        self._looking: dict[Any, tuple[Request, float, float]] = {}   # greenlet -> its look
        self.wakeups = Wakeups(cache.r, cache.prefix, self.tag,
                               lambda fn: self.track(gevent.spawn(self.guard, fn)),
                               lambda name: bool(cache.send("EXISTS", name)), cache.send)
        self._bind()

    def _bind(self) -> None:
        """The scenario's mitigations, and the hooks this host calls."""
        m = self.mitigations = Mitigations(self.scenario, self)
        self._on_fresh = m.hooks("on_fresh")
        self._on_expired = m.hooks("on_expired")
        self._ttl_hooks = m.hooks("ttl")
        self._on_publish = m.hooks("on_publish")
        self._on_request = m.hooks("on_request")
        self._may_retry = m.hooks("may_retry")
        self._retry_delay = m.retry_delay()

    def now(self) -> float:
        return time.monotonic() - self.start

    def at(self, epoch: float, after: float) -> float:
        """The run's time of a wall-clock instant measured by Redis or PostgreSQL (same machine),
        no earlier than ``after`` (when this host asked) nor later than now."""
        return min(max(epoch - self._wall - self.start, after), self.now())

    def hold(self, t: float) -> int:
        """An event stamped at ``t`` or later may still be emitted (until ``unhold``)."""
        hold = next(self._hold_ids)
        self._holds[hold] = t
        return hold

    def unhold(self, hold: int) -> None:
        del self._holds[hold]

    def complete_until(self) -> float:
        """Every event up to this time has been emitted: now, or the oldest hold -- but never
        more than ``MAX_HOLD_S`` ago, so that a run followed live never stalls behind one slow
        greenlet (an event emitted later still is stamped at the time already sent)."""
        now = self.now()
        return max(min(self._holds.values(), default=now), now - MAX_HOLD_S)

    def scale_service(self, scale: float, stretched: Scenario) -> None:
        """Every query takes ``scale`` times its drawn service time (the fleet stretches the
        queries when this machine cannot start a herd as tightly as planned); ``stretched``
        is the scenario as it then runs (its leases stretched too): the mitigations take it."""
        self._service_scale = scale
        self._mean_service_s *= scale
        if scale != 1.0:
            self.scenario = stretched
            self._bind()

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
    def arrive_new(self, rid: int, viewer: int, server: int, key: str, planned: float) -> None:
        """A first attempt arrives now, planned at ``planned`` (called in its own greenlet)."""
        t = self.now()
        req = Request(rid, viewer, key, server, planned)
        c = self.counters
        c["requests"] += 1
        c["in_flight"] += 1
        if t >= self._after:
            c["after_requests"] += 1
        self._arrivals_left -= 1
        for hook in self._on_request:
            hook(t)
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

    def slow_down(self) -> None:
        """faults.slow_db_*: say when the datastore's queries start taking ``factor`` times as
        long, and when they stop (the producer process only: one pair of events per run)."""
        at, until, factor = self._slow
        if until <= at:
            return
        for when, f, end in ((at, factor, until), (until, 1.0, None)):
            self.later(when, lambda t, f=f, end=end: self.emit(
                Event((self.now(), DB_SLOW, None, None, None, None, f, end))))

    # ----------------------------------------------------------------- a request's path
    def _arrive(self, req: Request) -> None:
        attempt = req.attempt
        mine = self.servers
        server = mine[(mine.index(req.home) + attempt) % len(mine)]
        req.server = server
        self.counters["arrived"] += 1
        arrived = self.now()
        self.emit(Event((arrived, ARRIVE, req.id, req.viewer, server, req.key, attempt)))
        timeout = self.scenario.clients.timeout_s
        if timeout:
            self.track(gevent.spawn_later(timeout, self.guard, self._timeout, req, attempt))
        if not self.scenario.cache.enabled:
            self.mitigations.coalescing.on_miss(self.now(), req, attempt, server)
            return
        hold = self.hold(arrived)
        try:
            entry, read = self.cache.get(req.key)
            t = self.at(read, arrived)           # when Redis read it: the lookup's time
            outcome = self._lookup_outcome(req, attempt, server, entry, t)
        finally:
            self.unhold(hold)                    # what follows is stamped when it happens
        if outcome == "hit":
            self._looked_up(attempt)
            for hook in self._on_fresh:
                if hook(t, req, attempt, server, entry):
                    return
            self.settle(t, req, attempt, True, "cache")
        elif outcome == "miss":
            if self._looked_up(attempt):
                self._barrier[1].wait()
            me, now = gevent.getcurrent(), self.now()
            if not attempt:
                # Its next step, as the simulation takes it (claim, re-check and fetch at one
                # instant): now, for a step in this process (a promise table); when Redis
                # decided it, for a claim (``claim``). A fetch it sends was decided then.
                self.claims[req.id] = now
                self._missed[me] = req
            self._claimed[me] = now
            try:
                self.mitigations.coalescing.on_miss(now, req, attempt, server)
            finally:
                self._missed.pop(me, None)
                self._claimed.pop(me, None)
        else:
            self._looked_up(attempt)

    def _lookup_outcome(self, req: Request, attempt: int, server: int, entry: Any,
                        t: float) -> str:
        """Record what the lookup found, stamped ``t`` (when Redis read it): "hit", "miss", or
        "answered" (an expired value a mitigation answered with)."""
        if entry is not None and t < entry.expires:
            self.counters["cache_hits"] += 1
            self.emit(Event((t, CACHE_HIT, req.id, req.viewer, server, req.key, attempt)))
            return "hit"
        if entry is not None:
            for hook in self._on_expired:
                if hook(t, req, attempt, server, entry):
                    return "answered"
        self.counters["cache_misses"] += 1
        self.emit(Event((t, CACHE_MISS, req.id, req.viewer, server, req.key, attempt)))
        return "miss"

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
        """The attempt failed: retry after the backoff (if retries are left and the mitigations
        allow it), or end the request with its failure. Either way it stops waiting for its
        query, which may then be cancelled."""
        c = self.counters
        server, req.server = req.server, None
        if req.attempt < self.scenario.clients.retries and self._retry_allowed(t, req, server,
                                                                               reason):
            req.attempt += 1             # from now on the old attempt's answers are dropped
            c["retries"] += 1
            self._made(RETRY)
            delay = self._retry_delay(req.attempt)
            self.emit(Event((t, RETRY, req.id, req.viewer, server, req.key, req.attempt,
                             delay * 1000.0, reason)))
            self.track(gevent.spawn_later(delay, self.guard, self._arrive, req))
            self._stop_waiting(req)
            return
        req.done = True
        c["in_flight"] -= 1
        c["timeouts" if reason == "timeout" else "errors"] += 1
        self.emit(Event((t, RESPOND, req.id, req.viewer, server, req.key, req.attempt, reason,
                         (t - req.t0) * 1000.0, None)))
        self._stop_waiting(req)
        self._check_idle()

    def _retry_allowed(self, t: float, req: Request, server: int | None, reason: str) -> bool:
        for hook in self._may_retry:
            if not hook(t, req, req.attempt + 1):
                self.counters["retries_denied"] += 1
                self._made(RETRY_DENIED)
                self.emit(Event((t, RETRY_DENIED, req.id, req.viewer, server, req.key,
                                 req.attempt, reason)))
                return False
        return True

    def _stop_waiting(self, req: Request) -> None:
        """The attempt no longer waits for its query: interrupt the query's wait for a
        connection if nobody else waits for it either."""
        q, req.query = req.query, None
        if q is not None:
            q.waiting -= 1
            if q.waiting == 0 and q.queued and not q.cancelled:
                q.cancelled = True
                if q.parked:
                    q.greenlet.kill(Cancelled, block=False)

    # ----------------------------------------------------------------- ports.Host
    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        delay = max(0.0, t - self.now())
        if args and isinstance(args[0], Request):      # a waiter's next look (ports.py)
            self.track(gevent.spawn_later(delay, self.guard, self.look, t, True, fn, *args))
        else:
            self.track(gevent.spawn_later(delay, self.guard, lambda: fn(self.now(), *args)))

    def look(self, due: float, chained: bool, fn: Callable[..., None], req: Request,
             *args: Any) -> None:
        """A waiter looks again (a poll's timer, or a wake-up), due at ``due``: ``fn`` runs
        now, and the first cache read it makes (``fresh``) ends the look. Its delay -- from
        when it was due to that read's answer in hand, as this host saw it -- is what the
        simulation beside the run is fed for the same look (``measured``), with how long
        before the answer Redis made the read (a value written in between was not seen, though
        it was there when the answer arrived). ``chained``: the due time was counted from
        this request's previous callback (``t + lock_poll_ms``), which the simulation takes
        later -- at that look's answer, or for a first wait at its claim -- so that lag
        (``req.lag``) is added to the due, and the simulation's looks land when these did."""
        begun = self.now()
        self._looking[gevent.getcurrent()] = (req, due + (req.lag if chained else 0.0), begun)
        try:
            fn(begun, req, *args)
        finally:
            self._looking.pop(gevent.getcurrent(), None)

    def _looked(self, read: float) -> None:
        """A ``fresh`` read (made by Redis at ``read``) has its answer in hand: if it ends a
        look, keep the look: its delay, and how long before the answer the read was made."""
        look = self._looking.pop(gevent.getcurrent(), None)
        if look is not None:
            req, due, begun = look
            now = self.now()
            req.lag = now - begun
            looks = self.looks.setdefault(req.id, [])
            if len(looks) < MAX_LOOKS:
                looks.append((max(0.0, now - due), max(0.0, now - read)))

    def fetch(self, t: float, req: Request, attempt: int, server: int, role: str,
              on_done: Callable[[float, bool], None]) -> Query:
        q = Query(next(self._query_ids))
        self.counters["db_queries"] += 1
        self._made(f"{FETCH_START}:{role}")
        self.emit(Event((self.now(), FETCH_START, req.id, req.viewer, server, req.key, attempt,
                         role, q.id)))
        faults = self.scenario.faults
        doomed = faults.fail_fetch and self._first("fail_fetch")
        if faults.leader_dies and role in MISS_ROLES and self._first("leader_dies"):
            gevent.spawn_later(self._mean_service_s / 2, self.die)
        if role != "refresh":
            self._wait_for(q, req, attempt)
        # Decided at its request's next step after its miss, or when it won its claim (the
        # simulation claims, re-checks and fetches at one instant: what the app server spent
        # in between is its own time, ``around``).
        decided = self._claimed.pop(gevent.getcurrent(), self.now())
        q.greenlet = gevent.spawn(self.guard, self._query, q, req, server, role, on_done, doomed,
                                  decided)
        self.track(q.greenlet)
        return q

    def settle(self, t: float, req: Request, attempt: int, ok: bool, source: str,
               coalesced: bool = False) -> None:
        if source != "cache":
            self._made(f"{RESPOND}:{source}")
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
        if req.t0 >= self._after:
            c["after_completed"] += 1
        if coalesced:
            c["coalesced"] += 1
        self.emit(Event((t, RESPOND, req.id, req.viewer, server, req.key, attempt, "ok",
                         (t - req.t0) * 1000.0, source)))
        self._stop_waiting(req)
        self._check_idle()

    def alive(self, server: int) -> bool:
        return server in self.busy

    def fresh(self, key: str, t: float) -> bool:
        asked = self.now()
        entry, read = self.cache.get(key)
        read = self.at(read, asked)
        self._looked(read)
        return entry is not None and read < entry.expires

    def put(self, t: float, key: str, role: str, delta: float) -> None:
        self._made(f"{CACHE_SET}:{role}")
        self._cache_write(self.now(), key, role, delta)

    def claim(self, name: str, owner: Any, server: int, t: float,
              lease_s: float) -> tuple[bool, int | None]:
        """The token names the holder's server last: all a claim can tell of a holder that
        may live in another process."""
        token = self._tokens.get(owner)
        if token is None:
            token = self._tokens[owner] = f"{self.tag}.{next(self._versions)}:{server}"
        asked = self.now()
        won, other, decided = self.cache.claim_timed(name, token, lease_s)
        at = self.at(decided, asked)
        me = gevent.getcurrent()
        req = self._missed.pop(me, None)
        if req is not None:               # a first attempt's claim after its miss
            # The simulation waits from the claim (its callback's t), this host from the miss
            # (``look``: a first look's due is taken as the claim's).
            req.lag = at - self.claims[req.id]
            self.claims[req.id] = at
        if won:
            self._claimed[me] = at         # a fetch it sends now was decided then (``fetch``)
            self._holding[owner] = at
            if other:                     # its previous holder never let go: its lease ran out
                self.locks["takeovers"] += 1
        else:
            self._claimed.pop(me, None)
        return won, int(other.rsplit(":", 1)[1]) if other else None

    def release(self, name: str, owner: Any) -> None:
        self._claimed.pop(gevent.getcurrent(), None)
        token = self._tokens.pop(owner, None)
        if token is not None:
            self.cache.release(name, token)
        since = self._holding.pop(owner, None)
        if since is not None:
            locks = self.locks
            locks["held_max_s"] = max(locks["held_max_s"], self.now() - since)

    def watch(self, t: float, name: str, fn: Callable[..., None], timeout_s: float,
              *args: Any) -> None:
        """Woken by ``notify`` (due when it was sent: its time travels with the wake-up), when
        the name turns out free (due at ``t``) or at the timeout (due then): a waiter's look
        (``look``) when the first of ``args`` is its request."""
        if not (args and isinstance(args[0], Request)):
            self.wakeups.watch(name, lambda sent: fn(self.now(), *args), timeout_s)
            return
        self.wakeups.watch(name, lambda sent: self.look(
            t + timeout_s if sent == "timeout" else t if sent is None else sent,
            sent is None or sent == "timeout", fn, *args), timeout_s)

    def notify(self, t: float, name: str, everyone: bool = True) -> None:
        self.wakeups.notify(name, everyone, self.now())

    def note(self, kind: str, t: float, req: Request, server: int | None, *fields: Any) -> None:
        self._made(kind)
        self.emit(Event((self.now(), kind, req.id, req.viewer, server, req.key) + fields))

    # ----------------------------------------------------------------- the picture's counts
    def _made(self, place: str) -> None:
        """One more event made by this place in a strategy's code (the samples' ``made``,
        counted where the simulated host counts it: lifecycle.py, ``_count_made``)."""
        self.made[place] = self.made.get(place, 0) + 1


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
    def _query(self, q: Query, req: Request, server: int, role: str,
               on_done: Callable[[float, bool], None], doomed: bool, decided: float) -> None:
        """``decided``: when the request decided to fetch."""
        t_submit = self.now()
        asked = t_submit
        pool = self.pools.get(server)
        if pool is not None and self.busy[server] >= self.pool_size:
            self.emit(Event((self.now(), DB_QUEUED, req.id, req.viewer, server, req.key, q.id,
                             self.waiting + 1)))
        self.waiting += 1
        failure: tuple[str, str] | None = None
        connected = False
        try:
            if q.cancelled:               # given up on before it even asked for a connection
                raise Cancelled
            if pool is not None:
                q.parked = True
                connection = pool.connection(timeout=self._pool_timeout_s)
            else:
                q.queued = False          # no pool, no queue: it connects (or is refused)
                connection = self.connect()
            asked, pid = self.now(), None
            try:
                with connection as conn:
                    q.parked = q.queued = False
                    connected = True
                    self.waiting -= 1
                    if pool is not None:
                        pid = conn.info.backend_pid
                    self._run(conn, req, server, q.id, doomed)
            finally:
                if pid is not None:         # back in its pool (a failed query held it too)
                    self._held(pid, asked)
        except Cancelled:
            failure = (DB_CANCELLED, "cancelled")
        except Exception as exc:   # noqa: BLE001 -- classified, else re-raised
            failure = datastore.classify(exc)
            if failure is None:
                raise
        q.parked = False
        if not connected:
            q.queued = False
            self.waiting -= 1
        t = self.now()
        c = self.counters
        kind = DB_FINISHED if failure is None else failure[0]
        if kind == DB_REJECTED:
            c["db_rejected"] += 1
            self.emit(Event((t, kind, req.id, req.viewer, server, req.key, q.id, failure[1])))
        else:
            if kind != DB_FINISHED:
                c["db_failed" if kind != DB_CANCELLED else "db_cancelled"] += 1
            self.emit(Event((t, kind, req.id, req.viewer, server, req.key, q.id)))
        if failure is None and self.scenario.cache.enabled:
            written = self._cache_write(t, req.key, role, t - t_submit, req, server)
            # The app server's own time around the query: getting it out (from the decision
            # to asking for a connection) and writing its answer (from giving the connection
            # back to the value in Redis).
            self.around.append((q.id, (asked - decided) + (written - t)))
        elif kind == DB_REJECTED:
            # A refusal in hand later than the model's (at its decision, or its pool timeout
            # after it): getting it out, and the waiter's wake-up at its deadline.
            waited = self._pool_timeout_s if failure[1] == "pool_timeout" else 0.0
            self.around.append((q.id, max(0.0, t - decided - waited)))
        on_done(self.now(), failure is None)

    def _run(self, conn: Any, req: Request, server: int, qid: int, doomed: bool) -> None:
        """Run the query on ``conn``: ``db_started`` says when PostgreSQL received it and how
        long it worked, as it measured them (a query that failed tells nothing: then the app
        server's view)."""
        self.busy[server] += 1
        sent = self.now()
        hold = self.hold(sent)
        started, took = sent, None
        try:
            sql, params = datastore.statement(self.settings.query, self._service_time(),
                                              self.cpu_rows_per_s, doomed)
            _n, received, took = conn.execute(sql, params).fetchone()
            started = self.at(received, sent)
        finally:
            took = self.now() - sent if took is None else took
            self.emit(Event((started, DB_STARTED, req.id, req.viewer, server, req.key, qid,
                             took * 1000.0)))
            self.unhold(hold)
            self.busy[server] -= 1

    def _held(self, pid: int, asked: float) -> None:
        """A query gave its connection back to its pool now: keep how long the connection was
        its, from when the pool handed it over -- when the query asked, if a connection was
        idle; else when the previous query gave this one back (psycopg_pool hands a returned
        connection straight to the longest waiter) -- to now. That is what a connection of
        the model's datastore is busy for per query (the simulation beside is fed it):
        PostgreSQL's own time, the round trips, and this app server's scheduling on both
        sides, the waiter's wake-up included (which psycopg_pool's ``usage_ms`` leaves out)."""
        now = self.now()
        handed = max(asked, self._returned.get(pid, asked))
        self._returned[pid] = now
        self.held.append((handed, now - handed))

    def measured(self) -> dict[str, Any]:
        """What this process measured for the simulation beside the run: ``held`` (per query
        that had a pool connection: when it was handed over and for how long, seconds),
        ``looks`` (request id -> each of its looks: its delay, and how long before its answer
        the read was made, seconds), ``around`` (per
        answered or refused query: its id and the app server's own time around it, seconds) and
        ``claims`` (request id -> when its first attempt took its next step after its miss:
        the strategy got it, or Redis decided its claim); and ``locks`` (claims won over a
        holder whose lease had run out, and the longest a claim was held here)."""
        return {"held": self.held, "looks": self.looks, "around": self.around,
                "claims": self.claims, "locks": self.locks}

    def _service_time(self) -> float:
        """The next query's cost; ``slow_factor`` times as long if it starts in the slowdown."""
        service_s = self._service() * self._service_scale
        at, until, factor = self._slow
        return service_s * factor if at <= self.now() < until else service_s

    def _cache_write(self, t: float, key: str, role: str, delta: float,
                     req: Request | None = None, server: int | None = None) -> float:
        """Write ``key``; when Redis wrote it."""
        s = self.scenario
        ttl = s.cache.ttl_s
        for hook in self._ttl_hooks:
            ttl = hook(ttl)
        keep = ttl + (s.strategy.stale_ttl_s if s.strategy.stale_while_revalidate else 0.0)
        asked = self.now()
        hold = self.hold(asked)
        try:
            written = self.cache.put(key, t + ttl, delta, f"{self.tag}.{next(self._versions)}",
                                     keep + 2.0)
            # Stamped when Redis wrote it (visible to others); a warm write before the start
            # at 0.
            at = max(0.0, self.at(written, asked))
            self.emit(Event((at, CACHE_SET, req.id if req else None,
                             req.viewer if req else None, server, key, role, ttl)))
        finally:
            self.unhold(hold)
        return at

    # ----------------------------------------------------------------- faults
    def _first(self, fault: str) -> bool:
        """True for the first event of ``fault`` in the whole run (all processes)."""
        if fault in self._faults_seen:
            return False
        self._faults_seen.add(fault)
        return self.cache.first("fault:" + fault)

    # ----------------------------------------------------------------- bookkeeping
    def track(self, greenlet: gevent.Greenlet) -> gevent.Greenlet:
        self._pending += 1
        greenlet.link(self._untrack)
        return greenlet

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
