"""A worker's priority and limits, applied by the worker to itself.

- Priority: a worker starts ``NICE_START`` steps nicer than the web process, so the web process
  (pages, ``/healthz``, pacing every other run) always wins the CPU. A worker that keeps computing
  is demoted further (``DEMOTE``: a multi-level feedback queue in three lines): short runs, which is
  what honest users start, finish quickly even while a heavy run saturates the machine.
- CPU: a soft ``RLIMIT_CPU`` a little above the job's budget; the job checks its own budget first
  and stops with a clear message; the kernel's SIGXCPU (turned into ``BudgetExceeded``) is the
  backstop for a slice that never returns to the check.
- Memory: a soft ``RLIMIT_AS``; an allocation past it raises ``MemoryError`` inside the run,
  which the worker reports as a clear error.

Soft limits only, so that a worker which did a small job quickly (never demoted, still small) can
take the next job instead of exiting: that saves a process start per small run.

The operator's limits come first: a worker inherits the web process's (``ulimit -v``, a
container's, systemd's ``LimitAS=``/``LimitCPU=``). It never raises a hard limit (the kernel
refuses: "not allowed to raise maximum limit", and every run failed under ``ulimit -v``), and
each soft limit it sets is the lower of the job's and the inherited soft one; between jobs it
goes back to the inherited ones, not to "unlimited".
"""
from __future__ import annotations

import os
import resource
import signal
import time
from typing import Any

NICE_START = 2
DEMOTE = ((0.25, 12), (1.0, 19))   # (CPU seconds used, nice steps above the web process)


class BudgetExceeded(Exception):
    """The run used its CPU budget; the message says so in words for the page."""


# The limits this process was started with (the operator's), read once at import: a worker
# imports this module before its first job, while its limits are still the inherited ones.
INHERITED = {which: resource.getrlimit(which) for which in (resource.RLIMIT_CPU,
                                                             resource.RLIMIT_AS)}


def apply(cpu_s: float, memory_mb: int) -> float:
    """Limits for the next job; returns the CPU time (``process_time``) at which it must stop."""
    deadline = time.process_time() + cpu_s
    _lower(resource.RLIMIT_CPU, int(deadline) + 2)
    if memory_mb > 0:
        _lower(resource.RLIMIT_AS, memory_mb << 20)
    signal.signal(signal.SIGXCPU, _over_cpu)
    return deadline


def lift() -> None:
    """Between jobs (a worker waiting for its next one) only the operator's limits hold."""
    for which, limits in INHERITED.items():
        resource.setrlimit(which, limits)


def lower(value: int, limit: int) -> int:
    """The lower of two limits, ``RLIM_INFINITY`` being the highest."""
    if limit == resource.RLIM_INFINITY:
        return value
    return limit if value == resource.RLIM_INFINITY else min(value, limit)


def _lower(which: int, value: int) -> None:
    """A soft limit of ``value`` or the inherited soft limit, whichever is lower; the hard
    limit stays the inherited one."""
    soft, hard = INHERITED[which]
    resource.setrlimit(which, (lower(value, soft), hard))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / (1 << 20)


def _over_cpu(signum: int, frame: Any) -> None:
    raise BudgetExceeded("The run used all the computing time this server allows per run and "
                         "was stopped.")


class Priority:
    """Lowers the worker's priority as it uses CPU (never raises it: that needs privileges)."""

    def __init__(self) -> None:
        _renice(NICE_START)
        self.level = NICE_START
        self._next = 0

    def check(self) -> None:
        if self._next < len(DEMOTE) and time.process_time() >= DEMOTE[self._next][0]:
            target = DEMOTE[self._next][1]
            _renice(target - self.level)
            self.level = target
            self._next += 1


def _renice(steps: int) -> None:
    try:
        os.nice(max(0, steps))
    except OSError:
        pass
