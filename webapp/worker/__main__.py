"""``python -m webapp.worker FD``: one worker process, started by ``pool.WorkerPool``.

It imports the engine, then waits on its end of the socket pair (file descriptor FD) for a
``("job", spec)``; a spare worker waits here until a run needs it, answering the pool's
``("ping",)`` with ``("pong",)``. It applies the job's limits and does the job. Then, if the job
was small (the worker was never demoted and is still small), it answers the pool's ``("stop",)``
with ``("idle",)`` and waits for another job; otherwise it exits, so every byte a big run
allocated goes back to the system. If the web process goes away, the socket closes and the
worker exits at its next look at the socket.
"""
from __future__ import annotations

import socket
import sys
import traceback

from webapp.worker import limits   # (the standard library only)

# Nicer than the web process before the engine is imported: starting a worker (most of its ~65 ms
# of CPU is importing) competes with pages and pacing as little as its runs do.
PRIORITY = limits.Priority()

from webapp.worker import job  # noqa: E402
from webapp.worker.channel import ChannelClosed, WorkerEnd  # noqa: E402

REUSE_MAX_RSS_MB = 150
RESERVE_BYTES = 4 << 20


def main(argv: list[str]) -> int:
    end = WorkerEnd(socket.socket(fileno=int(argv[1])))
    try:
        _serve(end)
    except ChannelClosed:   # the web process went away: nothing left to do
        pass
    return 0


def _serve(end: WorkerEnd) -> None:
    priority = PRIORITY
    end.send(("idle",))   # imported and ready: the pool prefers warm workers
    while True:
        message = end.receive(None)
        if message == ("stop",):      # released after a job that ended by itself
            end.send(("idle",))
            continue
        if message == ("ping",):      # the pool checks a spare is alive before handing it out
            end.send(("pong",))
            continue
        if not (isinstance(message, tuple) and message[0] == "job"):
            continue   # a late command for a job that is over
        outcome = _do(message[1], end, priority)
        limits.lift()
        if outcome is None or priority.level > limits.NICE_START \
                or limits.rss_mb() > REUSE_MAX_RSS_MB:
            return
        if outcome == "stopped":      # the job ended on the pool's "stop": say we are back
            end.send(("idle",))


def _do(spec: dict, end: WorkerEnd, priority: limits.Priority) -> str | None:
    """Run one job: "stopped" (told to), "finished" (by itself), or None (do not reuse me)."""
    deadline = limits.apply(float(spec["cpu_s"]), int(spec.get("memory_mb", 0)))
    reserve = bytearray(RESERVE_BYTES)   # freed on MemoryError: room to say what happened
    try:
        if spec["kind"] == "summary":
            end.send(("summary", job.summarise(spec, deadline, priority)))
            return "finished"
        if spec["kind"] == "peek":
            job.peek_job(spec, end, deadline, priority)
            return "stopped"
        job.StreamJob(spec, end, deadline, priority).run()
        return "stopped"
    except ChannelClosed:
        return None
    except limits.BudgetExceeded as exc:
        _report(end, str(exc))
    except MemoryError:
        del reserve
        _report(end, "The run needed more memory than this server allows per run and was "
                     "stopped. Fewer viewers or a shorter duration make it smaller.")
    except Exception:
        traceback.print_exc()
        _report(end, "The run failed unexpectedly and was stopped.")
    return None


def _report(end: WorkerEnd, message: str) -> None:
    try:
        end.send(("error", message))
    except ChannelClosed:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
