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
fed what the real run measured (``engine.trace.Trace``): each first attempt's real arrival
time, viewer and key, and each query's real service time (``db_started`` to its end), in the
order the queries got a connection.
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
from typing import Any, Callable, Iterator

from webapp.engine.events import (ARRIVE, CACHE_SET, DB_CANCELLED, DB_FAILED, DB_FINISHED,
                                  DB_QUEUED, DB_REJECTED, DB_STARTED, FETCH_START, RESPOND,
                                  Event)
from webapp.engine.scenario import Scenario, ScenarioError, parse_scenario
from webapp.real.services import Endpoints, ServiceFailed, Services, ServicesMissing
from webapp.real.settings import check, parse_settings
from webapp.real.stats import ms_stats
from webapp.transport import wire
from webapp.worker import limits
from webapp.worker.channel import ChannelClosed, WorkerEnd, frame

REPO = Path(__file__).resolve().parents[2]
BATCH_S = 0.02                # a batch of events at least this often while they come
BATCH_EVENTS = 2_000
MAX_RECORDING_BYTES = 24 << 20   # what one run may send (both sides); the web keeps it
SIDE_B_MAX_STEPS = 5_000_000     # the simulation beside a run of at most 5,000 requests
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
    telling ``say(kind, payload)``: ``waiting``, ``started``, ``event`` (an Event), ``summary``,
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
                          pickle.loads(planned) if planned else None)
            on_run(run)
            say("started", {"requests": len(run.plan.arrivals), "processes": run.processes,
                            "duration_s": scenario.duration_s})
            measured, released = Measured(), Released()
            for ev in run.events():
                measured.observe(ev)
                released.observe(ev)
                say("event", ev)
            say("summary", {**run.summary(), **released.stats(),
                            "dispatch_ms": ms_stats(measured.dispatch)})
        if beside:
            say("simulating", None)
            released = Released()
            for ev in measured.simulate(scenario):
                released.observe(ev)
                say("event_b", ev)
            say("summary_b", measured.summary and {**measured.summary, **released.stats()})
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
    """What the simulation beside a real run is fed: real arrivals and real service times."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int, str]] = []
        self._started: dict[int, float] = {}       # query -> when it got its connection
        self._order: list[int] = []                # queries in the order they started
        self._took: dict[int, float] = {}
        self._sent: dict[int, float] = {}          # query -> when a request decided to fetch
        self.dispatch: list[float] = []            # ... until its app server sent it
        self.summary: dict[str, Any] | None = None

    def observe(self, ev: tuple) -> None:
        kind = ev[1]
        if kind == ARRIVE and ev[6] == 0:
            self.arrivals.append((ev[0], ev[3], ev[5]))
        elif kind == FETCH_START:
            self._sent[ev[8]] = ev[0]
        elif kind in QUERY_KINDS:
            sent = self._sent.pop(ev[6], None)
            if sent is not None:       # its first event: the app server got round to it
                self.dispatch.append(ev[0] - sent)
            if kind == DB_STARTED:
                self._started[ev[6]] = ev[0]
                self._order.append(ev[6])
            elif kind in (DB_FINISHED, DB_FAILED) and ev[6] in self._started:
                self._took[ev[6]] = ev[0] - self._started[ev[6]]

    def service_s(self) -> list[float]:
        """Each started query's real time, in start order (one cut short: the planned one is
        drawn by the simulation past the list's end, so the list stops before it)."""
        out = []
        for query in self._order:
            took = self._took.get(query)
            if took is None or took <= 0:
                break
            out.append(took)
        return out

    def simulate(self, scenario: Scenario) -> Iterator[Event]:
        """Every event of the simulation (the sender keeps the animated ones)."""
        from webapp.engine import Simulation
        from webapp.engine.trace import Trace

        if not self.arrivals:
            self.summary = None
            return
        sim = Simulation(scenario, max_steps=SIDE_B_MAX_STEPS,
                         trace=Trace(arrivals=self.arrivals, service_s=self.service_s()))
        yield from sim.events()
        self.summary = sim.summary()


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
