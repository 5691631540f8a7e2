"""A live run: one or two simulations streamed in lockstep, paced to the wall clock.

Why it is shaped like this:

- The engine is a generator that computes while we stream; a run never holds more than the events
  of the frames not yet sent, so a million-viewer run costs no more memory than a small one.
- Virtual time is tied to the wall clock by an *anchor* (``t = anchor_t + (wall - anchor_wall) *
  speed``) re-set on every pause, speed change and seek; frames go out on a fixed schedule of at
  most ``FRAME_HZ`` per second, so speed and frame rate stay separate knobs.
- Work per tick is bounded: events are pulled in slices with a cooperative yield between them, and
  past ``MAX_TICK_WORK_S`` a frame goes out with what is ready. A huge run makes its own frames
  late (``late_ms`` says by how much) instead of stalling every other user of the server.
- Only the run's own task touches its state: controls arrive on a bounded queue and are applied
  between ticks; acks arrive on another. No locks, and no race between a click and a frame.
- The target is one sid (frames are acknowledged: flow control) or a room (the classroom streams
  one run to many; a room cannot acknowledge, so it gets every frame, bounded per frame).
"""
from __future__ import annotations

import logging
import math
import secrets
import time
from collections import deque
from typing import Any, Callable, Iterator

from webapp.engine import Scenario, Simulation
from webapp.extensions import socketio
from webapp.transport import wire

log = logging.getLogger(__name__)

NAMESPACE = "/lab"
FRAME_HZ = 30
FRAME_INTERVAL = 1.0 / FRAME_HZ
MAX_UNACKED = 3            # frames in flight per client before we start merging
MAX_FRAME_EVENTS = 20_000  # per-request events per side in one (merged) frame; the rest are dropped
SLICE_EVENTS = 2_000       # events pulled between cooperative yields
# Past this much engine work in one tick a frame goes out with what is ready. Well under a frame
# interval, so that encoding and sending fit in the same tick: a run the server cannot keep up with
# still gets ~30 small frames a second (late, but none cut by the per-frame cap) rather than a few
# huge ones whose oldest events are dropped.
MAX_TICK_WORK_S = 0.6 * FRAME_INTERVAL
MAX_PENDING_CONTROLS = 16

PLAYING, PAUSED, FINISHED, STOPPED = "playing", "paused", "finished", "stopped"

SimFactory = Callable[[Scenario], Any]

# Runs holding a slot (for the limits) and runs whose task is alive (for tests and diagnostics).
# Set add/discard/len are atomic, so the limits are enforced lock-free by add-then-check.
_RESERVED: set["Run"] = set()
_TASKS: set["Run"] = set()


def live_tasks() -> int:
    """How many run tasks are running in this process (tests assert this drops to 0)."""
    return len(_TASKS)


def running_run_ids() -> set[str]:
    """The ids of the runs whose task is alive (tests check their own runs ended)."""
    return {run.run_id for run in list(_TASKS)}


def reserved_runs() -> int:
    """How many runs hold a slot against ``max_runs_per_server``."""
    return len(_RESERVED)


def _new_simulation(scenario: Scenario) -> Simulation:
    return Simulation(scenario, record_requests=True)


class Side:
    """One simulation's event stream with a one-event lookahead and the events not yet sent.

    Per-request events are kept only for sampled viewers (``viewer % dot_scale == 0``) and for
    injected ones (``viewer >= clients.count``: a classroom tap must reach the student who made it,
    whatever the sampling); events that belong to no viewer (samples, datastore state, chunks) are
    always kept, so counters and charts stay exact whatever the sampling or the dropping.
    """

    def __init__(self, scenario: Scenario, dot_scale: int, factory: SimFactory) -> None:
        self.scenario = scenario
        self.dot_scale = dot_scale
        self.injected_from = scenario.clients.count   # viewer ids from here on are injected requests
        self._factory = factory
        self.rewind()

    def rewind(self) -> None:
        """Start again from t=0 with a fresh (deterministic, so identical) simulation."""
        self.sim = self._factory(self.scenario)
        self._events: Iterator[Any] = self.sim.events()
        self._next: Any = None
        self.exhausted = False
        self.last_t = 0.0
        self.pending: list[Any] = []
        self.requests = 0   # per-request events in ``pending``

    def pull(self, until_t: float, limit: int, keep: bool = True) -> bool:
        """Pull at most ``limit`` events with ``t <= until_t``; True when none such are left."""
        nxt, events, pending, k = self._next, self._events, self.pending, self.dot_scale
        requests = self.requests
        injected_from = self.injected_from
        last_t = self.last_t
        n = 0
        # Hot loop (every event of the run passes here): events are tuples, so index them
        # (0: t, 3: viewer) instead of going through the named properties.
        try:
            while n < limit:
                if nxt is None:
                    nxt = next(events, None)
                    if nxt is None:
                        self.exhausted = True
                        return True
                t = nxt[0]
                if t > until_t:
                    return True
                if keep:
                    viewer = nxt[3]
                    if viewer is None:
                        pending.append(nxt)
                    elif viewer % k == 0 or viewer >= injected_from:
                        pending.append(nxt)
                        requests += 1
                last_t = t
                nxt = None
                n += 1
            return False
        finally:
            self.last_t = last_t
            self._next, self.requests = nxt, requests

    def trim(self, cap: int) -> int:
        """Drop the oldest per-request events beyond ``cap`` (never system events); return count."""
        excess = self.requests - cap
        if excess <= 0:
            return 0
        kept = []
        skip = excess
        for ev in self.pending:
            if skip and ev.viewer is not None:
                skip -= 1
            else:
                kept.append(ev)
        self.pending, self.requests = kept, cap
        return excess

    def take(self) -> list[Any]:
        """The pending events in the wire format (``wire.encode``), emptying the buffer."""
        out = wire.encode(self.pending)
        self.pending, self.requests = [], 0
        return out


class Run:
    """One streamed experiment (two in lockstep in compare mode) for one sid or one room."""

    def __init__(self, *, target: str, scenario: Scenario, compare: Scenario | None,
                 speed: float, animate_limit: int, ack: bool = True,
                 factory: SimFactory = _new_simulation) -> None:
        self.run_id = secrets.token_urlsafe(9)
        self.target = target
        self.ack = ack
        self.scenario = scenario
        self.compare = compare
        self.speed = speed
        self.animate_limit = animate_limit
        self.factory = factory
        viewers = max(s.clients.count for s in (scenario, compare) if s is not None)
        self.viewers = viewers
        self.dot_scale = max(1, math.ceil(viewers / animate_limit))
        self.status = PLAYING
        self.t = 0.0
        self._sides: list[Side] = []
        self._controls: deque[tuple[str, float | None]] = deque()
        self._acks: deque[None] = deque()
        self._stop = False
        self._seq = 0
        self._unacked = 0
        self._merged = 0
        self._dropped = 0
        self._anchor_wall = self._anchor_t = self._next_tick = 0.0

    # ----- called from the namespace (any thread or greenlet) -----

    @property
    def duration_s(self) -> float:
        return self.scenario.duration_s

    @property
    def running(self) -> bool:
        return self in _TASKS

    @property
    def holds_slot(self) -> bool:
        return self in _RESERVED

    def started_payload(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "scenario": self.scenario.to_dict(),
            "compare": self.compare.to_dict() if self.compare else None,
            "speed": self.speed,
            "viewers": self.viewers,
            "duration_s": self.duration_s,
            "dot_scale": self.dot_scale,
            "animated_viewers": math.ceil(self.viewers / self.dot_scale),
            "animate_limit": self.animate_limit,
            "frame_hz": FRAME_HZ,
            "event_fields": wire.event_fields(),
        }

    def start(self, seek_to: float | None = None) -> None:
        """Spawn the task for a run that holds a slot (see ``reserve``).

        ``seek_to`` revives a finished or stopped run from that virtual time; otherwise this is
        the first start and ``started`` is emitted first.
        """
        self._stop = False
        self.status = PLAYING
        _TASKS.add(self)
        if seek_to is None:
            self._emit("started", self.started_payload())
        socketio.start_background_task(self._task, seek_to)

    def control(self, action: str, value: float | None) -> None:
        """Queue a control for the task (applied before its next tick)."""
        if len(self._controls) >= MAX_PENDING_CONTROLS:
            raise OverflowError("too many controls pending for this run")
        self._controls.append((action, value))

    def stop(self) -> None:
        """End the run: its task notices within a tick (even mid fast-forward) and exits."""
        self._stop = True
        release(self)
        if not self.running and self.status != STOPPED:
            self.status = STOPPED
            self._emit_state(action="stop")

    # ----- the task -----

    def _task(self, seek_to: float | None) -> None:
        try:
            if not self._sides:
                self._sides = [Side(s, self.dot_scale, self.factory)
                               for s in (self.scenario, self.compare) if s is not None]
            if seek_to is not None:
                self._seek(seek_to)
                self._emit_state(action="seek")
            self._anchor()
            while not self._stop:
                self._apply_controls()
                if self._stop:
                    break
                if self.status == PLAYING:
                    target = self._anchor_t + (self._next_tick - self._anchor_wall) * self.speed
                    self._frame(target, intended_wall=True)
                if self._exhausted():
                    self._finish()
                    return
                self._wait()
            self.status = STOPPED
            self._emit_state(action="stop")
        except Exception:
            log.exception("run %s failed", self.run_id)
            self._stop = True
            self.status = STOPPED
            self._emit("error", {"message": "The run failed unexpectedly and was stopped.",
                                 "field": None, "run_id": self.run_id})
        finally:
            release(self)
            _TASKS.discard(self)

    def _apply_controls(self) -> None:
        while self._controls and not self._stop:
            action, value = self._controls.popleft()
            if action == "pause":
                self.status = PAUSED
            elif action == "resume":
                self.status = PLAYING
                self._anchor()
            elif action == "speed":
                self.speed = float(value)  # type: ignore[arg-type]
                self._anchor()
            elif action == "seek":
                self._seek(float(value))  # type: ignore[arg-type]
                self._anchor()
            elif action == "step":
                self.status = PAUSED
                self._frame(self.t + FRAME_INTERVAL * self.speed, intended_wall=False)
            self._emit_state(action=action)

    def _seek(self, t: float) -> None:
        """Re-run the deterministic engine silently to just before ``t`` (rewinding if behind).

        Events *at* ``t`` are streamed, not skipped, so seeking to 0 replays the run in full.
        """
        if t < self.t:
            for side in self._sides:
                side.rewind()
        skip_to = math.nextafter(t, -math.inf)
        for side in self._sides:
            side.pending, side.requests = [], 0
            while not side.pull(skip_to, SLICE_EVENTS, keep=False):
                if self._stop:
                    return
                socketio.sleep(0)
        self.t = t
        self._dropped = self._merged = 0

    def _advance(self, target: float) -> float:
        """Pull every side to ``target`` in slices; past the work budget, stop at what A reached."""
        deadline = time.monotonic() + MAX_TICK_WORK_S
        reached = target
        for i, side in enumerate(self._sides):
            while not side.pull(reached, SLICE_EVENTS):
                socketio.sleep(0)
                if self._stop:
                    return self.t
                if i == 0 and time.monotonic() > deadline:
                    reached = max(self.t, side.last_t)
                    break
        return reached

    def _frame(self, target: float, intended_wall: bool) -> None:
        """Advance to ``target`` and emit a frame, or merge it into the next if the client lags."""
        self.t = max(self.t, self._advance(target))
        if self._stop:
            return
        while self._acks:
            self._acks.popleft()
            self._unacked -= 1
        for side in self._sides:
            self._dropped += side.trim(MAX_FRAME_EVENTS)
        if self.ack and self._unacked >= MAX_UNACKED and not self._exhausted():
            self._merged += 1
            return
        lists = [side.take() for side in self._sides]
        frame: dict[str, Any] = {
            "run_id": self.run_id,
            "seq": self._seq,
            "t": round(self.t, 6),
            "events": lists[0],
            "dropped": self._dropped,
            "behind": bool(self._merged or self._dropped),
        }
        if self.compare is not None:
            frame["events_b"] = lists[1]
        if intended_wall:
            intended = self._anchor_wall + (self.t - self._anchor_t) / self.speed
            frame["late_ms"] = round(max(0.0, time.monotonic() - intended) * 1000, 1)
        else:
            frame["late_ms"] = None
        self._seq += 1
        self._merged = self._dropped = 0
        if self.ack:
            self._unacked += 1
            self._emit("frame", frame, callback=self._on_ack)
        else:
            self._emit("frame", frame)

    def _finish(self) -> None:
        """Send what is left (even past the ack window: one bounded frame), then ``done``."""
        if any(side.pending for side in self._sides) or self._seq == 0:
            self._frame(self.t, intended_wall=False)
        self.status = FINISHED
        release(self)
        summaries = [side.sim.summary() for side in self._sides]
        self._emit("done", {"run_id": self.run_id, "summary": summaries[0],
                            "summary_b": summaries[1] if len(summaries) > 1 else None})
        self._emit_state(action=None)

    def _exhausted(self) -> bool:
        return all(side.exhausted for side in self._sides)

    def _anchor(self) -> None:
        """Tie virtual ``t`` to the wall clock now; the next tick is now (a frame at ``t`` itself).

        The first frame after an anchor (start, resume, speed, seek) covers no virtual time ahead
        of the wall clock: with the tick one interval ahead it went out at once holding events due
        one interval later, i.e. early (``late_ms`` clamped it to 0).
        """
        self._anchor_wall = time.monotonic()
        self._anchor_t = self.t
        self._next_tick = self._anchor_wall

    def _wait(self) -> None:
        """Sleep until the next tick; a run that fell more than a tick behind skips, not bursts."""
        now = time.monotonic()
        if self.status != PLAYING:
            socketio.sleep(FRAME_INTERVAL)
            return
        self._next_tick += FRAME_INTERVAL
        if now > self._next_tick + FRAME_INTERVAL:
            self._next_tick = now
        socketio.sleep(max(0.0, self._next_tick - now))

    def _on_ack(self, *_: Any) -> None:
        self._acks.append(None)

    def _emit_state(self, action: str | None) -> None:
        self._emit("state", {"run_id": self.run_id, "status": self.status, "speed": self.speed,
                             "t": round(self.t, 6), "action": action})

    def _emit(self, event: str, data: dict[str, Any],
              callback: Callable[..., None] | None = None) -> None:
        socketio.emit(event, data, to=self.target, namespace=NAMESPACE, callback=callback)


def reserve(run: Run, max_runs: int) -> bool:
    """Take a server slot: add, then check, so concurrent starts can never exceed ``max_runs``."""
    _RESERVED.add(run)
    if len(_RESERVED) > max_runs:
        release(run)
        return False
    return True


def release(run: Run) -> None:
    """Give a slot back (idempotent)."""
    _RESERVED.discard(run)
