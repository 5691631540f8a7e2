"""The worker pool hands out only spares that are alive, and reaps the dead at once (issue 17).

A spare is pinged before it is handed out; one that does not answer (stopped here with SIGSTOP)
is never handed out, and is killed, reaped and replaced. A spare that died between runs is
reaped (no zombie) and replaced by ``maintain``, which the run slots call every quarter second.
"""
from __future__ import annotations

import os
import pickle
import signal
import time
from typing import Callable

import pytest

from webapp.engine import parse_scenario
from webapp.worker.pool import Worker, WorkerPool


def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.01)


def gone(pid: int) -> bool:
    """The process is reaped (a zombie still has its /proc entry)."""
    return not os.path.exists(f"/proc/{pid}")


@pytest.fixture
def pool():
    pool = WorkerPool(spares=2)
    pool.release(pool.acquire(), kill=True)   # the first run starts the spares
    until(lambda: pool.maintain() or (len(pool.idle) == 2
                                      and all(w.said_idle for w in pool.idle)))
    yield pool
    pool.close()


def summary(worker: Worker) -> dict:
    worker.start({"kind": "summary", "scenarios": [parse_scenario({"clients": {"count": 20}})],
                  "max_steps": 10**6, "cpu_s": 10})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for body in worker.channel.receive():
            message = pickle.loads(body)
            if message[0] == "summary":
                return message[1]
        time.sleep(0.005)
    raise AssertionError("no summary")


def test_a_stopped_spare_is_never_handed_out_and_is_replaced(pool):
    stopped = [w.pid for w in pool.idle]
    try:
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        worker = pool.acquire()
        assert worker.pid not in stopped
        assert summary(worker)["requests"] == 20
        pool.release(worker)
        until(lambda: pool.maintain() or all(gone(pid) for pid in stopped))
        assert pool.replaced == 2
        until(lambda: pool.maintain() or len(pool.idle) >= 2)
        assert not {w.pid for w in pool.idle} & set(stopped)
    finally:
        for pid in stopped:
            if not gone(pid):
                os.kill(pid, signal.SIGCONT)


def test_a_warm_spare_that_answers_is_handed_out(pool):
    warm = {w.pid for w in pool.idle}
    worker = pool.acquire()
    assert worker.pid in warm and pool.replaced == 0
    assert summary(worker)["requests"] == 20
    pool.release(worker)


def test_a_dead_spare_is_reaped_and_replaced_between_runs(pool):
    dead = pool.idle[0].pid
    os.kill(dead, signal.SIGKILL)
    until(lambda: pool.maintain() or gone(dead), timeout=5)
    until(lambda: pool.maintain() or len(pool.idle) == 2)
    assert dead not in {w.pid for w in pool.idle}
