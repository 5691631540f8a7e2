"""``python -m webapp.worker FD``: one worker process, started by ``pool.WorkerPool``.

It imports the engine, then waits on its end of the socket pair (file descriptor FD) for a
``("job", spec)``; a spare worker waits here until a run needs it. It applies the job's limits and
does the job. Then, if the job was small (the worker was never demoted and is still small), it
says ``("idle",)`` and waits for another job; otherwise it exits, so every byte a big run
allocated goes back to the system. If the web process goes away, the socket closes and the worker
exits at its next look at the socket.
"""
from __future__ import annotations

import socket
import sys
import traceback

from webapp.worker import job, limits
from webapp.worker.channel import ChannelClosed, WorkerEnd

REUSE_MAX_RSS_MB = 150


def main(argv: list[str]) -> int:
    end = WorkerEnd(socket.socket(fileno=int(argv[1])))
    priority = limits.Priority()
    try:
        end.send(("idle",))   # imported and ready: the pool prefers warm workers
    except OSError:
        return 0
    while True:
        try:
            message = end.receive(None)
        except ChannelClosed:
            return 0
        if not (isinstance(message, tuple) and message[0] == "job"):
            continue   # a late command for a job that is over
        if not _do(message[1], end, priority):
            return 0
        limits.lift()
        if priority.level > limits.NICE_START or limits.rss_mb() > REUSE_MAX_RSS_MB:
            return 0
        try:
            end.send(("idle",))
        except OSError:
            return 0


def _do(spec: dict, end: WorkerEnd, priority: limits.Priority) -> bool:
    """Run one job; False when this worker should not take another one."""
    deadline = limits.apply(float(spec["cpu_s"]), int(spec.get("memory_mb", 0)))
    try:
        if spec["kind"] == "summary":
            end.send(("summary", job.summarise(spec, deadline, priority)))
        else:
            job.StreamJob(spec, end, deadline, priority).run()
        return True
    except ChannelClosed:
        return False
    except limits.BudgetExceeded as exc:
        _report(end, str(exc))
    except MemoryError:
        _report(end, "The run needed more memory than this server allows per run and was "
                     "stopped. Fewer viewers or a shorter duration make it smaller.")
    except Exception:
        traceback.print_exc()
        _report(end, "The run failed unexpectedly and was stopped.")
    return False


def _report(end: WorkerEnd, message: str) -> None:
    try:
        end.send(("error", message))
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
