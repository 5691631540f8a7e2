"""The real-run worker: one real run in a process of its own, streamed over a pipe.

The web process (eventlet) must never run real load itself: a herd of greenlets beside its
frame loop makes frames late, and gevent and eventlet cannot share a process. So it starts

    python -m webapp.real.worker

writes one JSON request on its stdin and reads JSON lines from its stdout:

    request:  {"preset": NAME or null, "scenario": {...nested overrides...}, "real": {...}}
    lines:    ["started", {"requests": N, "processes": P, "duration_s": D}]
              ["events", [[t, kind, req, viewer, server, key, ...fields], ...]]
                                          (at most 200 a line, a line at least every ~20 ms
                                          while events come; all in time order)
              ["summary", {...}]          last line of a run that ended
              ["error", {"key": dotted key or null, "message": text}]     instead of summary

The worker starts the private services if they are not running (or attaches to them), and
holds the datastore's run lock for the whole run: one real run at a time per datastore; a
second one waits (``--wait`` seconds, default 0: refuse at once with an error).

``stream(request)`` is the client side for a blocking caller (the CLI, tests, a thread); the
server's pacer can wrap the same lines in its own event source.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from webapp.engine.events import Event
from webapp.engine.scenario import ScenarioError, parse_scenario
from webapp.real.services import Endpoints, ServiceFailed, Services, ServicesMissing
from webapp.real.settings import parse_settings

REPO = Path(__file__).resolve().parents[2]
MAX_REQUEST_BYTES = 100_000
BATCH_S = 0.02
BATCH_EVENTS = 200            # a line the reader decodes in a millisecond or two


class Busy(RuntimeError):
    """Another real run holds the datastore."""


class RunLock:
    """One real run at a time per datastore: an exclusive ``flock`` on a file beside the
    cluster. The kernel drops it when the holder exits, however it exits."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.path = Path(endpoints.pg_socket_dir).parent / "run.lock"
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
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
          services: Services | None = None) -> int:
    """Run one real experiment, telling ``say(kind, payload)`` each line (events as Event
    tuples); returns the exit status."""
    import psycopg   # the Postgres and Redis clients load only for a run
    import redis

    from webapp.real.fleet import RealRun, RealRunError, check

    try:
        if not isinstance(request, dict):
            raise ScenarioError("", "a JSON object with preset, scenario and real",
                                "must be an object")
        scenario = parse_scenario(request.get("scenario") or {}, preset=request.get("preset"))
        settings = parse_settings(request.get("real") or {})
        check(scenario, settings)                 # refuse before starting anything
        services = services or Services()
        endpoints = services.start()
        with RunLock(endpoints) as lock:
            lock.acquire(wait_s)
            run = RealRun(scenario, settings, endpoints)
            say("started", {"requests": len(run.plan.arrivals), "processes": run.processes,
                            "duration_s": scenario.duration_s})
            for ev in run.events():
                say("event", ev)
            say("summary", run.summary())
        return 0
    except ScenarioError as exc:
        say("error", {"key": exc.key, "message": str(exc)})
        return 2
    except (ServicesMissing, ServiceFailed, Busy, RealRunError, psycopg.Error,
            redis.RedisError) as exc:
        say("error", {"key": None, "message": str(exc)})
        return 1


def stream(request: dict[str, Any], env: dict[str, str] | None = None
           ) -> Iterator[tuple[str, Any]]:
    """Start a worker process for ``request`` and yield its lines as ``(kind, payload)``;
    ``"events"`` come as lists of ``Event`` tuples. The process is ended if the caller stops
    early."""
    proc = subprocess.Popen([sys.executable, "-m", "webapp.real.worker"], cwd=str(REPO),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
        for line in proc.stdout:
            kind, payload = json.loads(line)
            yield kind, [Event(ev) for ev in payload] if kind == "events" else payload
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.real.worker",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=0.0, metavar="S",
                        help="wait this long for another real run to end")
    args = parser.parse_args(argv)
    text = sys.stdin.read(MAX_REQUEST_BYTES + 1)
    try:
        if len(text) > MAX_REQUEST_BYTES:
            raise ValueError(f"the request is over {MAX_REQUEST_BYTES} bytes")
        request = json.loads(text)
    except ValueError as exc:
        print(json.dumps(["error", {"key": None, "message": f"bad request: {exc}"}]))
        return 2
    out = sys.stdout
    batch: list[list] = []
    sent = [time.monotonic()]

    def write(kind: str, payload: Any) -> None:
        out.write(json.dumps([kind, payload], separators=(",", ":")) + "\n")

    def say(kind: str, payload: Any) -> None:
        """Events go out in batches (a line per ``BATCH_S`` or ``BATCH_EVENTS``): the reader,
        an eventlet web process, decodes a line at a time without yielding; thousands of tiny
        lines cost it frames, and so would one huge line."""
        if kind == "event":
            batch.append(list(payload))
            if len(batch) < BATCH_EVENTS and time.monotonic() - sent[0] < BATCH_S:
                return
        if batch:
            write("events", batch)
            batch.clear()
            out.flush()
            sent[0] = time.monotonic()
        if kind != "event":
            write(kind, payload)

    status = serve(request, say, args.wait)
    out.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
