"""The Simulation: one deterministic run of a scenario, yielding events in time order.

The loop is a SimPy-style heap of ``(t, seq, fn, args)`` entries -- the sequence number breaks
ties deterministically -- merged with three lanes that need no heap because their entries are
born in time order: the pre-generated arrivals, cache-lookup completions (arrival + a constant)
and client timeouts (arrival + a constant). Samples come from a fourth, periodic lane.

Requests flow: arrive -> cache lookup -> hit, stale, or miss -> the coalescing strategy decides
who fetches -> datastore -> cache write -> answers. A client may time out or get an error and
retry; the server-side work of an abandoned attempt goes on, and its answer is dropped.
"""
import heapq
import itertools
import math
from array import array
from collections import deque
from random import Random
from typing import Any, Callable, Iterator

from webapp.engine import metrics
from webapp.engine.cache import Cache
from webapp.engine.datastore import Datastore, Query
from webapp.engine.events import (ARRIVE, CACHE_HIT, CACHE_MISS, CACHE_SET, CHUNK_PUBLISHED,
                                  FETCH_START, RESPOND, RETRY, SAMPLE, SERVER_DOWN, TIMEOUT,
                                  Event)
from webapp.engine.scenario import OFF, Scenario, ScenarioError
from webapp.engine.servers import Servers
from webapp.engine.viewers import arrival_offsets, viewer_order, zipf_picker
from webapp.strategies import COALESCING, SWITCHED

INF = math.inf
MAX_INJECTED = 10_000
STEPS_PER_YIELD = 2048


class Request:
    """One logical request: a viewer asking for a key once, across all its attempts."""

    __slots__ = ("id", "viewer", "key", "server", "t0", "attempt", "done")

    def __init__(self, rid: int, viewer: int, key: str, t0: float) -> None:
        self.id = rid
        self.viewer = viewer
        self.key = key
        self.server: int | None = None      # the server of the attempt in flight, None between
        self.t0 = t0
        self.attempt = 0
        self.done = False


class Stats:
    """Cumulative counters; samples and the summary read them."""

    __slots__ = ("requests", "arrived", "completed", "errors", "timeouts", "retries",
                 "db_queries", "db_rejected", "db_failed", "coalesced", "cache_hits",
                 "cache_misses", "stale_served", "open")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)


class Simulation:
    def __init__(self, scenario: Scenario, record_requests: bool = True) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError("Simulation needs a Scenario; use parse_scenario() first")
        s = self.scenario = scenario
        self.record = record_requests
        self.out: list[Event] = []
        self.stats = Stats()
        self.now = 0.0
        self.finished = False
        self.steps = 0
        self.latencies = array("d")
        self._interval_lats: list[float] = []
        seed = s.seed
        self._rngs: dict[str, Random] = {}
        self.rng_arrivals = self.rng("arrivals")
        self.cache = Cache()
        self.servers = Servers(s.servers.count)
        self.db = Datastore(s.datastore, self.rng("service"), self)
        self.mean_service_s = s.datastore.service_ms / 1000.0
        self._build_mitigations()
        self._heap: list[tuple] = []
        self._seq = itertools.count()
        self._lookups: deque = deque()
        self._timeouts: deque = deque()
        self._arr_t: list[float] = []
        self._arr_v: list[int] = []
        self._arr_k: list[str] = []
        self._ai = 0
        self._next_req = 0
        self._queries = 0
        self._injected = 0
        self._open: dict[int, Request] | None = {} if s.faults.leader_dies else None
        self._first_leader_seen = False
        self._first_fetch_seen = False
        self._sample_k = 1
        self._last_sample_t = 0.0
        self._last_event_t = 0.0
        self._steps_at_sample = 0          # steps done when the last sample was taken
        self._timeout_s = s.clients.timeout_s
        self._lookup_s = s.cache.lookup_ms / 1000.0
        self._cache_on = s.cache.enabled
        self._cache_values = self.cache.values
        self._n_servers = s.servers.count
        self._alive = self.servers.alive
        self.chunks = 0
        self._keys: list[str] = []
        if s.workload.kind == "live_video":
            n_chunks = math.ceil(s.duration_s / s.workload.segment_s - 1e-9)
            for c in range(n_chunks):
                self.later(c * s.workload.segment_s, self._publish_chunk, c)
        else:
            self._start_hot_key()

    # ----------------------------------------------------------------- setup and arrivals
    def _build_mitigations(self) -> None:
        """The coalescing strategy the scenario names, then every mitigation whose switch is
        on; each hook is called only on the mitigations that implement it."""
        s = self.scenario
        self.coalescing = COALESCING[s.strategy.coalesce](self)
        chosen = [self.coalescing] + [cls(self) for cls in SWITCHED
                                      if s.get(cls.switch) != OFF[cls.switch]]

        def hooks(name: str) -> list[Callable[..., Any]]:
            return [getattr(m, name) for m in chosen if hasattr(m, name)]

        self._on_fresh = hooks("on_fresh")
        self._on_expired = hooks("on_expired")
        self._ttl_hooks = hooks("ttl")
        self._on_publish = hooks("on_publish")
        self._on_server_down = hooks("on_server_down")
        delays = hooks("retry_delay")
        self._retry_delay = delays[0] if delays else lambda retry: 0.0

    def _start_hot_key(self) -> None:
        s = self.scenario
        w = s.workload
        self.chunks = 1
        self._keys = [f"key-{i}" for i in range(w.keys)]
        if w.keys > 1 or w.warm_start:      # written together at t=0, so they expire together
            for key in self._keys:
                self.cache_put(0.0, key, role="warm_start", delta=self.mean_service_s)
        times = arrival_offsets(s.clients, self.rng_arrivals, s.duration_s)
        if w.keys > 1:
            pick = zipf_picker(w.keys, w.zipf_s, self.rng_arrivals)
            keys = self._keys
            self._arr_k = [keys[pick()] for _ in times]
        else:
            self._arr_k = [self._keys[0]] * len(times)
        self._arr_t = times
        self._arr_v = viewer_order(s.clients.count, len(times), 0)

    def _publish_chunk(self, t: float, chunk: int) -> None:
        s = self.scenario
        key = f"chunk-{chunk}"
        self.chunks = chunk + 1
        self._keys = [key]
        for hook in self._on_publish:
            hook(t, key)
        self.system_event(Event((t, CHUNK_PUBLISHED, None, None, None, key, chunk)))
        horizon = min(s.workload.segment_s, s.duration_s - t)
        offsets = arrival_offsets(s.clients, self.rng_arrivals, horizon)
        self._arr_t = [t + x for x in offsets]
        self._arr_v = viewer_order(s.clients.count, len(offsets), chunk)
        self._arr_k = [key] * len(offsets)
        self._ai = 0

    def _new_request(self, t: float, viewer: int, key: str) -> Request:
        req = Request(self._next_req, viewer, key, t)
        self._next_req += 1
        self.stats.requests += 1
        self.stats.open += 1
        if self._open is not None:
            self._open[req.id] = req
        return req

    def _arrive(self, t: float, req: Request) -> None:
        """An attempt reaches a server: look the key up (or, with no cache, go to the strategy)."""
        attempt = req.attempt
        server = (req.viewer + attempt) % self._n_servers
        if not self._alive[server]:
            server = self.servers.route(req.viewer, attempt)
        req.server = server
        self.stats.arrived += 1
        if self.record:
            self.out.append(Event((t, ARRIVE, req.id, req.viewer, server, req.key, attempt)))
        if self._timeout_s:
            self._timeouts.append((t + self._timeout_s, req, attempt))
        if not self._cache_on:
            self.coalescing.on_miss(t, req, attempt, server)
        elif self._lookup_s:
            self._lookups.append((t + self._lookup_s, req, attempt, server))
        else:
            self._lookup(t, req, attempt, server)

    def _lookup(self, t: float, req: Request, attempt: int, server: int) -> None:
        """The cache answered ``server``'s lookup for this attempt. The attempt may have ended
        meanwhile (a timeout: the server's work goes on) but a dead server does nothing more."""
        if not self._alive[server]:
            return                       # the process died; _kill_server failed the attempt
        entry = self._cache_values.get(req.key)
        if entry is not None:
            if t < entry.expires:
                self.stats.cache_hits += 1
                if self.record:
                    self.out.append(Event((t, CACHE_HIT, req.id, req.viewer, server,
                                           req.key, attempt)))
                for hook in self._on_fresh:
                    if hook(t, req, attempt, server, entry):
                        return
                self.settle(t, req, attempt, True, "cache")
                return
            for hook in self._on_expired:
                if hook(t, req, attempt, server, entry):
                    return
        self.stats.cache_misses += 1
        if self.record:
            self.out.append(Event((t, CACHE_MISS, req.id, req.viewer, server, req.key,
                                   attempt)))
        self.coalescing.on_miss(t, req, attempt, server)

    # ----------------------------------------------------------------- the Host (ports.py)
    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), fn, args))

    def note(self, kind: str, t: float, req: Request, server: int | None, *fields: Any) -> None:
        if self.record:
            self.out.append(Event((t, kind, req.id, req.viewer, server, req.key) + fields))

    def system_event(self, event: Event) -> None:
        self.out.append(event)

    def alive(self, server: int) -> bool:
        return self.servers.alive[server]

    def fresh(self, key: str, t: float) -> bool:
        return self.cache.fresh(key, t)

    def claim(self, name: str, owner: Any, t: float, lease_s: float) -> tuple[bool, Any]:
        return self.cache.claim(name, owner, t, lease_s)

    def release(self, name: str, owner: Any) -> None:
        self.cache.release(name, owner)

    def put(self, t: float, key: str, role: str, delta: float) -> None:
        self.cache_put(t, key, role, delta)

    def config(self, section: str) -> Any:
        return getattr(self.scenario, section)

    def rng(self, stream: str) -> Random:
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = Random(f"{self.scenario.seed}/{stream}")
        return rng

    def count(self, counter: str, n: int = 1) -> None:
        setattr(self.stats, counter, getattr(self.stats, counter) + n)

    def fetch(self, t: float, req: Request, attempt: int, server: int, role: str,
              on_done: Callable[[float, bool], None]) -> Query:
        """Send one query for ``req.key`` to the datastore on behalf of ``req``'s attempt."""
        q = Query(self._queries, req.key, server, req, attempt, role, on_done, t)
        self._queries += 1
        self.stats.db_queries += 1
        if self.record:
            self.out.append(Event((t, FETCH_START, req.id, req.viewer, server, req.key,
                                   attempt, role, q.id)))
        faults = self.scenario.faults
        if faults.fail_fetch and not self._first_fetch_seen:
            q.doomed = True
        self._first_fetch_seen = True
        if faults.leader_dies and role == "leader" and not self._first_leader_seen:
            self._first_leader_seen = True
            self.later(t + self.mean_service_s / 2, self._kill_server, server)
        self.db.submit(t, q)
        return q

    def query_done(self, t: float, q: Query, ok: bool) -> None:
        """The datastore answered: write the cache, then let the strategy answer requests."""
        if not self.servers.alive[q.server]:
            return                       # the server that asked is gone; nobody hears the answer
        if ok and self.scenario.cache.enabled:
            self.cache_put(t, q.key, role=q.role, delta=t - q.t_submit, req=q.req,
                           server=q.server)
        q.on_done(t, ok)

    def cache_put(self, t: float, key: str, role: str, delta: float,
                  req: Request | None = None, server: int | None = None) -> None:
        ttl = self.scenario.cache.ttl_s
        for hook in self._ttl_hooks:
            ttl = hook(ttl)
        self.cache.put(key, t, ttl, delta)
        if self.record:
            self.out.append(Event((t, CACHE_SET, req.id if req else None,
                                   req.viewer if req else None, server, key, role, ttl)))

    def settle(self, t: float, req: Request, attempt: int, ok: bool, source: str,
               coalesced: bool = False) -> None:
        """Answer one attempt with a value (``ok``) or an error; stale attempts are dropped."""
        if req.attempt != attempt or req.done:
            return                       # the client already gave up on this attempt
        if not ok:
            self._retry_or_end(t, req, "error")
            return
        st = self.stats
        server = req.server
        req.done = True
        req.server = None
        st.completed += 1
        st.open -= 1
        if coalesced:
            st.coalesced += 1
        latency = t - req.t0
        self.latencies.append(latency)
        self._interval_lats.append(latency)
        if self._open is not None:
            del self._open[req.id]
        if self.record:
            self.out.append(Event((t, RESPOND, req.id, req.viewer, server, req.key,
                                   attempt, "ok", latency * 1000.0, source)))

    def _timeout(self, t: float, req: Request, attempt: int) -> None:
        if req.attempt != attempt or req.done:
            return
        if self.record:
            self.out.append(Event((t, TIMEOUT, req.id, req.viewer, req.server, req.key,
                                   attempt)))
        self._retry_or_end(t, req, "timeout")

    def _retry_or_end(self, t: float, req: Request, reason: str) -> None:
        st = self.stats
        server = req.server
        req.server = None
        if req.attempt < self.scenario.clients.retries:
            req.attempt += 1             # from now on the old attempt's answers are dropped
            st.retries += 1
            delay = self._retry_delay(req.attempt)
            if self.record:
                self.out.append(Event((t, RETRY, req.id, req.viewer, server, req.key,
                                       req.attempt, delay * 1000.0, reason)))
            self.later(t + delay, self._arrive, req)
            return
        req.done = True
        st.open -= 1
        if reason == "timeout":
            st.timeouts += 1
        else:
            st.errors += 1
        if self._open is not None:
            del self._open[req.id]
        if self.record:
            self.out.append(Event((t, RESPOND, req.id, req.viewer, server, req.key, req.attempt,
                                   reason, (t - req.t0) * 1000.0, None)))

    def _kill_server(self, t: float, server: int) -> None:
        """faults.leader_dies: the process dies; every attempt it was handling fails."""
        self.servers.kill(server)
        self.system_event(Event((t, SERVER_DOWN, None, None, server, None)))
        for hook in self._on_server_down:
            hook(t, server)
        assert self._open is not None
        for req in [r for r in self._open.values() if r.server == server]:
            self.settle(t, req, req.attempt, False, "server_down")

    # ----------------------------------------------------------------- public API
    def inject(self, t: float | None = None) -> int:
        """Add one extra viewer request at ``max(t, now)``; returns its request id."""
        if self._injected >= MAX_INJECTED:
            raise ScenarioError("inject", f"at most {MAX_INJECTED} injected requests per run",
                                "has reached its limit")
        t = self.now if t is None else max(float(t), self.now)
        if not math.isfinite(t):
            raise ScenarioError("inject", "a finite time in seconds", "needs a finite time")
        viewer = self.scenario.clients.count + self._injected
        self._injected += 1
        req = self._new_request(t, viewer, "")
        self.later(t, self._arrive_injected, req)
        self.finished = False
        return req.id

    def _arrive_injected(self, t: float, req: Request) -> None:
        """The newest chunk (live_video) or the most popular key (hot_key), known on arrival."""
        req.key = self._keys[0] if self._keys else "chunk-0"
        self._arrive(t, req)

    def events(self) -> Iterator[Event]:
        """All events in time order, computed in small steps between yields."""
        while True:
            self._run(INF, STEPS_PER_YIELD)
            if self.out:
                batch, self.out = self.out, []
                yield from batch
            if self.finished:
                return

    def advance(self, until_t: float) -> list[Event]:
        """Process everything with ``t <= until_t`` and return its events."""
        self._run(until_t, None)
        if not self.finished and until_t > self.now:
            self.now = until_t
        batch, self.out = self.out, []
        return batch

    def run(self) -> "Simulation":
        """Run to the end, discarding events (use ``events()`` to see them)."""
        while not self.finished:
            self._run(INF, 1 << 20)
            self.out.clear()
        return self

    def summary(self) -> dict[str, Any]:
        return metrics.summary(self)

    # ----------------------------------------------------------------- the loop
    def _run(self, until: float, max_steps: int | None) -> None:
        heap = self._heap
        lookups = self._lookups
        timeouts = self._timeouts
        arr_t, arr_v, arr_k = self._arr_t, self._arr_v, self._arr_k
        ai, an = self._ai, len(arr_t)
        heappop = heapq.heappop
        lookup = self._lookup
        timeout = self._timeout
        arrive = self._arrive
        new_request = self._new_request
        interval = self.scenario.sample_interval_s
        duration = self.scenario.duration_s
        next_sample = self._sample_k * interval
        budget = -1 if max_steps is None else max_steps
        steps = 0
        last_t = -INF
        popleft_timeout = timeouts.popleft
        while steps != budget:
            t = heap[0][0] if heap else INF
            lane = 0
            if ai < an and arr_t[ai] < t:
                t = arr_t[ai]
                lane = 1
            if lookups and lookups[0][0] < t:
                t = lookups[0][0]
                lane = 2
            while timeouts:
                _, req, attempt = head = timeouts[0]
                if req.done or req.attempt != attempt:
                    popleft_timeout()            # a cancelled timer: the attempt has ended
                    continue
                if head[0] < t:
                    t = head[0]
                    lane = 3
                break
            # A sample at time t comes after every event at t, so it counts them.
            if next_sample < t and (t < INF or next_sample <= duration + 1e-9):
                t = next_sample
                lane = 4
            if t == INF:
                self._last_event_t = max(self._last_event_t, last_t)
                self._finish(self.steps + steps)
                break
            if t > until:
                break
            steps += 1
            if lane == 1:
                req = new_request(t, arr_v[ai], arr_k[ai])
                ai += 1
                arrive(t, req)
            elif lane == 2:
                _, req, attempt, server = lookups.popleft()
                lookup(t, req, attempt, server)
            elif lane == 3:
                _, req, attempt = popleft_timeout()
                timeout(t, req, attempt)
            elif lane == 4:
                self.now = t
                self._sample(t)
                self._sample_k += 1
                self._steps_at_sample = self.steps + steps
                next_sample = self._sample_k * interval
                continue
            else:
                _, _, fn, args = heappop(heap)
                self._ai = ai
                self.now = t
                fn(t, *args)
                if self._arr_t is not arr_t:     # a chunk was published: a new arrival batch
                    arr_t, arr_v, arr_k = self._arr_t, self._arr_v, self._arr_k
                    ai, an = self._ai, len(arr_t)
            last_t = t
        self._ai = ai
        self.steps += steps
        if last_t > self._last_event_t:
            self._last_event_t = last_t
        if last_t > self.now:
            self.now = last_t

    def _finish(self, steps: int) -> None:
        """The run is over: one final sample, unless the last one already saw every step."""
        if steps > self._steps_at_sample:
            self.now = self._last_event_t
            self._sample(self._last_event_t)
        self.finished = True

    def _sample(self, t: float) -> None:
        st = self.stats
        db = self.db
        lats = self._interval_lats
        n = len(lats)
        p50 = p99 = None
        if n:
            lats.sort()
            p50 = metrics.percentile(lats, 50) * 1000.0
            p99 = metrics.percentile(lats, 99) * 1000.0
        span = t - self._last_sample_t
        rps = n / span if span > 0 else 0.0
        running = len(db.running)
        self.out.append(Event((
            t, SAMPLE, None, None, None, None,
            len(db.queue), running, running / db.cfg.connections, db.state,
            st.arrived, st.completed, st.errors, st.timeouts, st.retries, st.db_queries,
            st.db_rejected, st.db_failed, st.coalesced, st.cache_hits, st.cache_misses,
            st.stale_served, st.open, n, rps, p50, p99)))
        self._interval_lats = []
        self._last_sample_t = t
