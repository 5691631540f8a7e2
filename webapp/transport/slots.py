"""The server's run slots and its workers: one object per app, in ``app.extensions``.

A slot is a run in progress (playing, paused, or being sought): it holds at most one worker
process and a bounded window of computed events. ``max_runs`` bounds both, for the whole server:
lab runs, classroom runs and ``POST /api/run`` alike. Slots are taken by add-then-check, so
concurrent starts can be refused, never exceed the limit; paused runs give theirs up first.

The slots also keep the workers' house (``MAINTAIN_S``): from the first run on, a background task
reaps dead workers at once, takes released ones back, and starts replacements for lost spares.

This module sits below the runner: it knows a run only as a ``SlotRun`` (``runner.Run`` is one).
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from itertools import islice
from typing import Any, Protocol

from webapp.extensions import socketio
from webapp.transport.bucket import TokenBucket
from webapp.worker.pool import WorkerPool

RUNS_KEY = "herdlab.runs"
MAINTAIN_S = 0.25    # how often the workers' house is kept
RETURN_POLL_S = 0.05 # ... while a released worker is on its way back
INPUT_RATE = 0.5     # interventions per second per connection, sustained (each one is a re-run)
INPUT_BURST = 10.0
# Ended /lab runs kept so a page can replay them (seek). A kept run is its scenario, its inputs and
# its pacer's position, never a simulation (a seek re-runs it in a worker): at most the 16 KB start
# message it came from plus 100 inputs, a few KB in practice. So these counts bound the bytes: per
# connection 8 runs, per server 4,096 runs (about 20 MB typical, well under 100 MB at worst).
KEPT_PER_CONNECTION = 8
KEPT_PER_SERVER = 4_096
BUDGETS_SWEEP_AT = 256  # intervention budgets kept before the full ones are forgotten


class SlotRun(Protocol):
    """What the slots need of a run."""

    run_id: str
    paused_since: float | None   # wall clock of its pause; None while it plays

    @property
    def holds_slot(self) -> bool: ...

    @property
    def running(self) -> bool: ...

    def yield_slot(self) -> None: ...

    def stop(self) -> None: ...


class RunSlots:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.max_runs = settings.max_runs_per_server
        self.pool = WorkerPool(spares=settings.worker_spares,
                               sleep=lambda seconds: socketio.sleep(seconds))
        self._housekeeping = False
        self.closed = False
        self.reserved: set[object] = set()
        self.tasks: set[SlotRun] = set()
        # /lab connections: {sid: {run_id: run}}, newest last (kept for replay by seek).
        self.connections: dict[str, OrderedDict[str, SlotRun]] = {}
        self._kept: OrderedDict[str, str] = OrderedDict()    # run_id -> sid, every connection's, oldest first
        # Interventions per connection (/lab, and a room's instructor), forgotten on disconnect.
        self._input_budgets: dict[str, TokenBucket] = {}
        self._sweep_budgets_at = BUDGETS_SWEEP_AT
        # A connection's runs and budget are kept and let go under one lock: in threading mode its
        # start and its disconnect are handled by two threads at once (see ``keep``).
        self._connections_lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Any) -> "RunSlots":
        return cls(settings)

    def reserve(self, holder: object) -> bool:
        """Take a slot for ``holder`` (a run, or a summary request); False if none is free.

        When the server is full, the run paused the longest gives its slot up for the newcomer
        (it is told ``idle``, as after ``HERDLAB_RUN_IDLE_S``, and a seek runs it again): a
        paused run is cheap to revive, a refused user is not.
        """
        self._keep_house()
        self.reserved.add(holder)
        if len(self.reserved) > self.max_runs:
            paused = [run for run in list(self.tasks) if run.holds_slot and run.paused_since]
            if paused:
                min(paused, key=lambda run: run.paused_since).yield_slot()
                return True
            self.reserved.discard(holder)
            return False
        return True

    def release(self, holder: object) -> None:
        self.reserved.discard(holder)

    def holds(self, holder: object) -> bool:
        return holder in self.reserved

    def admit_input(self, sid: str) -> bool:
        """Spend one of connection ``sid``'s interventions; False when it is over its budget."""
        now = time.monotonic()
        with self._connections_lock:
            bucket = self._input_budgets.get(sid)
            if bucket is None:
                if len(self._input_budgets) >= self._sweep_budgets_at:
                    self._sweep_budgets(now)
                bucket = self._input_budgets[sid] = TokenBucket(INPUT_RATE, INPUT_BURST, now)
            return bucket.take(now)

    def _sweep_budgets(self, now: float) -> None:
        """Forget the budgets that have refilled (a full one is the same as none). A control
        handled after its connection's disconnect makes a budget that ``forget`` never sees;
        this bounds them: the table holds at most ``BUDGETS_SWEEP_AT`` budgets, or twice as many
        as were still refilling (spent in the last 20 s) at the last sweep. The next sweep comes
        only after as many new budgets as the table then holds, so sweeping costs a constant per
        budget made."""
        self._input_budgets = {sid: b for sid, b in self._input_budgets.items() if not b.full(now)}
        self._sweep_budgets_at = max(BUDGETS_SWEEP_AT, 2 * len(self._input_budgets))

    def keep(self, sid: str, run: SlotRun) -> bool:
        """``run`` is connection ``sid``'s newest. Past ``KEPT_PER_CONNECTION`` for that connection,
        or ``KEPT_PER_SERVER`` for all of them, the oldest runs that have ended are let go (a run
        playing, paused or holding a slot never is; there are at most ``max_runs`` of those).

        False if the connection is gone: a client that sends ``start`` and closes at once may
        have its disconnect handled before its start, and that run, kept, would play to nobody
        with its slot and its worker until it ended (a reliability test saw one still computing
        30 s later). Once kept, a disconnect finds the run and stops it, even before it began.
        """
        with self._connections_lock:
            runs = self.connections.get(sid)
            if runs is None:
                return False
            self._keep(sid, runs, run)
            return True

    def _keep(self, sid: str, runs: OrderedDict[str, SlotRun], run: SlotRun) -> None:
        runs[run.run_id] = run
        runs.move_to_end(run.run_id)
        self._kept[run.run_id] = sid
        self._kept.move_to_end(run.run_id)
        while len(runs) > KEPT_PER_CONNECTION:
            oldest = next((r for r in runs.values() if _ended(r)), None)
            if oldest is None:
                break
            self.drop(sid, oldest.run_id)
        excess = len(self._kept) - KEPT_PER_SERVER
        if excess > 0:
            # Oldest first; at most max_runs of them can still be playing or paused.
            for run_id, owner in list(islice(self._kept.items(), excess + self.max_runs)):
                if excess == 0:
                    break
                if _ended(self.connections[owner][run_id]):
                    self.drop(owner, run_id)
                    excess -= 1

    def drop(self, sid: str, run_id: str) -> None:
        """Connection ``sid`` no longer keeps ``run_id`` (restarted, or let go)."""
        with self._connections_lock:
            self.connections.get(sid, {}).pop(run_id, None)
            self._kept.pop(run_id, None)

    def connect(self, sid: str) -> None:
        """Connection ``sid`` may keep runs from now until it is gone."""
        with self._connections_lock:
            self.connections[sid] = OrderedDict()

    def disconnect(self, sid: str) -> list[SlotRun]:
        """Connection ``sid`` is gone: its runs (to stop) and its budget go."""
        with self._connections_lock:
            runs = self.connections.pop(sid, {})
            for run_id in runs:
                self._kept.pop(run_id, None)
        self.forget(sid)
        return list(runs.values())

    def kept(self) -> int:
        """Runs kept for all connections together."""
        return len(self._kept)

    def forget(self, sid: str) -> None:
        """Connection ``sid`` is gone: its budget goes too."""
        with self._connections_lock:
            self._input_budgets.pop(sid, None)

    def live_tasks(self) -> int:
        """Run tasks alive in this process (tests assert this drops to 0)."""
        return len(self.tasks)

    def running_run_ids(self) -> set[str]:
        return {run.run_id for run in list(self.tasks)}

    def _keep_house(self) -> None:
        """Start the workers' housekeeping (once; it ends with these slots)."""
        if self._housekeeping:
            return
        self._housekeeping = True
        socketio.start_background_task(_housekeep, weakref.ref(self))

    def close(self) -> None:
        """Stop every run and worker (tests; the server's exit closes them anyway)."""
        self.closed = True
        for run in list(self.tasks):
            run.stop()
        self.pool.close()


def _housekeep(ref: "weakref.ref[RunSlots]") -> None:
    """Keep the pool's house until its slots are closed or gone (holding them only while it
    works, so slots an app dropped unclosed are freed, and their workers with them)."""
    while True:
        slots = ref()
        if slots is None or slots.closed:
            return
        slots.pool.maintain()
        pause = RETURN_POLL_S if slots.pool.returning else MAINTAIN_S
        del slots
        socketio.sleep(pause)


def _ended(run: SlotRun) -> bool:
    return not run.holds_slot and not run.running
