"""A real run: a scenario's arrivals executed for real by a fleet of app-server processes.

``RealRun`` has the simulation's shape: ``events()`` yields events (``webapp.engine.events``,
same tuples) in time order, including samples; ``summary()`` has the simulation's keys (plus
``real``: what only a real run knows). It is plain blocking Python (no gevent here: the app
servers are other processes), so it runs in the CLI, a test, or the real-run worker process.

1. **Plan**: the simulation of the same scenario gives the arrivals (time, request id, viewer,
   key), the live chunks and the keys warmed at the start: the real run and the simulation see
   the same arrivals, and request ids match.
2. **Fleet**: ``processes`` app-server processes (appserver.py), server ``s`` in process
   ``s % processes``, each server with its own pool of ``datastore.connections / servers``.
   All start together on ``go``: the run's clock is ``time.monotonic()`` minus that instant,
   the same in every process.
3. **Merge**: each process streams batches complete up to a time; events up to the smallest of
   those times are final and leave in time order (a k-way merge), with a sample every
   ``sample_interval_s`` (counters summed over processes, as of their latest batch; the
   picture's waiting per server and herds per key counted from the merged events, exact at the
   sample's instant; the strategies' places ``made`` counted by the app servers where the
   simulated host counts them).
4. A process that dies (``faults.leader_dies`` kills one for real) is seen at once (its pipe
   closes): its servers go down and its open requests fail, as a load balancer would report.
5. **End**: when every process is done (or the run passes ``duration_s + DRAIN_S`` or
   ``MAX_EVENTS``: it is cut, ``truncated``), PostgreSQL says how many queries it ran, and the
   run's Redis keys go.
"""
from __future__ import annotations

import bisect
import heapq
import math
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterator

import psycopg
import redis

from webapp.engine import Simulation, metrics
from webapp.engine.events import (ARRIVE, CACHE_HIT, CACHE_MISS, CACHE_SET, CHUNK_PUBLISHED,
                                  DB_CANCELLED, DB_FAILED, DB_FINISHED, DB_REJECTED, DB_STARTED,
                                  FETCH_START, RESPOND, RETRY, SAMPLE, SAMPLE_FIELDS,
                                  SERVER_DOWN, Event)
from webapp.engine.histogram import LogHistogram
from webapp.engine.lifecycle import WAITS
from webapp.engine.moments import HERD_KEYS
from webapp.engine.scenario import Scenario, ScenarioError, Strategy, parse_scenario
from webapp.real import datastore
from webapp.real.counters import COUNTERS
from webapp.real.services import (MAX_CONNECTIONS, Endpoints, end_run_backends,
                                  with_parent_death)
from webapp.real.settings import (DRAIN_S, MAX_EVENTS, MAX_REQUESTS, RealSettings, bounded,
                                  check, not_honoured, pool_size)
from webapp.real.stats import ms_stats

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
START_AHEAD_S = 0.05         # the run's t=0 is this long after "go" is sent
HERD_WINDOW_S = 0.05         # the first instant's herd: the arrivals planned this close to it
SPREAD_SLACK_S = 0.01        # reads spreading this much wider than planned are still the herd
HERD_FACTOR = 3.0            # a stretched herd's fetching lasts this many times its take-in
MAX_STRETCHED_S = 2.0
# A stretched lease stays within what a scenario may ask (a query stretched 2,000 times, from 1 ms
# to 2 s, would take a 5 s lease to 10,000 s, and the stretched scenario would be refused): the
# longest lease allowed is 300 times the longest stretched query, so it still outlasts a live fetch.
LEASE_MAX_MS = next(f.metadata["max"] for f in fields(Strategy) if f.name == "lease_ms")
WAIT_S = 0.05
_PICTURE = WAITS | {CACHE_MISS, RESPOND, RETRY}   # the events the samples' picture follows
CHECK_EVERY = 4096            # plan(): events between budget checks


class RealRunError(RuntimeError):
    """The real run could not go on (a process failed, a service is gone). The message is for a
    person; ``detail`` (a traceback) for the server's log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass
class Plan:
    arrivals: list[tuple]            # (t, request id, viewer, server, key), first attempts
    publishes: list[tuple]           # (t, key, chunk): live chunks
    warm_keys: list[str]


class PlanTooCostly(RuntimeError):
    """The simulation giving the arrivals ran out of its step budget before ``duration_s``."""


def plan(scenario: Scenario, max_steps: int | None = None,
         check: Callable[[], None] = lambda: None) -> Plan:
    """The arrivals of ``scenario`` as the simulation generates them. Every first attempt, live
    chunk and warm key comes before ``duration_s``, so the simulation stops there (what follows
    is the real run's to find out), within ``max_steps``; ``check()`` is called every
    ``CHECK_EVERY`` events (a budget that raises to stop it)."""
    sim = Simulation(scenario, max_steps=max_steps)
    n = scenario.servers.count
    arrivals, publishes, warm = [], [], []
    for i, ev in enumerate(sim.events()):
        if ev[0] > scenario.duration_s:
            break
        if i % CHECK_EVERY == 0:
            check()
        kind = ev[1]
        if kind == ARRIVE and ev[6] == 0:
            arrivals.append((ev[0], ev[2], ev[3], ev[3] % n, ev[5]))
        elif kind == CHUNK_PUBLISHED:
            publishes.append((ev[0], ev[5], ev[6]))
        elif kind == CACHE_SET and ev[6] == "warm_start":
            warm.append(ev[5])
    else:
        if sim.truncated:
            raise PlanTooCostly(f"its arrivals took more than {max_steps:,} engine steps to "
                                "simulate, this server's budget per run")
    return Plan(arrivals, publishes, warm)


@dataclass
class _Member:
    """One app-server process as the fleet sees it."""

    index: int
    servers: list[int]
    proc: subprocess.Popen
    to: Connection
    frm: Connection
    status: str = "starting"         # starting, ready, calibrated, running, done, dead
    take_in_s: float = 0.0           # how long it takes to take in its herd (appserver.py)
    buffer: list = field(default_factory=list)
    watermark: float = 0.0                   # every event up to here has arrived
    snapshots: list = field(default_factory=list)   # (t, counters, gauges), oldest first
    counters: dict = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    gauges: dict = field(default_factory=lambda: {"queued": 0, "in_service": 0, "made": {}})
    open: dict = field(default_factory=dict)         # request id -> its latest ARRIVE
    fetching: int = 0                                 # queries sent and not yet ended


class RealRun:
    """One real run. ``endpoints``: the running services (services.Services)."""

    def __init__(self, scenario: Scenario, settings: RealSettings, endpoints: Endpoints,
                 planned: Plan | None = None,
                 on_notice: Callable[[str], None] = lambda text: None) -> None:
        """``planned``: the plan, made already (planner.py); ``on_notice(text)``: told, before
        the run starts, when this machine cannot make the planned herd (``_fit_herd``);
        ``scenario`` is then the stretched one."""
        self.scenario = scenario
        self.on_notice = on_notice
        self.herd: dict[str, Any] = {}
        self.settings = settings
        self.endpoints = endpoints
        self.processes = check(scenario, settings)
        self.plan = planned or plan(scenario)
        if len(self.plan.arrivals) > MAX_REQUESTS:
            raise ScenarioError("clients.count", f"at most {MAX_REQUESTS} requests in a real "
                                "run")
        self.pool_size = pool_size(scenario)
        self.prefix = f"herdlab:{uuid.uuid4().hex[:12]}:"
        self.truncated = False
        self.members: list[_Member] = []
        self._summary: dict[str, Any] | None = None
        # what the merge keeps
        self.planned = {rid: t for t, rid, *_ in self.plan.arrivals}   # request id -> when
        self._lateness: list[float] = []
        self._lookups = [float("inf"), float("-inf")]
        # the samples' picture (``_picture``)
        self._waiting = [0] * scenario.servers.count   # attempts waiting on another's fetch
        self._waits: dict[int, int] = {}              # request id -> the server it waits at
        self._herds: dict[str, int] = {}              # key -> attempts in flight that missed
        self._missed: dict[int, str] = {}             # request id -> the key it missed
        self._answered: list[float] = []     # latencies (seconds) of answered requests
        self._failed: list[float] = []       # and of failed ones, to their failure
        self._interval: tuple[list[float], list[float]] = ([], [])   # since the last sample
        self._so_far = (LogHistogram(), LogHistogram())     # everyone, answered: since t=0
        self._adjust = dict.fromkeys(COUNTERS, 0)
        self._peak = 0                       # fetches sent and not ended, at most
        self._statements: list[tuple[float, float]] = []   # (start, end) as PostgreSQL saw them
        self._pool_stats: dict[str, int] = {}
        # What the app servers measured for the simulation beside (host.py, ``measured``):
        # per query, when a pool handed it a connection and for how long it was its (seconds);
        # per request id, the delay of each look it took while it waited; per answered query,
        # the app server's own time around it (seconds).
        self.held: list[tuple[float, float]] = []
        self.looks: dict[int, list[tuple[float, float]]] = {}
        self.around: dict[int, float] = {}      # query id -> the app server's time around it
        self.claims: dict[int, float] = {}      # request id -> when its first claim was decided
        self._locks = {"takeovers": 0, "held_max_s": 0.0}
        self._servers_down = 0
        self._chunks = 0
        self._events = 0
        self._last_t = 0.0
        self._k = 1                          # next sample is at k * sample_interval_s
        self._last_sample_t = 0.0
        self._events_at_sample = 0
        self._synthetic: list = []           # events the fleet itself reports (deaths)
        self._start = 0.0
        self._wall_s = 0.0
        self._stopping = False

    # ----------------------------------------------------------------- public API
    def events(self) -> Iterator[Event]:
        """Run for real and yield every event in time order; the summary is ready after."""
        pg = psycopg.connect(self.endpoints.pg_conninfo(application_name="herdlab-fleet"),
                             autocommit=True)
        cache = redis.Redis.from_url(self.endpoints.redis_url())
        try:
            end_run_backends(pg)          # left by a run whose worker was killed outright
            datastore.prepare(pg)
            cpu = datastore.calibrate_cpu(pg) if self.settings.query == "cpu" else 0.0
            before = datastore.queries_so_far(pg)
            self._launch(cpu)
            yield from self._merge()
            pg_queries = datastore.queries_so_far(pg) - before
            self._summary = self._summarise(pg_queries)
        finally:
            self._stop_all()
            _clean_up(pg, cache, self.prefix)

    def run(self) -> "RealRun":
        for _ in self.events():
            pass
        return self

    def stop(self) -> None:
        """Cut the run where it is (from another thread, or between events): it ends as a run
        past its time bound does, ``truncated``, with its summary."""
        self._stopping = True

    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            raise RuntimeError("the real run has not finished")
        return self._summary

    # ----------------------------------------------------------------- the fleet
    def _launch(self, cpu_rows_per_s: float) -> None:
        p = self.processes
        by_process: list[list[tuple]] = [[] for _ in range(p)]
        for arrival in self.plan.arrivals:
            by_process[arrival[3] % p].append(arrival)
        first = self.plan.arrivals[0][0] if self.plan.arrivals else 0.0
        herds = [0] * p                  # each process's requests of the first instant's herd
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        for index in range(p):
            servers = [s for s in range(self.scenario.servers.count) if s % p == index]
            r_plan, w_plan = os.pipe()
            r_out, w_out = os.pipe()
            proc = subprocess.Popen(with_parent_death(
                [sys.executable, "-m", "webapp.real.appserver", str(r_plan), str(w_out)], "KILL"),
                pass_fds=(r_plan, w_out), cwd=str(REPO), env=env, stdin=subprocess.DEVNULL)
            os.close(r_plan)
            os.close(w_out)
            herds[index] = sum(1 for a in by_process[index] if a[0] <= first + HERD_WINDOW_S)
            self.members.append(_Member(index, servers, proc, Connection(w_plan, readable=False),
                                        Connection(r_out, writable=False)))
        for member in self.members:      # all started first: they import while plans go out
            index = member.index
            member.to.send({
                "scenario": self.scenario.to_dict(),
                "settings": asdict(bounded(self.settings, self.scenario)),
                "endpoints": self.endpoints.for_runs(), "prefix": self.prefix, "index": index,
                "processes": p, "servers": member.servers, "pool_size": self.pool_size,
                "arrivals": by_process[index], "cpu_rows_per_s": cpu_rows_per_s,
                "publishes": self.plan.publishes if index == 0 else [],
                "warm_keys": self.plan.warm_keys if index == 0 else []})
        self._await("starting", "ready")
        for member in self.members:
            member.to.send(("calibrate", herds[member.index]))
        self._await("ready", "calibrated")
        scale = self._fit_herd(max(m.take_in_s for m in self.members))
        # Start a moment from now, time enough for the producer to warm its keys first.
        self._start = time.monotonic() + START_AHEAD_S + 0.001 * len(self.plan.warm_keys)
        for member in self.members:
            member.to.send(("go", self._start, scale, self.scenario.to_dict()))
            member.status = "running"

    def _await(self, status: str, until: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while any(m.status == status for m in self.members):
            if time.monotonic() > deadline:
                raise RealRunError(f"app servers not {until} within {READY_TIMEOUT_S:g} s")
            for member in self._ready_members(WAIT_S):
                self._receive(member)

    def _fit_herd(self, take_in_s: float) -> float:
        """The herd this machine can make now, against the one planned. If the app servers
        take longer to take in their herd (``take_in_s``: its requests started and their cache
        reads answered) than planned, and the planned herd was a herd (its fetching outlasts
        its arrivals), say so before the run starts and stretch every query (here and in the
        simulation beside) until the herd's fetching lasts ``HERD_FACTOR`` times that, so the
        herd is still a herd rather than a measure of the client (and a lock's or marker's
        lease with them, so that it still outlasts a live holder's fetch). The herd's fetching is one
        query with coalescing, and its queue of queries through the pools without. Returns the
        stretch (1: none)."""
        s = self.scenario
        planned = [a[0] for a in self.plan.arrivals]
        planned_s = max(planned) - min(planned) if planned else 0.0
        service_s = s.datastore.service_ms / 1000.0
        rounds = (math.ceil(len(planned) / (self.pool_size * s.servers.count))
                  if s.strategy.coalesce == "none" else 1)
        fetching_s = service_s * rounds
        scale = 1.0
        if (s.workload.kind == "hot_key" and not self.settings.synchronised
                and planned_s < fetching_s and take_in_s > planned_s + SPREAD_SLACK_S
                and fetching_s < HERD_FACTOR * take_in_s):
            scale = min(HERD_FACTOR * take_in_s / fetching_s, MAX_STRETCHED_S / service_s)
        self.herd = {"planned_spread_s": round(planned_s, 6), "take_in_s": round(take_in_s, 6),
                     "service_scale": round(max(scale, 1.0), 3)}
        scale = max(scale, 1.0)
        if scale > 1.0:
            # A lock's or marker's lease is stretched with the queries: it is there for a
            # holder that died, and must still outlast a live holder's (now longer) fetch.
            plain = s.to_dict()
            self.scenario = s = parse_scenario({
                **plain, "datastore": {**plain["datastore"],
                                       "service_ms": round(service_s * scale * 1000, 3)},
                "strategy": {**plain["strategy"],
                             "lease_ms": round(min(s.strategy.lease_ms * scale, LEASE_MAX_MS), 3)}})
            self.herd["notice"] = (
                f"This machine cannot make the planned herd now: its app servers take about "
                f"{take_in_s * 1000:,.0f} ms to take in {len(planned):,} requests (planned: "
                f"{planned_s * 1000:,.0f} ms). So that the herd is still a herd, every query "
                f"takes {s.datastore.service_ms:,.0f} ms instead of {service_s * 1000:,.0f} ms, "
                "in the real run (and in any simulation beside it).")
            self.on_notice(self.herd["notice"])
        return scale

    def _ready_members(self, timeout: float) -> list[_Member]:
        live = {m.frm: m for m in self.members if m.status not in ("done", "dead")}
        return [live[c] for c in wait(list(live), timeout)] if live else []

    def _receive(self, member: _Member) -> None:
        try:
            message = member.frm.recv()
        except (EOFError, OSError):
            self._died(member)
            return
        kind = message[0]
        if kind == "ready":
            member.status = "ready"
        elif kind == "calibrated":
            member.take_in_s = message[1]
            member.status = "calibrated"
        elif kind == "batch":
            _, events, counters, gauges, complete, now = message
            member.buffer.extend(events)
            member.watermark = complete
            member.snapshots.append((now, counters, gauges))
        elif kind == "done":
            member.status = "done"
            last = member.snapshots[-1][2] if member.snapshots else member.gauges
            member.snapshots.append((member.watermark, message[1], {
                "queued": 0, "in_service": 0, "made": last["made"]}))
            for name, value in message[2].items():
                self._pool_stats[name] = self._pool_stats.get(name, 0) + value
            self.held.extend(message[3]["held"])
            self.looks.update(message[3]["looks"])
            self.around.update(message[3]["around"])
            self.claims.update(message[3]["claims"])
            locks = message[3]["locks"]
            self._locks["takeovers"] += locks["takeovers"]
            self._locks["held_max_s"] = max(self._locks["held_max_s"], locks["held_max_s"])
        elif kind == "error":
            raise RealRunError("one of its app-server processes failed "
                               f"({_exception_name(message[1])})", message[1])

    def _died(self, member: _Member) -> None:
        """Its pipe closed without ``done``: the process is gone. Its servers go down and its
        open requests fail now (no retry: a real retry would need another process to take it
        over, which this fleet does not do)."""
        if member.status == "starting":
            raise RealRunError(f"app-server process {member.index} exited while starting "
                               f"(status {member.proc.wait()})")
        member.status = "dead"
        t = max(time.monotonic() - self._start, self._last_t)
        out = self._synthetic
        for server in member.servers:
            out.append(Event((t, SERVER_DOWN, None, None, server, None)))
            self._servers_down += 1
        # Open at its death: what the merge has seen, then what it sent and is not merged yet.
        still_open = dict(member.open)
        for ev in member.buffer:
            _track_open(still_open, ev)
        for rid, arrive in still_open.items():
            out.append(Event((t, RESPOND, rid, arrive[3], arrive[4], arrive[5], arrive[6],
                              "error", (t - arrive[7]) * 1000.0, None)))
        self._adjust["errors"] += len(still_open)
        self._adjust["in_flight"] -= len(still_open)
        # Its queries stay in flight: PostgreSQL runs them to the end, nobody reads them.

    def _stop_all(self) -> None:
        for member in self.members:
            if member.proc.poll() is None:
                member.proc.kill()
            member.proc.wait()
            member.to.close()
            member.frm.close()

    # ----------------------------------------------------------------- the merge
    def _merge(self) -> Iterator[Event]:
        deadline = self._start + self.scenario.duration_s + DRAIN_S
        while any(m.status == "running" for m in self.members):
            for member in self._ready_members(WAIT_S):
                self._receive(member)
            if time.monotonic() > deadline or self._events > MAX_EVENTS or self._stopping:
                self._cut()
                break
            running = [m.watermark for m in self.members if m.status == "running"]
            yield from self._release(min(running) if running else float("inf"))
        yield from self._release(float("inf"))
        yield from self._final_samples()
        self._wall_s = time.monotonic() - self._start

    def _cut(self) -> None:
        """Past its time or event bound the run stops where it is: processes killed, their
        open requests left open (``truncated``, as the simulation's ``max_steps``)."""
        self.truncated = True
        for member in self.members:
            if member.status == "running":
                member.proc.kill()
                member.status = "dead"

    def _release(self, until: float) -> Iterator[Event]:
        """Every event up to ``until`` from every buffer, in time order, with the samples due."""
        streams = []
        for source in [m.buffer for m in self.members] + [self._synthetic]:
            cut = len(source) if until == float("inf") else bisect.bisect_right(
                source, until, key=_time)
            if cut:
                streams.append(source[:cut])
                del source[:cut]
        interval = self.scenario.sample_interval_s
        for ev in heapq.merge(*streams, key=_time):
            while self._k * interval < ev[0]:
                yield self._sample(self._k * interval)
            self._observe(ev)
            yield ev
        while until != float("inf") and self._k * interval <= until:
            yield self._sample(self._k * interval)

    def _final_samples(self) -> Iterator[Event]:
        """As the simulation: samples go on to ``duration_s``, then one last one at the last
        event unless the previous sample already saw everything (every event, and every
        process's final counters)."""
        interval = self.scenario.sample_interval_s
        while self._k * interval <= self.scenario.duration_s + 1e-9:
            yield self._sample(self._k * interval)
        if self._events > self._events_at_sample or any(m.snapshots for m in self.members):
            yield self._sample(max(self._last_t, self._last_sample_t), final=True)

    def _observe(self, ev: tuple) -> None:
        """What the summary and samples need from each event, and who is still open where."""
        self._events += 1
        self._last_t = ev[0]
        kind = ev[1]
        if kind in _PICTURE:
            self._picture(ev)
        member = self.members[ev[4] % self.processes] if ev[4] is not None else None
        if kind == ARRIVE:
            _track_open(member.open, ev)
            if ev[6] == 0:
                self._lateness.append(ev[0] - self.planned.get(ev[2], ev[0]))
        elif kind == RESPOND:
            _track_open(member.open, ev)
            ok = ev[7] == "ok"
            (self._answered if ok else self._failed).append(ev[8] / 1000.0)
            self._interval[0 if ok else 1].append(ev[8] / 1000.0)
        elif kind in (CACHE_HIT, CACHE_MISS) and ev[6] == 0:
            self._lookups[0] = min(self._lookups[0], ev[0])
            self._lookups[1] = max(self._lookups[1], ev[0])
        elif kind == FETCH_START:
            member.fetching += 1
            self._peak = max(self._peak, sum(m.fetching for m in self.members))
        elif kind == DB_STARTED:
            self._statements.append((ev[0], ev[0] + ev[7] / 1000.0))
        elif kind in (DB_FINISHED, DB_FAILED, DB_REJECTED, DB_CANCELLED):
            member.fetching -= 1
        elif kind == CHUNK_PUBLISHED:
            self._chunks += 1

    def _picture(self, ev: tuple) -> None:
        """The samples' picture, counted as the simulation counts it (engine/moments.py) and
        exact at every instant, from the merged events: the attempts waiting on another's
        fetch per server (from their first wait to the attempt's end), and the attempts in
        flight whose lookup missed, per key (the herds)."""
        kind, rid = ev[1], ev[2]
        if kind == CACHE_MISS:
            self._missed[rid] = ev[5]
            self._herds[ev[5]] = self._herds.get(ev[5], 0) + 1
        elif kind in WAITS:
            if rid not in self._waits and ev[4] is not None:
                self._waits[rid] = ev[4]
                self._waiting[ev[4]] += 1
        else:                                 # the attempt is over (answered, failed, retried)
            key = self._missed.pop(rid, None)
            if key is not None:
                self._herds[key] -= 1
                if not self._herds[key]:
                    del self._herds[key]
            server = self._waits.pop(rid, None)
            if server is not None:
                self._waiting[server] -= 1

    def _herd_sizes(self) -> dict[str, int]:
        """The largest ``HERD_KEYS`` herds, as the simulation's samples give them."""
        if len(self._herds) <= HERD_KEYS:
            return dict(self._herds)
        largest = sorted(((n, key) for key, n in self._herds.items()), reverse=True)
        return {key: n for n, key in largest[:HERD_KEYS]}

    def _counters_at(self, t: float) -> tuple[dict[str, int], int, int, dict[str, int]]:
        """Counters summed over the fleet as of each process's latest batch by ``t``; the
        gauges of the processes alive, and the strategies' places made (all of them)."""
        total = dict(self._adjust)
        made: dict[str, int] = {}
        queued = in_service = 0
        for member in self.members:
            snaps = member.snapshots
            while snaps and snaps[0][0] <= t:
                _, member.counters, member.gauges = snaps.pop(0)
            for name, value in member.counters.items():
                total[name] += value
            for place, n in member.gauges["made"].items():
                made[place] = made.get(place, 0) + n
            if member.status != "dead":
                queued += member.gauges["queued"]
                in_service += member.gauges["in_service"]
        return total, queued, in_service, made

    def _sample(self, t: float, final: bool = False) -> Event:
        if final:
            for member in self.members:
                if member.snapshots:
                    _, member.counters, member.gauges = member.snapshots[-1]
                    member.snapshots.clear()
        c, queued, in_service, made = self._counters_at(t)
        answered, failed = sorted(self._interval[0]), self._interval[1]
        ended = sorted(answered + failed)
        everyone_so_far, answered_so_far = self._so_far
        everyone_so_far.add_sorted(ended)
        answered_so_far.add_sorted(answered)
        span = t - self._last_sample_t
        capacity = (self.pool_size * self.scenario.servers.count if self.settings.pool
                    else MAX_CONNECTIONS)
        values = dict(c, queued=queued, in_service=in_service,
                      utilisation=in_service / capacity, state="up",
                      inflight_requests=c["in_flight"], responses=len(answered),
                      rps=len(answered) / span if span > 0 else 0.0, ends=len(ended),
                      lat_p50_ms=_ms(metrics.percentile(ended, 50) if ended else None),
                      lat_p99_ms=_ms(metrics.percentile(ended, 99) if ended else None),
                      lat_p99_answered_ms=_ms(metrics.percentile(answered, 99)
                                              if answered else None),
                      p50_ms=_ms(everyone_so_far.percentile(50)),
                      p99_ms=_ms(everyone_so_far.percentile(99)),
                      p99_answered_ms=_ms(answered_so_far.percentile(99)),
                      waiting=list(self._waiting), herds=self._herd_sizes(), made=made)
        self._interval = ([], [])
        self._last_sample_t = t
        self._events_at_sample = self._events
        if not final:
            self._k += 1
        return Event((t, SAMPLE, None, None, None, None)
                     + tuple(values.get(name) for name in SAMPLE_FIELDS))

    # ----------------------------------------------------------------- the summary
    def _pool_summary(self) -> dict[str, Any] | None:
        """What the pools measured themselves (psycopg_pool's stats, every pool summed): None
        without pools."""
        stats = self._pool_stats
        if not self.settings.pool or not stats:
            return None
        queued, lent = stats["requests_queued"], stats["requests_num"] - stats["requests_errors"]
        return {"requests": stats["requests_num"], "queued": queued,
                "wait_ms_total": stats["requests_wait_ms"],
                "wait_ms_mean": round(stats["requests_wait_ms"] / queued, 3) if queued else None,
                "errors": stats["requests_errors"],
                # a connection's time out of the pool per query: PostgreSQL's service time
                # plus what the app server spends around it (its scheduling under load)
                "held_ms_mean": round(stats["usage_ms"] / lent, 3) if lent else None}

    def _summarise(self, pg_queries: int) -> dict[str, Any]:
        c = dict(self._adjust)
        for member in self.members:
            if member.snapshots:
                member.counters = member.snapshots[-1][1]
            for name, value in member.counters.items():
                c[name] += value
        s = self.scenario
        lateness = sorted(self._lateness)
        planned = [a[0] for a in self.plan.arrivals]
        sent, c["db_queries"] = c["db_queries"], pg_queries
        summary = metrics.summary(metrics.RunRecord(
            counters=c, answered_s=self._answered, failed_s=self._failed,
            peak_db_inflight=most_at_once(self._statements), db_down_s=0.0,
            chunks=self._chunks or 1,
            servers_down=self._servers_down, sim_time_s=self._last_t, steps=self._events,
            finished=not self.truncated, truncated=self.truncated, seed=s.seed,
            coalesce=s.strategy.coalesce,
            after_s=s.faults.slow_db_at_s + s.faults.slow_db_for_s,
            # A real run is not searched for moments (the engine marks them from its own hooks)
            # and takes no inputs: empty, not zeros that would claim none happened.
            moments={}, moments_dropped=0, inputs_applied=0))
        return {
            **summary, "mode": "real",
            "real": {
                "processes": self.processes,
                "pool_per_server": self.pool_size if self.settings.pool else None,
                "query": self.settings.query,
                "fetches_sent": sent,
                "peak_fetches_in_flight": self._peak,
                "pool": self._pool_summary(),
                "herd": self.herd,
                # A lock's or marker's lease running out under a live holder is a second
                # fetch: how often a claim took over from a holder that never let go, and the
                # longest a claim was held (claim decided to release), against the lease.
                "claims": {"takeovers": self._locks["takeovers"],
                           "held_max_ms": round(self._locks["held_max_s"] * 1000, 3),
                           "lease_ms": s.strategy.lease_ms},
                "arrival_lateness_ms": ms_stats(lateness),
                "arrival_spread_s": {
                    "planned": round(max(planned) - min(planned), 6) if planned else None,
                    "lookups": (round(self._lookups[1] - self._lookups[0], 6)
                                if self._lookups[1] >= self._lookups[0] else None)},
                "arrived_first_attempts": len(lateness),
                "wall_s": round(self._wall_s, 3),
                "not_honoured": not_honoured(s),
            },
        }


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals ``(start, end)`` overlapping at one instant (an end before a start
    at the same instant)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _track_open(open_requests: dict[int, tuple], ev: tuple) -> None:
    """Keep request id -> its latest ARRIVE plus the time of its first (for its latency)."""
    if ev[1] == ARRIVE:
        first = ev[0] if ev[6] == 0 else open_requests.get(ev[2], ev + (ev[0],))[7]
        open_requests[ev[2]] = ev + (first,)
    elif ev[1] == RESPOND:
        open_requests.pop(ev[2], None)


def _time(ev: tuple) -> float:
    return ev[0]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _exception_name(text: str) -> str:
    """The exception a traceback ends with, by its name only (its message may name files)."""
    lines = str(text).strip().splitlines()
    name = lines[-1].partition(":")[0].rpartition(".")[2] if lines else ""
    return name[:80] or "no reason given"


def _clean_up(pg: Any, cache: Any, prefix: str) -> None:
    """After a run, however it ended: its backends terminated (a cut run's queries would go on
    to their end), its Redis keys gone. A service that died meanwhile has nothing to clean."""
    try:
        end_run_backends(pg)
    except psycopg.Error:
        pass
    finally:
        pg.close()
    try:
        _drop_keys(cache, prefix)
    except redis.RedisError:
        pass
    finally:
        cache.close()


def _drop_keys(client: Any, prefix: str) -> None:
    """Delete the run's keys (bounded: a run writes at most a few per key and request)."""
    batch = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)
