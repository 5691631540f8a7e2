"""The real-run worker: one real run in a process of its own, streamed to the web process.

The web process (eventlet) must never run real load itself: a herd of greenlets beside its
frame loop makes frames late, and gevent and eventlet cannot share a process. So it starts

    python -m webapp.real.worker FD

with one end of a Unix socket pair (the framing of ``webapp.worker.channel``: pickled
messages), sends ``("job", request)`` and reads (``MESSAGES``)::

    request:  {"preset": NAME or None, "scenario": {...nested overrides...}, "real": {...},
               "beside": bool, "dot_scale": int, "plan": blob (optional: planner.py)}
    ("waiting",)                          another web process's real run holds the datastore
    ("started", {"requests", "processes", "duration_s"})
    ("notice", text)                      before the app servers start: this machine cannot
                                          make the planned herd, so the queries are stretched
    ("events", side, frontier, blob)      side 0 = the real run, 1 = the simulation beside it;
                                          blob = pickled wire-format events (``wire.encode``) of
                                          the animated viewers and every event without one, in
                                          time order; every event of that side with ``t <=
                                          frontier`` has been sent
    ("simulating",)                       the real run is over; side B is being computed
    ("done", end_s, [summary_a, summary_b or None], truncated)
                                          each summary with ``released_ms`` and
                                          ``first_value_ms`` (``Released``), the real one with
                                          ``dispatch_ms`` (``Measured``)
    ("error", dotted key or None, message)

The run never waits for the web process: events go through a queue to a writer thread, so a
web process busy elsewhere (or a full socket) cannot stall the merge and distort the real run.
What it sends is bounded (``MAX_RECORDING_BYTES``; past it the real run is cut, ``truncated``).
SIGTERM ends a run cleanly (app-server processes killed, the run's Redis keys dropped).

The worker starts the private services if they are not running (or attaches to them), and
holds the datastore's run lock for the whole run: one real run at a time per datastore. It runs
``NICE_START`` steps nicer than the web process, like a simulation worker (and so do the app
servers it starts: they inherit it), so the web process keeps the CPU it needs to pace every
other run; unlike one it is never demoted (that would measure the scheduler, not the datastore).
The run's plan comes with its request, made beforehand by planner.py within budgets.

Whatever fails, the page gets a plain sentence that says what happened and what to do
(``plain``); the details (a traceback, a log's tail with its paths) go to the server's log.
``serve(request, say)`` is the same run for an in-process caller (the CLI);
``stream(request)`` is a blocking client of the worker process (tests, bench).

**Beside the simulation**: once the real run is over, the simulation of the same scenario is
fed what the real run measured (``engine.trace.Trace``, ``Measured``), each operation where it
happened -- Redis's and PostgreSQL's clocks for what they did, the app servers' for their own
steps:

- each first attempt's cache read (when Redis read it), viewer, key and planned arrival
  (latencies on both sides run from it); ``cache.lookup_ms`` is the quickest read;
- each request's read-to-claim delay: from its miss to its next step (when Redis decided its
  claim, or its promise table took it);
- each query's *service time* as the model means it: how long the query kept its pool
  connection, from the pool handing it over (a waiter's wake-up included) to giving it back --
  the model's connection is a pool's, and a pool connection is busy for PostgreSQL's own time
  *and* the app server's scheduling around it. PostgreSQL's own time is what the real run's
  ``db_started`` events say (``service_ms``) and is reported beside it (``fed.pg_service_ms``);
  without pools, the model is fed PostgreSQL's own times;
- each answered query's "around": the app server's own time getting it out (from the decision
  to asking for a connection) and writing its answer (from giving the connection back to the
  value in Redis); for a refused one, how much later than the model's refusal it was in hand;
- each waiter's looks (a lock's polls, a notified waiter's wake-ups): how late each got its
  read's answer, and how long before that Redis made the read;
- the pool timeout the real pools had (``datastore.pool_timeout_s``).
"""
from __future__ import annotations

import fcntl
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from webapp.engine.events import (ARRIVE, CACHE_HIT, CACHE_MISS, CACHE_SET, DB_CANCELLED,
                                  DB_FAILED, DB_FINISHED, DB_QUEUED, DB_REJECTED, DB_STARTED,
                                  FETCH_START, RESPOND, Event)
from webapp.engine.scenario import Scenario, ScenarioError, parse_scenario
from webapp.real.services import Endpoints, ServiceFailed, Services, ServicesMissing
from webapp.real.settings import check, parse_settings, pool_timeout_s
from webapp.real.stats import ms_stats
from webapp.transport import wire
from webapp.worker import limits
from webapp.worker.channel import ChannelClosed, WorkerEnd, frame

if TYPE_CHECKING:
    from webapp.engine.trace import Trace

REPO = Path(__file__).resolve().parents[2]
BATCH_S = 0.02                # a batch of events at least this often while they come
BATCH_EVENTS = 2_000
MAX_RECORDING_BYTES = 24 << 20   # what one run may send (both sides); the web keeps it
SIDE_B_MAX_STEPS = 5_000_000     # the simulation beside a run of at most 5,000 requests
MIN_SERVICE_S = 1e-6             # a trace's service times are > 0
MAX_LOOKUP_MS = 1_000.0          # cache.lookup_ms's range
QUERY_KINDS = (DB_QUEUED, DB_STARTED, DB_FINISHED, DB_FAILED, DB_REJECTED, DB_CANCELLED)


class Busy(RuntimeError):
    """Another real run holds the datastore."""


class RunLock:
    """One real run at a time per datastore: an exclusive ``flock`` on a file beside the
    cluster. The kernel drops it when the holder exits, however it exits."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.path = Path(endpoints.pg_socket_dir).parent / "run.lock"
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0, on_wait: Callable[[], None] = lambda: None) -> None:
        """Take the lock, waiting up to ``wait_s`` (``on_wait()`` once if it must wait)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise Busy("another real run is using the datastore; try again when it "
                               "ends") from None
                if not waited:
                    waited = True
                    on_wait()
                time.sleep(0.1)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def serve(request: dict[str, Any], say: Callable[[str, Any], None], wait_s: float = 0.0,
          services: Services | None = None,
          on_run: Callable[[Any], None] = lambda run: None) -> int:
    """Run one real experiment (and the simulation beside it if ``request["beside"]``),
    telling ``say(kind, payload)``: ``waiting``, ``started``, ``notice`` (text: the planned
    herd cannot be made here, fleet.RealRun._fit_herd), ``event`` (an Event), ``summary``,
    then ``simulating``, ``event_b``, ``summary_b``; or ``error`` ({key, message}). Returns the
    exit status. ``on_run(run)`` gets the ``RealRun`` before it starts (``run.stop()`` cuts it)."""
    from webapp.real.fleet import RealRun   # the Postgres and Redis clients load only for a run

    try:
        if not isinstance(request, dict):
            raise ScenarioError("", "an object with preset, scenario and real",
                                "must be an object")
        scenario = parse_scenario(request.get("scenario") or {}, preset=request.get("preset"))
        settings = parse_settings(request.get("real") or {})
        beside = bool(request.get("beside"))
        check(scenario, settings, beside)         # refuse before starting anything
        services = services or Services()
        endpoints = services.start()
        with RunLock(endpoints) as lock:
            lock.acquire(wait_s, lambda: say("waiting", None))
            planned = request.get("plan")
            run = RealRun(scenario, settings, endpoints,
                          pickle.loads(planned) if planned else None,
                          on_notice=lambda text: say("notice", text))
            on_run(run)
            say("started", {"requests": len(run.plan.arrivals), "processes": run.processes,
                            "duration_s": scenario.duration_s})
            measured = Measured(run.planned, settings.synchronised)
            released = Released()
            for ev in run.events():
                measured.observe(ev)
                released.observe(ev)
                say("event", ev)
            say("summary", {**run.summary(), **released.stats(),
                            "dispatch_ms": ms_stats(measured.dispatch)})
        if beside:
            say("simulating", None)
            released = Released()
            measured.given(run)
            for ev in measured.simulate(run.scenario, pool_timeout_s(run.scenario, settings)
                                        if settings.pool else None):
                released.observe(ev)
                say("event_b", ev)
            say("summary_b", measured.summary and {**measured.summary, **released.stats(),
                                                   "fed": measured.fed})
        return 0
    except ScenarioError as exc:
        say("error", {"key": exc.key, "message": str(exc)})
        return 2
    except Exception as exc:   # noqa: BLE001 -- every failure is told, in words
        if not isinstance(exc, (ServicesMissing, Busy)):
            print("real run failed:", file=sys.stderr)
            traceback.print_exception(exc, file=sys.stderr)
            detail = getattr(exc, "detail", "")
            if detail:
                print(detail, file=sys.stderr)
        say("error", {"key": None, "message": plain(exc)})
        return 1


TRY_AGAIN = ("Try again in a minute; if it keeps failing, whoever runs this server will find "
             "why in its log.")


def plain(exc: BaseException) -> str:
    """What a person is told when a real run fails: what happened and what to do, in words,
    never a traceback or a server path."""
    if isinstance(exc, (ServicesMissing, Busy)):
        return str(exc)                       # already a sentence with what to do
    if isinstance(exc, ServiceFailed):
        return (f"The real-systems lab could not start its {exc.service}, so the run did not "
                f"start. {TRY_AGAIN}")
    import psycopg   # (only now: the web process asks about the services only)
    import redis

    from webapp.real.fleet import RealRunError

    if isinstance(exc, RealRunError):
        return f"The real run failed: {exc}. {TRY_AGAIN}"
    if isinstance(exc, psycopg.Error):
        return ("The real run lost PostgreSQL (it stopped answering, or refused the lab's "
                f"connection). The next run starts it again if it died. {TRY_AGAIN}")
    if isinstance(exc, redis.RedisError):
        return ("The real run lost Redis (it stopped answering). The next run starts it again "
                f"if it died. {TRY_AGAIN}")
    return f"The real run failed unexpectedly and was stopped. {TRY_AGAIN}"


class Measured:
    """What the simulation beside a real run is fed (see the module's docstring). ``planned``:
    request id -> its planned arrival. ``synchronised`` (``real.synchronised``): every first
    attempt waited, after its read, until the whole herd had read (the last read, as seen
    here): for the simulation they all read then, and a miss's next step is timed from then."""

    def __init__(self, planned: dict[int, float], synchronised: bool = False) -> None:
        self.planned = planned
        self.synchronised = synchronised
        self._last_read = 0.0
        self._first: dict[int, tuple[float, int, str]] = {}   # id -> (arrived, viewer, key)
        self._read: dict[int, float] = {}          # id -> its first attempt's cache read
        self._missed: dict[int, float] = {}        # id -> a miss whose next step is to come
        self.claims: dict[int, float] = {}         # id -> from its miss to its next step
        self._arrived_to_read: list[float] = []    # first attempts: from arrival to the read
        self._fetches: list[int] = []              # query ids in the order they were sent
        self.service_s: list[float] = []           # as PostgreSQL measured, in its start order
        # Given by the run once it is over (fleet.RealRun.held and .looks): per query, when
        # its pool handed it a connection and how long it kept it; per request, its looks.
        self.held: list[tuple[float, float]] = []
        self.looks: dict[int, list[tuple[float, float]]] = {}
        self.around: dict[int, float] = {}        # query id -> the app server's time around it
        self._sent: dict[int, float] = {}          # query -> when a request decided to fetch
        self.dispatch: list[float] = []            # ... until its app server sent it
        self.summary: dict[str, Any] | None = None
        self.fed: dict[str, Any] | None = None

    def observe(self, ev: tuple) -> None:
        kind, rid = ev[1], ev[2]
        if rid in self._missed and kind not in (CACHE_MISS, ARRIVE):
            missed = self._missed.pop(rid)
            self.claims[rid] = ev[0] - (self._last_read if self.synchronised else missed)
        if kind == ARRIVE and ev[6] == 0:
            self._first[rid] = (ev[0], ev[3], ev[5])
        elif kind in (CACHE_HIT, CACHE_MISS) and ev[6] == 0:
            self._read[rid] = self._last_read = ev[0]
            if rid in self._first:
                self._arrived_to_read.append(ev[0] - self._first[rid][0])
            if kind == CACHE_MISS:
                self._missed[rid] = ev[0]
        elif kind == FETCH_START:
            self._sent[ev[8]] = ev[0]
            self._fetches.append(ev[8])
        elif kind in QUERY_KINDS:
            sent = self._sent.pop(ev[6], None)
            if sent is not None:       # its first event: the app server got round to it
                self.dispatch.append(ev[0] - sent)
            if kind == DB_STARTED:
                self.service_s.append(max(ev[7] / 1000.0, MIN_SERVICE_S))

    def given(self, run: Any) -> None:
        """What the app servers measured (fleet.RealRun: ``held``, ``looks``, ``around``, and
        ``claims``: when each request's first attempt took its next step after its miss, from
        which its read-to-claim delay; a request the app servers did not time keeps the one
        seen in the events, from its miss to its next event)."""
        self.held, self.looks, self.around = run.held, run.looks, run.around
        for rid, at in run.claims.items():
            read = self._last_read if self.synchronised else self._read.get(rid)
            if read is not None:
                self.claims[rid] = max(0.0, at - read)

    def trace(self, scenario: Scenario, pool_timeout_s: float | None
              ) -> tuple[Scenario, Trace | None]:
        """The scenario side B runs (the real read-to-claim delay, the pool timeout) and its
        trace; None if no request arrived. Each arrival is placed ``cache.lookup_ms`` before
        its real read, so that the simulation reads the cache when Redis did. A query's
        service time is how long it kept its pool connection (``held``, in the order the
        pools handed them over): the model's connection is a pool's, busy for PostgreSQL's
        own time and the app server's around it; without pools (or before any query got a
        connection) PostgreSQL's own times. Each request's looks while it waited are as
        late as its real ones (``looks``)."""
        from webapp.engine.trace import Trace

        changes: dict[str, Any] = {}
        if self._arrived_to_read:     # a bare read: the quickest (no arrival is then moved)
            changes["cache"] = {"lookup_ms": min(min(self._arrived_to_read) * 1000.0,
                                                 MAX_LOOKUP_MS)}
        if pool_timeout_s:
            changes["datastore"] = {"pool_timeout_s": pool_timeout_s}
        fed = parse_scenario(_merged(scenario.to_dict(), changes))
        lookup_s = fed.cache.lookup_ms / 1000.0 if fed.cache.enabled else 0.0
        read = ({rid: self._last_read for rid in self._read} if self.synchronised
                else self._read)
        rows = sorted((max(0.0, read.get(rid, arrived + lookup_s) - lookup_s), rid, viewer, key)
                      for rid, (arrived, viewer, key) in self._first.items())
        service_s = ([max(s, MIN_SERVICE_S) for _, s in sorted(self.held)] if self.held
                     else self.service_s)
        looks = [self.looks.get(rid, ()) for _, rid, _, _ in rows]
        claims = [self.claims.get(rid, lookup_s) for _, rid, _, _ in rows]
        around = [self.around.get(qid, 0.0) for qid in self._fetches]
        self.fed = {"lookup_ms": fed.cache.lookup_ms, "pool_timeout_s": pool_timeout_s,
                    "service_ms": ms_stats(service_s),
                    "service_from": "pool" if self.held else "postgresql",
                    "pg_service_ms": ms_stats(self.service_s), "arrivals": len(rows),
                    "claim_ms": ms_stats(list(self.claims.values())),
                    "around_ms": ms_stats(list(self.around.values())),
                    "look_ms": ms_stats([d for one in looks for d, _ in one]),
                    "look_read_ago_ms": ms_stats([ago for one in looks for _, ago in one])}
        if not rows:
            return fed, None
        return fed, Trace(arrivals=[(t, viewer, key) for t, _, viewer, key in rows],
                          service_s=service_s,
                          planned=[self.planned.get(rid, t) for t, rid, _, _ in rows],
                          looks=looks if any(looks) else (),
                          claims=claims if self.claims else (), around_s=around)

    def simulate(self, scenario: Scenario, pool_timeout_s: float | None = None
                 ) -> Iterator[Event]:
        """Every event of the simulation fed this run (the sender keeps the animated ones)."""
        from webapp.engine import Simulation

        fed, trace = self.trace(scenario, pool_timeout_s)
        if trace is None:
            self.summary = None
            return
        sim = Simulation(fed, max_steps=SIDE_B_MAX_STEPS, trace=trace)
        yield from sim.events()
        self.summary = sim.summary()


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {key: {**value, **changes.get(key, {})} if isinstance(value, dict) else value
            for key, value in base.items()}


class Released:
    """How soon coalesced waiters get the value once it has landed: for every answer served by
    another request's fetch (a promise, a lock, a marker), its time minus the latest write of
    its key before it. The simulation releases a promise's waiters at that very instant; real
    ones leave one greenlet at a time."""

    COALESCED = ("promise", "lock", "marker")

    def __init__(self) -> None:
        self._written: dict[str, float] = {}
        self.delays: list[float] = []
        self.first_value_s: float | None = None   # the first value a fetch wrote to the cache

    def observe(self, ev: tuple) -> None:
        kind = ev[1]
        if kind == CACHE_SET:
            self._written[ev[5]] = ev[0]
            if self.first_value_s is None and ev[6] not in ("warm_start", "prewarm"):
                self.first_value_s = ev[0]
        elif kind == RESPOND and ev[7] == "ok" and ev[9] in self.COALESCED:
            landed = self._written.get(ev[5])
            if landed is not None:
                self.delays.append(max(0.0, ev[0] - landed))

    def stats(self) -> dict[str, Any]:
        """``released_ms`` and ``first_value_ms`` for a summary."""
        first = self.first_value_s
        return {"released_ms": ms_stats(self.delays),
                "first_value_ms": None if first is None else round(first * 1000, 3)}


# ------------------------------------------------------------------------ the worker process
class Sender:
    """Batches a side's events (animated viewers only), sends them from a writer thread."""

    def __init__(self, end: WorkerEnd, dot_scale: int) -> None:
        self.end = end
        self.dot_scale = max(1, dot_scale)
        self.sent_bytes = 0
        self.run: Any = None                  # the RealRun, to cut it past the byte bound
        self.cut = False
        self.summaries: list[dict[str, Any] | None] | None = None
        self._batch: list[list[Any]] = [[], []]
        self._last_t = [0.0, 0.0]
        self._flushed = [time.monotonic(), time.monotonic()]
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def attach(self, run: Any) -> None:
        self.run = run

    def say(self, kind: str, payload: Any) -> None:
        if kind in ("event", "event_b"):
            self._event(0 if kind == "event" else 1, payload)
            return
        self.flush(0)
        self.flush(1)
        if kind == "started":
            self.put(("started", payload))
        elif kind == "waiting":
            self.put(("waiting",))
        elif kind == "simulating":
            self.put(("simulating",))
        elif kind == "notice":
            self.put(("notice", payload))
        elif kind == "summary":
            self.summaries = [payload, None]
        elif kind == "summary_b":
            self.summaries[1] = payload
        elif kind == "error":
            self.put(("error", payload["key"], payload["message"]))

    def finish(self) -> None:
        """The run is over: its end, its summaries (if any), then wait for the writer."""
        summaries = self.summaries
        if summaries is not None:
            truncated = any(s and s.get("truncated") for s in summaries) or self.cut
            self.put(("done", round(max(self._last_t), 6), summaries, truncated))
        self._queue.put(None)
        self._thread.join()

    def _event(self, side: int, ev: tuple) -> None:
        self._last_t[side] = ev[0]
        viewer = ev[3]
        if viewer is None or viewer % self.dot_scale == 0:
            self._batch[side].append(ev)
        if (len(self._batch[side]) >= BATCH_EVENTS
                or time.monotonic() - self._flushed[side] >= BATCH_S):
            self.flush(side)

    def flush(self, side: int) -> None:
        batch, self._batch[side] = self._batch[side], []
        self._flushed[side] = time.monotonic()
        if not batch:
            return
        blob = pickle.dumps(wire.encode(batch), protocol=pickle.HIGHEST_PROTOCOL)
        self.sent_bytes += len(blob)
        self.put(("events", side, batch[-1][0], blob))
        if self.sent_bytes > MAX_RECORDING_BYTES and self.run is not None and not self.cut:
            self.cut = True
            self.run.stop()                       # the real run is cut where it is

    def put(self, message: tuple) -> None:
        self._queue.put(message)

    def _write(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            try:
                self.end.send(message)
            except ChannelClosed:      # the web process went away: nobody to tell
                os.kill(os.getpid(), signal.SIGTERM)
                return


def _terminate(signum: int, frame_: Any) -> None:
    raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m webapp.real.worker FD (started by the web app)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    end = WorkerEnd(socket.socket(fileno=int(args[0])))
    try:
        message = end.receive(None)
    except ChannelClosed:
        return 1
    request = message[1] if isinstance(message, tuple) and len(message) == 2 \
        and message[0] == "job" else None
    if not isinstance(request, dict):
        end.send(("error", None, "bad request: expected ('job', {...})"))
        return 2
    limits.Priority()           # nicer than the web process, never demoted
    sender = Sender(end, int(request.get("dot_scale") or 1))
    try:
        status = serve(request, sender.say, float(request.get("wait_s") or 0.0),
                       on_run=sender.attach)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # cleaning up: let it finish
        sender.finish()
    return status


def spawn(request: dict[str, Any], env: dict[str, str] | None = None, kind: str = "job"
          ) -> tuple[subprocess.Popen, socket.socket]:
    """Start a worker process for ``request``, sent as its ``kind`` of job: "job" runs it (this
    module), "plan" plans it (planner.py). The process, and the caller's end of its socket
    pair."""
    module = "webapp.real.planner" if kind == "plan" else "webapp.real.worker"
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        proc = subprocess.Popen([sys.executable, "-m", module,
                                 str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                cwd=str(REPO), env=env, stdin=subprocess.DEVNULL)
    finally:
        theirs.close()
    mine.sendall(frame((kind, request)))
    return proc, mine


def end_process(proc: subprocess.Popen, grace_s: float = 5.0, finished: bool = False) -> None:
    """Reap a worker: one that ``finished`` is given ``grace_s`` to exit by itself (it may be
    stopping services it started); any other is asked to stop (SIGTERM: it cleans up). Past
    ``grace_s`` it is killed."""
    if not finished and proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stream(request: dict[str, Any], env: dict[str, str] | None = None
           ) -> Iterator[tuple[str, Any]]:
    """Run ``request`` in a worker process and yield its messages as ``(kind, payload)``:
    ``payload`` is the message's one value, a tuple of several, or None; ``"events"`` come as
    ``(side, [Event, ...])``. The process is ended (SIGTERM) if the caller stops early."""
    proc, mine = spawn(request, env)
    end = WorkerEnd(mine)
    finished = False
    try:
        while True:
            try:
                message = end.receive(None)
            except ChannelClosed:
                return
            kind = message[0]
            finished = kind in ("done", "error")
            if kind == "events":
                yield kind, (message[1], [Event(ev) for ev in pickle.loads(message[3])])
            else:
                rest = message[1:]
                yield kind, rest[0] if len(rest) == 1 else rest or None
    finally:
        end_process(proc, finished=finished)
        mine.close()


if __name__ == "__main__":
    sys.exit(main())
