"""Pacing: turn a run's events into frames at the wall-clock speed the viewer chose.

Pure: the clock is injected and the only input is an ``EventSource``; the output is a list of
``(event, payload)`` pairs for the caller to send. No Socket.IO, no sleeping, no threads, so every
rule below is tested with a fake clock and a list of events (tests/transport/test_pacer.py).

- Virtual time is tied to the wall clock by an *anchor* (``t = anchor_t + (wall - anchor_wall) *
  speed``), re-set on every pause, speed change and seek. Frames go out at most ``frame_hz`` a
  second; speed and frame rate are separate knobs.
- The source may be behind (a heavy run still being computed): playback then advances only as
  far as the source has computed and re-anchors there, so it plays slower and never jumps;
  ``speed_achieved`` (virtual seconds per wall second over about the last second) says how slow.
- The timeline ends at the source's ``end_s``: the last frame's ``t`` is the run's end.
- Acknowledgements (one client): at most ``max_unacked`` frames in flight; past that, or while
  ``congested()`` says the client's outgoing queue is full, ticks are merged into the next frame;
  a merged frame keeps at most ``max_frame_events`` per-request events per side (the oldest are
  dropped and counted); events without a viewer are never dropped.
- After a seek the first frame has ``resume: true`` and carries the state at the target instant.
- Paused (a pause, a step, an intervention shown in place), the page gets the exact numbers of its
  instant, once: the source's ``peek`` (a worker re-runs the engine there), in a ``peek: true``
  frame after a pause, and in the step's own frame, which waits for it. The last sample may be up
  to a sampling interval older than the picture; these are of its very instant.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable

from webapp.transport.source import EventSource, Events

PLAYING, PAUSED, FINISHED, STOPPED = "playing", "paused", "finished", "stopped"
MAX_UNACKED = 3            # frames in flight per client before ticks are merged
MAX_FRAME_EVENTS = 20_000  # per-request events per side in one (merged) frame; older ones dropped
SPEED_WINDOW_S = 1.0
HEARTBEAT_S = 0.5     # while the source is behind and nothing moves, a frame this often at most
Output = list[tuple[str, dict[str, Any]]]


class Pacer:
    def __init__(self, source: EventSource, *, run_id: str, clock: Callable[[], float],
                 speed: float, frame_hz: float, compare: bool, acks: bool = True,
                 max_unacked: int = MAX_UNACKED, max_frame_events: int | None = None,
                 congested: Callable[[], bool] = lambda: False) -> None:
        self.source = source
        self.run_id = run_id
        self.clock = clock
        self.speed = speed
        self.interval = 1.0 / frame_hz
        self.compare = compare
        self.acks = acks
        self.max_unacked = max_unacked
        self.max_frame_events = MAX_FRAME_EVENTS if max_frame_events is None else max_frame_events
        self.congested = congested
        self.status = PLAYING
        self.t = 0.0
        self.seq = 0
        self.unacked = 0
        self._merged = 0
        self._dropped = 0
        self._pending: list[Events] = [[], []]
        self._resume = False
        self._seeking: tuple[float, bool] | None = None
        self._step_to: float | None = None
        self._step_state = True   # a step ends with ``state`` step (``show`` does not)
        self._exact_at: float | None = None   # the instant whose exact numbers were sent
        self._last_emit = -math.inf
        self._anchor_wall = self._anchor_t = self._next_tick = 0.0
        self._history: deque[tuple[float, float]] = deque()
        self.begin()

    # ----- commands (already decided valid: see controls.py) ------------------------------------
    def begin(self) -> None:
        """Playback starts now (the source is ready)."""
        self._anchor()

    def pause(self) -> Output:
        self.status = PAUSED
        self._step_to = None
        self._after_seek(pause=True)
        return [self._state("pause")]

    def resume(self) -> Output:
        self.status = PLAYING
        self._step_to = None
        self._after_seek(pause=False)
        self._anchor()
        return [self._state("resume")]

    def _after_seek(self, pause: bool) -> None:
        """A pause or resume while a seek waits for the source is what happens once it lands
        (it no longer undoes them when it does)."""
        if self._seeking is not None:
            self._seeking = (self._seeking[0], pause)

    def set_speed(self, speed: float) -> Output:
        self.speed = speed
        self._anchor()
        return [self._state("speed")]

    def step(self, dt: float) -> Output:
        """Pause and advance by ``dt`` virtual seconds; the frame goes out once computed."""
        self.status = PAUSED
        base = self.t if self._step_to is None else self._step_to
        self._step_to = self._clamp(base + dt)
        self._step_state = True
        return self.tick()

    def show(self) -> None:
        """Paused: one frame at the current instant, once the source has its events again (an
        intervention's events at the instant it acted); no ``state`` follows it."""
        if self.status == PAUSED and self._step_to is None and self._seeking is None:
            self._step_to = self.t
            self._step_state = False

    def take_now(self) -> None:
        """Take every available event up to the current instant (sent with the next frame)."""
        self._take(self.t)

    @property
    def busy(self) -> bool:
        """A seek, a step or a paused instant's exact numbers still wait for the source: the
        current instant is not settled."""
        return (self._seeking is not None or self._step_to is not None
                or (self.status == PAUSED and self._exact_at != self.t
                    and hasattr(self.source, "peek")))

    def seek(self, t: float, pause: bool) -> Output:
        """Jump to ``t``; the source re-runs to it and the next frame carries the state there."""
        self._seeking = (t, pause)
        self.status = PAUSED if pause else PLAYING   # (a finished run plays again)
        self._step_to = None
        self.unacked = 0   # frames of before the seek may never be acknowledged
        self._pending = [[], []]
        self._merged = self._dropped = 0
        self.source.seek(t)
        return self.tick()

    @property
    def pending_events(self) -> int:
        """Events taken from the source and not sent yet (a lagging client's merged frame)."""
        return len(self._pending[0]) + len(self._pending[1])

    def acked(self) -> None:
        self.unacked = max(0, self.unacked - 1)

    # ----- the clock ------------------------------------------------------------------------------
    def next_tick_at(self) -> float:
        return self._next_tick

    def tick(self) -> Output:
        """Whatever is due now: a seek's resume frame, a step's frame, or a playing frame."""
        if self._seeking is not None:
            return self._finish_seek()
        if self.status in (FINISHED, STOPPED):
            return []
        if self._step_to is not None:
            return self._finish_step()
        if self.status == PAUSED:
            return self._exact()
        now = self.clock()
        if self.status != PLAYING or now < self._next_tick:
            return []
        target = self._anchor_t + (now - self._anchor_wall) * self.speed
        frontier = self.source.frontier
        if target > frontier:   # still being computed: play on from there, never jump ahead
            target = max(self.t, frontier)
            self._anchor(at_t=target)
        target = self._clamp(target)
        out = self._frame(target, late=True)
        self._schedule(now)
        return out + self._finish_if_done()

    # ----- internals ---------------------------------------------------------------------------------
    def _finish_seek(self) -> Output:
        assert self._seeking is not None
        bundle = self.source.resume()
        if bundle is None:
            return []
        t, pause = self._seeking
        self._seeking = None
        self.t = t
        self.status = PAUSED if pause else PLAYING
        self._pending = [list(bundle[0]), list(bundle[1] or [])]
        self._resume = True
        self._exact_at = t if t > 0 else None   # (the state there ends with the sample of t,
        # but for a replay from 0: paused there, its numbers are asked for)
        self._anchor()
        out = [self._state("seek")]
        out += self._emit_frame(late=None)
        return out + self._finish_if_done()

    def _finish_step(self) -> Output:
        assert self._step_to is not None
        if self.source.frontier < self._step_to and not self.source.done:
            return []
        target = self._step_to
        end = self.source.end_s
        final = self.source.summaries is not None and end is not None and target >= end
        # (the run ends there: its summary gives the numbers)
        ready, samples = (True, None) if final else self._peek(target)
        if not ready:
            return []
        self._step_to = None
        self._take(target)
        self.t = max(self.t, target)
        self._exact_at = self.t
        out = self._emit_frame(late=None, samples=samples)
        if self._step_state:
            out.append(self._state("step"))
        return out + self._finish_if_done()

    def _exact(self) -> Output:
        """Paused: once, a frame with the exact numbers of the instant on the page."""
        if self._exact_at == self.t:
            return []
        ready, samples = self._peek(self.t)
        if not ready:
            return []
        self._exact_at = self.t
        return [] if samples is None else self._emit_frame(late=None, samples=samples)

    def _peek(self, t: float) -> tuple[bool, list[Any] | None]:
        """(ready, the samples of ``t`` per side): not ready while the source makes them; ready
        with None from a source that cannot (a recording)."""
        peek = getattr(self.source, "peek", None)
        if peek is None:
            return True, None
        samples = peek(t)
        return samples is not None, samples

    def _frame(self, target: float, late: bool) -> Output:
        moved = target > self.t
        self._take(target)
        self.t = max(self.t, target)
        if not (moved or any(self._pending) or self._at_end()) \
                and self.clock() - self._last_emit < HEARTBEAT_S:
            return []   # waiting for the source: nothing new to show
        waiting = self.acks and self.unacked >= self.max_unacked
        if (waiting or self.congested()) and not self._at_end():
            self._merged += 1
            return []
        return self._emit_frame(late=late)

    def _take(self, target: float) -> None:
        a, b = self.source.take(target)
        self._pending[0].extend(a)
        if b:
            self._pending[1].extend(b)
        for side in self._pending:
            if len(side) > self.max_frame_events:
                self._dropped += _trim(side, self.max_frame_events)

    def _emit_frame(self, late: bool | None, samples: list[Any] | None = None) -> Output:
        """The pending events as a frame; ``samples`` (a peek's, per side) go last, and the frame
        says ``peek``: its samples are of its instant, not of the sampling grid."""
        if samples is not None:
            self._pending[0].append(samples[0])
            if self.compare and len(samples) > 1:
                self._pending[1].append(samples[1])
        now = self.clock()
        frame: dict[str, Any] = {
            "run_id": self.run_id, "seq": self.seq, "t": round(self.t, 6),
            "events": self._pending[0], "dropped": self._dropped,
            "behind": bool(self._merged or self._dropped),
            "late_ms": None, "speed_achieved": self._speed_achieved(now),
        }
        if self.compare:
            frame["events_b"] = self._pending[1]
        if late:
            intended = self._anchor_wall + (self.t - self._anchor_t) / self.speed
            frame["late_ms"] = round(max(0.0, now - intended) * 1000, 1)
        if self._resume:
            frame["resume"] = True
            self._resume = False
        if samples is not None:
            frame["peek"] = True
        self._pending = [[], []]
        self.seq += 1
        self._last_emit = now
        self._merged = self._dropped = 0
        if self.acks:
            self.unacked += 1
        return [("frame", frame)]

    def _finish_if_done(self) -> Output:
        """Once every event is out and the clock reached the end: the last frame, done, state."""
        if self._seeking is not None or not self._at_end():
            return []   # (when every event is here, the timeline still plays on to the end)
        out: Output = []
        if any(self._pending) or self.seq == 0 or self._merged:
            out += self._emit_frame(late=None)
        self.status = FINISHED
        summaries = self.source.summaries or []
        out.append(("done", {"run_id": self.run_id, "summary": summaries[0] if summaries else None,
                             "summary_b": summaries[1] if len(summaries) > 1 else None}))
        out.append(self._state(None))
        return out

    def _at_end(self) -> bool:
        end = self.source.end_s
        return self.source.done and (end is None or self.t >= end)

    def _clamp(self, t: float) -> float:
        end = self.source.end_s
        return t if end is None else min(t, end)

    def _anchor(self, at_t: float | None = None) -> None:
        """Tie virtual time to the wall clock now; the next tick is now."""
        now = self.clock()
        self._anchor_wall = now
        self._anchor_t = self.t if at_t is None else at_t
        if at_t is None:
            self._next_tick = now
            self._history.clear()

    def _schedule(self, now: float) -> None:
        """The next tick; a run that fell more than a tick behind skips ahead, never bursts."""
        self._next_tick += self.interval
        if now > self._next_tick + self.interval:
            self._next_tick = now

    def _speed_achieved(self, now: float) -> float | None:
        history = self._history
        history.append((now, self.t))
        while len(history) > 2 and now - history[1][0] >= SPEED_WINDOW_S:
            history.popleft()
        wall = now - history[0][0]
        if self.status != PLAYING or wall < 0.25:
            return None
        return round((self.t - history[0][1]) / wall, 3)

    def _state(self, action: str | None) -> tuple[str, dict[str, Any]]:
        return ("state", {"run_id": self.run_id, "status": self.status, "speed": self.speed,
                          "t": round(self.t, 6), "action": action,
                          "end_s": _round(self.source.end_s)})


def _trim(events: Events, cap: int) -> int:
    """Drop the oldest per-request events beyond ``cap`` (never no-viewer ones); return how many."""
    requests = sum(1 for ev in events if ev[3] is not None)
    excess = requests - cap
    if excess <= 0:
        return 0
    kept = []
    skip = excess
    for ev in events:
        if skip and ev[3] is not None:
            skip -= 1
        else:
            kept.append(ev)
    events[:] = kept
    return excess


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 6)
