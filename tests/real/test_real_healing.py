"""Services that heal (issue 17, finding 4): ``Services.start`` before each run brings back a
dead PostgreSQL or Redis -- reaped, whoever started it, its orphans gone -- and never replaces
a live one that is only slow to answer. A cluster of its own, beside the session's."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
import redis

from webapp.real.services import Services

from tests.reliability.conftest import settle

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2] / ".herdlab" / "test-healing"


@pytest.fixture
def owner() -> Iterator[Services]:
    svc = Services(ROOT)
    svc.start()
    yield svc
    svc.stop()


def state(pid: int) -> str | None:
    """The process's state letter ("Z": a zombie), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(") ")[2][:1]
    except OSError:
        return None


def pids(svc: Services) -> tuple[int, int]:
    """(postmaster, redis) as their pid files say."""
    return (int((svc.root / "pg" / "postmaster.pid").read_text().split()[0]),
            int((svc.root / "redis.pid").read_text().split()[0]))


def test_killed_services_are_reaped_and_started_again_by_another_object(owner):
    """As in the web process: one object started them (serve.py), another heals them before a
    run (the line's). The dead ones are the first one's children: zombies until reaped."""
    healer = Services(ROOT)
    endpoints = healer.start()
    assert not healer.owned
    pg, rd = pids(owner)
    os.kill(pg, signal.SIGKILL)
    os.kill(rd, signal.SIGKILL)
    assert settle(lambda: state(pg) == "Z" and state(rd) == "Z", 10)   # dead, not reaped
    assert healer.start() == endpoints
    assert state(pg) is None and state(rd) is None                  # reaped
    assert healer.owned and set(healer.pids) == set(pids(healer)) != {pg, rd}
    with psycopg.connect(endpoints.pg_conninfo()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert redis.Redis.from_url(endpoints.redis_url()).ping()
    healer.stop()


def test_a_cpu_bound_orphan_of_a_killed_postmaster_does_not_keep_it_down(owner):
    """A backend counting rows never looks for its postmaster: it outlived it and kept the old
    shared memory in use, so a new postmaster would refuse to start. It is killed first."""
    endpoints = owner.endpoints
    busy = psycopg.connect(endpoints.pg_conninfo())
    (backend,) = busy.execute("select pg_backend_pid()").fetchone()
    counting = threading.Thread(target=_count_for_ever, args=(busy,), daemon=True)
    counting.start()
    assert settle(lambda: state(backend) == "R", 10)
    postmaster = pids(owner)[0]
    os.kill(postmaster, signal.SIGKILL)
    time.sleep(0.5)
    assert state(backend) not in (None, "Z")      # the orphan goes on (R, S, or D: writing
    # the temporary file its generate_series fills)
    owner.start()
    assert state(backend) in (None, "Z") and pids(owner)[0] != postmaster   # (Z: killed,
    # left for an init that may never reap it: its parent, the postmaster, is gone)
    with psycopg.connect(endpoints.pg_conninfo()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    counting.join(5)


def test_a_live_service_slow_to_answer_is_waited_for_not_replaced(owner):
    """Stopped for a moment (as a herd at its socket can make it), Redis does not answer a
    PING: it is still the one, and gets its time; a second one on its socket would split the
    run's clients between two caches."""
    rd = pids(owner)[1]
    os.kill(rd, signal.SIGSTOP)
    threading.Timer(1.5, os.kill, (rd, signal.SIGCONT)).start()
    other = Services(ROOT)
    other.start()
    assert not other.owned and pids(owner)[1] == rd and state(rd) in ("S", "R")


def test_services_healed_from_a_runs_thread_outlive_the_thread(owner):
    """Under the threading async mode a run's task is a thread that ends with the run; services
    it restarts must not get their parent-death signal then (only when the process dies)."""
    owner.stop()
    healer = Services(ROOT)
    thread = threading.Thread(target=healer.start)
    thread.start()
    thread.join()
    time.sleep(0.5)                 # (a parent-death signal would have stopped them by now)
    assert len(healer.pids) == 2
    assert redis.Redis.from_url(healer.endpoints.redis_url()).ping()
    healer.stop()


def _count_for_ever(conn: psycopg.Connection) -> None:
    try:
        conn.execute("select count(*) from generate_series(1, 10000000000)")
    except psycopg.Error:
        pass                        # (its backend was killed)
