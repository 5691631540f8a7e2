"""The request lifecycle, and the simulated ``Host`` (ports.py) the mitigations act through.

A request's attempts go: arrive at a server -> cache lookup (``cache.lookup_ms`` later) -> a
fresh value (a hit), an expired one, or none (a miss) -> the run's mitigations decide: answer
from the cache, serve stale, refresh early, or (on a miss, one more ``cache.lookup_ms`` later:
the read-to-claim delay, ``_claim``) the coalescing strategy chooses who fetches and who waits
-> datastore -> the value is written to the cache -> answers. A client may
time out, or get an error, and retry (after its backoff); the server-side work of an abandoned
attempt goes on, and its answer is dropped. A server that dies does nothing more.

**Cancelling.** A query still waiting for a connection is cancelled (it leaves the datastore's
queue) once every attempt waiting for its answer has given up -- a real pool's wait, or a
deadline passed down to the database, does that. The attempts waiting for a query are the one
that sent it (``fetch``) and those that joined it (``join``: a promise's waiters, which the
call goes on for after its leader gives up, as singleflight's does). A background refresh
(role ``refresh``) has nobody waiting, and a query sent for an attempt already given up (a lock
waiter still polling for a client that left) nobody to give up: both run. A query already
running runs on: its work is wasted, as in reality.

Every request ends exactly once, in ``_end``: answered (through ``settle``), or failed after an
error or a timeout with no retries left (through ``_retry_or_end``). The one shortcut: a new
request that the cache answers at once may end in ``_lookup`` without ever becoming an object
(see ``arrive``).

The lifecycle also tells ``moments.py`` what it needs to mark the run's moments (a miss, an
attempt ending, a wait noted, a leader's answer, a server dying, a retry), whatever is recorded,
and it is where a server dies (``kill_server``: a fault or an input) and where an input switches
a mitigation mid-run (``use``).
"""
from array import array
from collections import deque
from random import Random
from typing import Any, Callable, Sequence

from webapp.engine.cache import Cache
from webapp.engine.counters import Counters
from webapp.engine.datastore import Datastore, Query
from webapp.engine.events import (ARRIVE, CACHE_HIT, CACHE_LOST, CACHE_MISS, CACHE_SET,
                                  FETCH_START, LOCK_WAIT, MARKER_WAIT, NOT_FOUND, PROMISE_WAIT,
                                  RESPOND, RETRY, RETRY_DENIED, SERVER_DOWN, TIMEOUT, Event)
from webapp.engine.loop import Loop, cancel, cancel_timer
from webapp.engine.mitigations import Mitigations
from webapp.engine.moments import Moments
from webapp.engine.recorder import Recorder
from webapp.engine.scenario import Scenario
from webapp.engine.servers import Servers
from webapp.engine.shards import Shards
from webapp.engine.trace import LookDelays
from webapp.engine.waits import QueryWaits


class Request:
    """One logical request: a viewer asking for a key once, across all its attempts."""

    __slots__ = ("id", "viewer", "key", "traced", "server", "t0", "attempt", "done", "deadline",
                 "timer", "query", "missed", "waits", "tracked")

    def __init__(self, rid: int, viewer: int, key: str, t0: float, traced: bool) -> None:
        self.id = rid
        self.viewer = viewer
        self.key = key
        self.traced = traced                # its events are recorded
        self.server: int | None = None      # the server of the attempt in flight, None between
        self.t0 = t0
        self.attempt = 0
        self.done = False
        self.deadline = 0.0                 # when the attempt in flight times out
        self.timer: list | None = None      # its entry in the loop's TIMEOUTS lane, once made
        self.query: Query | None = None     # the queued query the attempt in flight waits for
        self.missed = False                 # the attempt in flight missed (moments.py)
        self.waits: int | None = None       # it waits at this server on another's fetch (same)
        self.tracked = False                # in Lifecycle.open


WAITS = frozenset((PROMISE_WAIT, LOCK_WAIT, MARKER_WAIT))    # waiting on another's fetch
_LOADED = frozenset(("warm_start", "preload"))     # written before the run: no shard's time


class Lifecycle(QueryWaits):
    """Implements ``webapp.engine.ports.Host`` on the simulation's models."""

    def __init__(self, scenario: Scenario, loop: Loop, recorder: Recorder,
                 counters: Counters, service_s: Sequence[float] = (),
                 planned: Sequence[float] = (),
                 looks: Sequence[Sequence[tuple[float, float]]] = (),
                 claims: Sequence[float] = (), around_s: Sequence[float] = ()) -> None:
        """``service_s``, ``planned``, ``looks``, ``claims`` and ``around_s``: a trace's
        (engine/trace.py); ``planned[i]`` is when request ``i`` was meant to arrive, where its
        latency is measured from, ``looks[i]`` the delays of its looks while it waits
        (``_look``), ``claims[i]`` its read-to-claim delay, ``around_s[q]`` the app
        server's time around query ``q`` (``answer``)."""
        s = self.scenario = scenario
        self.loop = loop
        self.recorder = recorder
        self.counters = counters
        self.cache = Cache()
        self.servers = Servers(s.servers.count)
        self._rngs: dict[str, Random] = {}
        self.db = Datastore(s.datastore, self.rng("service"), loop, recorder, counters,
                            self.answer, service_s)
        # Latencies (seconds) of answered requests, and of failed ones up to their failure;
        # all of them, and those since the last sample.
        self.answered = array("d")
        self.failed = array("d")
        self.interval_answered: list[float] = []
        self.interval_failed: list[float] = []
        self._answered, self._failed = self.answered.append, self.failed.append
        self._interval_answered = self.interval_answered.append    # emptied, never replaced
        self._interval_failed = self.interval_failed.append
        # Requests not yet ended that got past a cache lookup unanswered (the others are in
        # the LOOKUPS lane, or between attempts): where a dying server finds its attempts.
        self.open: dict[int, Request] = {}
        # How many times each place in a strategy's code made its event, traced or not, by the
        # key ``strategies/lines.py`` maps to lines ("fetch_start:leader", "promise_wait",
        # "respond:promise", "retry"): samples carry it, so a page lights a strategy's code
        # for the viewers it does not draw too (answers from the cache are not counted).
        self.made: dict[str, int] = {}
        self.moments = Moments(recorder, s, loop.later)
        self.db.moments = self.moments
        self.on_fetch: Callable[[float, Query], None] | None = None   # faults.py
        # Lessons 12-14: the cache tier's shards (None: it answers at once), and whether a key
        # exists yet (workload.py sets it when viewers ask for chunks before they are published).
        self.shards = (Shards(s.cache.shards, s.cache.shard_ops_per_s)
                       if s.cache.shard_ops_per_s and s.cache.enabled else None)
        self.published: Callable[[str, float], bool] | None = None
        self._private = s.workload.private
        self._watchers: dict[str, deque[list]] = {}   # name -> [fn, args, timer], FIFO
        self._queries = 0
        self._planned = planned              # a trace's planned arrivals, in its order
        self._replayed = 0                   # how many of them have arrived
        self._looks = LookDelays(looks) if looks else None
        self._written: dict[str, float] = {}   # with looks: key -> when it was last written
        self._read_ago = 0.0                    # the look running now: its read was made then
        self._claims = claims
        self._around = around_s
        self._timeout_s = s.clients.timeout_s
        self._lookup_s = s.cache.lookup_ms / 1000.0
        self._cache_on = s.cache.enabled
        self._retries = s.clients.retries
        self._n_servers = s.servers.count
        self._alive = self.servers.alive
        self._values = self.cache.values
        self._viewers = s.clients.count
        # Requests arriving from here on count in the summary's after_trigger.
        self._after = s.faults.slow_db_at_s + s.faults.slow_db_for_s
        self._every = recorder.every
        self._emit = recorder.out.append       # the hot paths' events, made in place
        # When an attempt's timeout is due after its cache lookup, its timer is made only if
        # the lookup did not answer it (most attempts are answered there, and need none).
        self._timer_after_lookup = self._lookup_s <= self._timeout_s and self.shards is None
        self._lookups = loop.lookups.entries
        loop.arrivals.handler = self.arrive
        loop.lookups.handler = self._lookup
        loop.timeouts.handler = self._timeout
        self.mitigations = Mitigations(s, self)
        self._bind()

    def _bind(self) -> None:
        """Take the hooks of the mitigations in force (again after ``use``)."""
        m = self.mitigations
        self._on_miss = m.coalescing.on_miss
        self._on_fresh = m.hooks("on_fresh")
        self._on_expired = m.hooks("on_expired")
        self._ttl = m.hooks("ttl")
        self._retry_delay = m.retry_delay()
        self._on_request = m.hooks("on_request")
        self._may_retry = m.hooks("may_retry")
        self.on_publish = m.hooks("on_publish")
        self.on_start = m.hooks("on_start")
        self._admit = m.hooks("admit")
        self._on_arrive = m.hooks("on_arrive")
        self._on_absent = m.hooks("on_absent")
        self._on_fetched = m.hooks("on_fetched")
        self._on_wait = m.hooks("on_wait")
        copies, read_copy = m.hooks("copies"), m.hooks("read_copy")
        self._copies = copies[0] if copies else None
        self._read_copy = read_copy[0] if read_copy else None
        # See arrive: no timer before the lookup, every server alive, no events to
        # record, no mitigation to tell of a new request or to answer it before its lookup,
        # no planned arrival to keep, lookups landing in the order they were made (no shard
        # queues).
        self._light = (self._cache_on and self._lookup_s > 0 and all(self._alive)
                       and (self._timeout_s == 0 or self._lookup_s <= self._timeout_s)
                       and self._every != 1 and not self._on_request and not self._planned
                       and not self._on_arrive and self.shards is None)
        self._all_light = self._light and self._every == 0 and not self._admit

    def use(self, scenario: Scenario) -> None:
        """Switch to ``scenario`` (the same but for a mitigation switch, engine/inputs.py) from
        now on. Mitigations still on keep their state; work in flight goes on as it began."""
        self.scenario = scenario
        self.db.cfg = scenario.datastore
        self.moments.scenario = scenario
        self.mitigations = self.mitigations.switched(scenario, self)
        self._bind()

    # ----------------------------------------------------------------- the lifecycle
    def _traced(self, viewer: int) -> bool:
        """Are this viewer's events recorded? (See Recorder.)"""
        every = self._every
        return every == 1 or every > 1 and (viewer % every == 0 or viewer >= self._viewers)

    def new_request(self, t: float, viewer: int, key: str, t0: float | None = None) -> Request:
        """A new request arriving at ``t``; its latency runs from ``t0`` (default ``t``)."""
        c = self.counters
        req = Request(c.requests, viewer, key, t if t0 is None else t0,
                      self._every == 1 or self._traced(viewer))
        c.requests += 1
        if t >= self._after:
            c.after_requests += 1
        for hook in self._on_request:
            hook(t)
        return req

    def arrive(self, t: float, viewer: int, key: str, req: Request | None = None) -> None:
        """An attempt reaches a server: a new request from the workload (the ARRIVALS lane), or
        ``req`` again (a retry, or an injected request). Look the key up, or with no cache, it
        is a miss."""
        if req is None:
            if not self._all_light:              # (most runs: every new request is light)
                t0 = t
                if self._planned:                # a trace's: when it was meant to come
                    t0 = self._planned[self._replayed]
                    self._replayed += 1
                if self._admit and not all(admit(t) for admit in self._admit):
                    return                       # a traffic shift sent it to another cluster
                if not self._light or self._every and self._traced(viewer):
                    req = self.new_request(t, viewer, key, t0)
            if req is None:
                # Light: a new request that nothing can touch before its lookup (no event to
                # record, no timer due first, no server dying, no retry budget counting it)
                # stays just its arrival until then: most are answered by that lookup, and
                # never need a Request at all. Otherwise ``_lookup`` makes one.
                c = self.counters
                rid = c.requests
                c.requests = rid + 1
                c.arrived += 1
                if t >= self._after:
                    c.after_requests += 1
                self._lookups.append((t + self._lookup_s, None, rid, viewer % self._n_servers,
                                      viewer, key, t))
                return
        attempt = req.attempt
        if attempt:
            self.moments.retry_arrived(t)
        server = (req.viewer + attempt) % self._n_servers
        if not self._alive[server]:
            server = self.servers.route(req.viewer, attempt)
        req.server = server
        self.counters.arrived += 1
        if req.traced:
            self._emit(Event((t, ARRIVE, req.id, req.viewer, server, req.key, attempt)))
        for hook in self._on_arrive:             # a local cache answers before the lookup
            if hook(t, req, attempt, server):
                return
        if self._timeout_s:
            req.deadline = t + self._timeout_s
            if not self._timer_after_lookup:         # due before the lookup: make it now
                req.timer = [req.deadline, req, attempt]
                self.loop.push_timeout(req.timer)
        if self.shards is not None:
            self._shard_lookup(t, req, attempt, server)
        elif self._lookup_s and self._cache_on:
            self._lookups.append((t + self._lookup_s, req, attempt, server))
        elif self._cache_on:
            self._lookup(t, req, attempt, server)
        else:
            req.missed = True
            self._on_miss(t, req, attempt, server)
            self._after_lookup(req, attempt)

    def _shard_lookup(self, t: float, req: Request, attempt: int, server: int) -> None:
        """The cache tier has a limit (shards.py): the lookup lands once its shard has served
        it, plus the round trip. Lookups of different shards no longer land in the order they
        were made, so each is a timer, and its attempt waits in ``open`` for a dying server to
        find."""
        copy = self._read_copy(req.key) if self._read_copy else 0
        done = self.shards.lookup(t, req.key, copy)
        self.loop.later(done + self._lookup_s, self._lookup, req, attempt, server)
        if not req.tracked:
            req.tracked = True
            self.open[req.id] = req

    def _lookup(self, t: float, req: Request | None, attempt: int, server: int, viewer: int = 0,
                key: str = "", t0: float = 0.0) -> None:
        """The cache answered ``server``'s lookup for this attempt. The attempt may have ended
        meanwhile (a timeout: the server's work goes on) but a dead server does nothing more.
        ``req`` None: a light new request (``arrive``), ``attempt`` holding its id."""
        if not self._alive[server]:
            return                       # the process died; faults.py failed the attempt
        if req is None:
            entry = self._values.get(key)
            if entry is not None and t < entry.expires and not self._on_fresh:
                c = self.counters        # a hit: what settle() does, for a request never made
                c.cache_hits += 1
                c.completed += 1
                if t0 >= self._after:
                    c.after_completed += 1
                latency = t - t0
                self._answered(latency)
                self._interval_answered(latency)
                return
            req = self._made_late(attempt, viewer, key, t0, server)
            attempt = 0
        entry = self._values.get(req.key)
        if entry is not None:
            if t < entry.expires:
                self.counters.cache_hits += 1
                if req.traced:
                    self._emit(Event((t, CACHE_HIT, req.id, req.viewer, server, req.key,
                                      attempt)))
                for hook in self._on_fresh:
                    if hook(t, req, attempt, server, entry):
                        self._after_lookup(req, attempt)
                        return
                self.settle(t, req, attempt, True, "cache")
                return
            for hook in self._on_expired:
                if hook(t, req, attempt, server, entry):
                    self._after_lookup(req, attempt)
                    return
        for hook in self._on_absent:             # a remembered "not found", or hit-for-pass
            if hook(t, req, attempt, server):
                self._after_lookup(req, attempt)
                return
        self.counters.cache_misses += 1
        if req.traced:
            self.recorder.note(CACHE_MISS, t, req, server, attempt)
        req.missed = True
        self.moments.missed(t, req, server)
        claim_s = (self._claims[req.id] if self._claims and not attempt
                   and req.id < len(self._claims) else self._lookup_s)
        if claim_s:
            self.loop.later(t + claim_s, self._claim, req, attempt, server)
        else:
            self._on_miss(t, req, attempt, server)
        self._after_lookup(req, attempt)

    def _claim(self, t: float, req: Request, attempt: int, server: int) -> None:
        """A miss reaches the coalescing strategy one cache round trip after the cache was read:
        its next step (a claim on the lock or marker, or the promise table once the answer is
        back) comes that much later, as on a real host, and another request's value may land in
        between. Unseen by the read, it is what the strategies' re-check is for."""
        if self._alive[server]:
            self._on_miss(t, req, attempt, server)

    def _made_late(self, rid: int, viewer: int, key: str, t0: float, server: int) -> Request:
        """The object of a light request (``arrive``), made when it is first needed."""
        req = Request(rid, viewer, key, t0, False)
        req.server = server
        req.deadline = t0 + self._timeout_s
        return req

    def _after_lookup(self, req: Request, attempt: int) -> None:
        """The lookup did not answer this attempt: from now on it can time out, and a dying
        server finds it in ``open``."""
        if not req.tracked and not req.done:
            req.tracked = True
            self.open[req.id] = req
        if self._timeout_s and self._timer_after_lookup and not req.done \
                and req.attempt == attempt and req.timer is None:
            req.timer = [req.deadline, req, attempt]
            self.loop.push_timeout(req.timer)

    def _timeout(self, t: float, req: Request, attempt: int) -> None:
        self.recorder.note(TIMEOUT, t, req, req.server, attempt)
        self._retry_or_end(t, req, "timeout")

    def _retry_or_end(self, t: float, req: Request, reason: str) -> None:
        """The attempt failed (``reason``: error or timeout): retry after the backoff, or end."""
        server = self._attempt_over(t, req)
        if req.attempt < self._retries and self._retry_allowed(t, req, server, reason):
            req.attempt += 1             # from now on the old attempt's answers are dropped
            self.counters.retries += 1
            self._count_made(RETRY)
            delay = self._retry_delay(req.attempt)
            self.recorder.note(RETRY, t, req, server, req.attempt, delay * 1000.0, reason)
            self.loop.later(t + delay, self.arrive, req.viewer, req.key, req)
            self._stop_waiting(t, req)
            return
        self._end(t, req, server, req.attempt, reason, None)

    def _attempt_over(self, t: float, req: Request) -> int | None:
        """The attempt in flight is over (answered, failed or given up): it leaves its server,
        its timeout and its key's herd. Returns the server it was at."""
        server, req.server = req.server, None
        if req.timer is not None:
            cancel(req.timer)
            req.timer = None
        if req.missed:
            self.moments.ended(t, req)
        return server

    def _retry_allowed(self, t: float, req: Request, server: int | None, reason: str) -> bool:
        for hook in self._may_retry:
            if not hook(t, req, req.attempt + 1):
                self.counters.retries_denied += 1
                self._count_made(RETRY_DENIED)
                self.recorder.note(RETRY_DENIED, t, req, server, req.attempt, reason)
                return False
        return True

    def _stop_waiting(self, t: float, req: Request) -> None:
        """The attempt in flight no longer waits for its query: cancel the query if it is still
        queued and nobody else waits for it either (see the module docstring). Called once the
        attempt is over, so the failure a cancelled query answers with is heard by nobody."""
        q = req.query
        if q is not None:
            req.query = None
            q.waiting -= 1
            if q.waiting == 0 and q.queued:
                self.db.cancel(t, q)

    def kill_server(self, t: float, server: int) -> None:
        """``server`` dies (``faults.leader_dies``, or an input): its process memory goes (each
        mitigation's ``on_server_down``), every attempt it is handling fails at once and may
        retry elsewhere, and its pending work does nothing more; a lock or marker it held stays
        until its lease ends. Light requests waiting for their lookup there are made objects to
        fail with the rest, and all fail in the order they arrived, as they would had every
        request been an object from the start. The last server up never dies (an input may
        have killed the others): that would leave nobody to route to."""
        alive = self.servers.alive
        if not alive[server] or alive.count(True) == 1:
            return
        self.servers.kill(server)
        self._light = self._all_light = False    # arrivals must now be routed around it
        self.recorder.system(Event((t, SERVER_DOWN, None, None, server, None)))
        for hook in self.mitigations.ever("on_server_down"):
            hook(t, server)
        victims = {req.id: req for req in self.open.values() if req.server == server}
        for entry in self._lookups:              # attempts waiting for a lookup there
            req = entry[1]
            if entry[3] != server:
                continue
            if req is None:
                victims[entry[2]] = self._made_late(entry[2], entry[4], entry[5], entry[6],
                                                    server)
            elif not req.done and req.attempt == entry[2] and req.server == server:
                victims[req.id] = req
        self.moments.server_down(t, server, len(victims), self._leading(server))
        for rid in sorted(victims):
            req = victims[rid]
            self.settle(t, req, req.attempt, False, "server_down")

    def _leading(self, server: int) -> list[str]:
        """The keys ``server`` has a leader's query in the datastore for."""
        leading = [q.key for q in (*self.db.queue, *self.db.running.values())
                   if q.server == server and q.role == "leader" and not q.cancelled]
        return list(dict.fromkeys(leading))

    def _end(self, t: float, req: Request, server: int | None, attempt: int, status: str,
             source: str | None) -> None:
        """The request's one final outcome: ``status`` ok (from ``source``), error or timeout.
        A failure's latency is its time to failure."""
        c = self.counters
        req.done = True
        self._attempt_over(t, req)
        latency = t - req.t0
        if status == "ok":
            c.completed += 1
            if req.t0 >= self._after:
                c.after_completed += 1
            self._answered(latency)
            self._interval_answered(latency)
        else:
            if status == "timeout":
                c.timeouts += 1
            else:
                c.errors += 1
            self._failed(latency)
            self._interval_failed(latency)
        if req.tracked:
            del self.open[req.id]
        if req.traced:
            self._emit(Event((t, RESPOND, req.id, req.viewer, server, req.key, attempt, status,
                              latency * 1000.0, source)))
        if req.query is not None:
            self._stop_waiting(t, req)

    def answer(self, t: float, q: Query, ok: bool) -> None:
        """The datastore answered: write the cache, then let the mitigation answer requests
        (as much later as a trace's ``around_s`` says the app server took to have it)."""
        if q.id < len(self._around) and self._around[q.id] > 0:
            self.loop.later(t + self._around[q.id], self._answer, q, ok)
            return
        self._answer(t, q, ok)

    def _answer(self, t: float, q: Query, ok: bool) -> None:
        on_done, q.on_done = q.on_done, None    # it answers once (and a mitigation may hold
        if not self.servers.alive[q.server]:    # the query: no cycle through its callback)
            return                       # the server that asked is gone; nobody hears the answer
        status = "ok" if ok else "error"
        if ok and self.published is not None and not self.published(q.key, t):
            ok, status = False, "not_found"      # asked for before it exists (ask_early_s)
            self.counters.not_found += 1
            self.recorder.note(NOT_FOUND, t, q.req, q.server, q.id)
        elif ok and self._private:
            status = "uncacheable"
        if status == "ok" and self._cache_on and q.role != "pass":   # a pass is never cached
            self.cache_put(t, q.key, q.role, t - q.t_submit, q.req, q.server)
        for hook in self._on_fetched:
            hook(t, q.key, q.server, status)
        if q.role == "leader":
            self.moments.resolving(t, q, ok)
        on_done(t, ok)

    def cache_put(self, t: float, key: str, role: str, delta: float, req: Request | None = None,
                  server: int | None = None) -> None:
        ttl = self.scenario.cache.ttl_s
        for hook in self._ttl:
            ttl = hook(ttl)
        if self.shards is not None and role not in _LOADED:   # each copy takes its turn
            self.shards.op(t, key, self._copies(key) if self._copies else 1)
        self.cache.put(key, t, ttl, delta)
        if self._looks is not None:
            self._written[key] = t
        self.moments.written(t, key)
        if self.recorder.requests and (req is None or req.traced):
            self._emit(Event((t, CACHE_SET, req.id if req else None, req.viewer if req else None,
                              server, key, role, ttl)))

    def lose_cache(self, t: float) -> None:
        """The cache tier is lost and restarts empty (``faults.cache_lost_at_s``, or an input):
        every value, lock and marker is gone; servers' own memory (promises, local copies) is
        not."""
        lost = self.cache.lose()
        self.recorder.system(Event((t, CACHE_LOST, None, None, None, None, lost)))

    def close(self) -> None:
        """A request and the query it waits for point at each other: cut those links (the
        Simulation is being dropped; see simulation.py)."""
        for q in [*self.db.queue, *self.db.running.values()]:
            q.req.query = None

    # ----------------------------------------------------------------- the Host (ports.py)
    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        if self._looks is not None and args and isinstance(args[0], Request):
            self._look(t, fn, args)
        else:
            self.loop.later(t, fn, *args)

    def _look(self, t: float, fn: Callable[..., None], args: tuple) -> None:
        """A waiter's look (a callback whose first argument is its request: a poll, or a
        wake-up), due at ``t``, as a trace's ``looks`` say it went: run late, its first read
        seeing the cache as it was when it was made (``fresh``)."""
        delay, read_ago = self._looks.next(args[0].id)
        self.loop.later(t + delay, self._looking, read_ago, fn, *args)

    def _looking(self, t: float, read_ago: float, fn: Callable[..., None], *args: Any) -> None:
        self._read_ago = read_ago
        try:
            fn(t, *args)
        finally:
            self._read_ago = 0.0

    def fetch(self, t: float, req: Request, attempt: int, server: int, role: str,
              on_done: Callable[[float, bool], None]) -> Query:
        q = Query(self._queries, req.key, server, req, attempt, role, on_done, t)
        self._queries += 1
        self.counters.db_queries += 1
        self._count_made(f"{FETCH_START}:{role}")
        self.recorder.note(FETCH_START, t, req, server, attempt, role, q.id)
        if role == "leader":
            self.moments.fetching(t, req, server)
        if self.on_fetch is not None:
            self.on_fetch(t, q)
        self.db.submit(t, q)
        if q.queued and role != "refresh":       # only a queued query can be cancelled
            self._wait_for(q, req, attempt)
        return q

    def settle(self, t: float, req: Request, attempt: int, ok: bool, source: str,
               coalesced: bool = False) -> None:
        if source != "cache":
            self._count_made(f"{RESPOND}:{source}")
        if req.attempt != attempt or req.done:
            return                       # the client already gave up on this attempt
        if not ok:
            self._retry_or_end(t, req, "error")
            return
        if coalesced:
            self.counters.coalesced += 1
        self._end(t, req, req.server, attempt, "ok", source)

    def alive(self, server: int) -> bool:
        return self.servers.alive[server]

    def fresh(self, key: str, t: float) -> bool:
        if self.shards is not None:              # a poll takes its turn at a copy's shard
            copy = self._read_copy(key) if self._read_copy else 0
            self.shards.take(t, self.shards.shard(key, copy))
        if self._read_ago:        # a look's read, made that long ago (``_look``)
            t -= self._read_ago
            self._read_ago = 0.0
            return self.cache.fresh(key, t) and self._written.get(key, t) <= t
        return self.cache.fresh(key, t)

    def put(self, t: float, key: str, role: str, delta: float) -> None:
        self._count_made(f"{CACHE_SET}:{role}")
        self.cache_put(t, key, role, delta)

    def claim(self, name: str, owner: Any, server: int, t: float,
              lease_s: float) -> tuple[bool, int | None]:
        if self.shards is not None:
            self.shards.op(t, name)
        return self.cache.claim(name, owner, server, t, lease_s)

    def held(self, name: str, t: float) -> bool:
        if self.shards is not None:
            self.shards.op(t, name)
        return self.cache.held(name, t)

    def release(self, name: str, owner: Any) -> None:
        self.cache.release(name, owner)

    def watch(self, t: float, name: str, fn: Callable[..., None], timeout_s: float,
              *args: Any) -> None:
        if not self.cache.held(name, t):
            self.later(t, fn, *args)
            return
        watcher = [fn, args, None]
        watcher[2] = self.loop.timer(t + timeout_s, self._wake, watcher)
        self._watchers.setdefault(name, deque()).append(watcher)

    def notify(self, t: float, name: str, everyone: bool = True) -> None:
        watchers = self._watchers.get(name)
        while watchers:
            watcher = watchers.popleft()
            if watcher[0] is None:
                continue                 # it timed out already
            cancel_timer(watcher[2])
            self.loop.later(t, self._wake, watcher)
            if not everyone:
                break
        if not watchers:
            self._watchers.pop(name, None)

    def _wake(self, t: float, watcher: list) -> None:
        """A watcher's one wake-up (from ``notify`` or its timeout); a woken watcher left in
        its queue is skipped there."""
        fn, args = watcher[0], watcher[1]
        if fn is not None:
            watcher[0] = None
            if self._looks is not None and args and isinstance(args[0], Request):
                self._look(t, fn, args)
            else:
                fn(t, *args)

    def note(self, kind: str, t: float, req: Request, server: int | None, *fields: Any) -> None:
        if kind in WAITS:
            self.moments.waiting_on(req, server)
            for hook in self._on_wait:
                hook(t, req, fields[0], server)
        self._count_made(kind)
        self.recorder.note(kind, t, req, server, *fields)

    def _count_made(self, key: str) -> None:
        self.made[key] = self.made.get(key, 0) + 1

    def config(self, section: str) -> Any:
        return getattr(self.scenario, section)

    def rng(self, stream: str) -> Random:
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = Random(f"{self.scenario.seed}/{stream}")
        return rng

    def count(self, counter: str, n: int = 1) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + n)
