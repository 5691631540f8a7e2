"""The pacer alone: a fake clock and a list of events, no Socket.IO, no worker, no sleeping."""
from __future__ import annotations

import math

import pytest

from webapp.transport.pacer import FINISHED, PAUSED, PLAYING, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ListSource:
    """An EventSource over a list of events, with a frontier the test moves (a slow worker)."""

    def __init__(self, events: list, end_s: float | None, frontier: float = math.inf,
                 resume_with: list | None = None) -> None:
        self.events = list(events)
        self.frontier = frontier
        self.end_s = end_s
        self.summaries = [{"requests": 1}]
        self.resume_with = resume_with or []
        self._resume = None
        self.sought: list[float] = []

    @property
    def done(self) -> bool:
        return self.frontier == math.inf and not self.events

    def take(self, until_t: float):
        until_t = min(until_t, self.frontier)
        taken = [e for e in self.events if e[0] <= until_t]
        self.events = [e for e in self.events if e[0] > until_t]
        return taken, None

    def seek(self, t: float) -> None:
        self.sought.append(t)
        self._resume = ([e for e in self.resume_with if e[0] < t], None)

    def resume(self):
        bundle, self._resume = self._resume, None
        return bundle


def request(t: float, viewer: int = 1) -> list:
    return [t, "arrive", viewer, viewer, 0, "k", 0]


def sample(t: float) -> list:
    return [t, "sample", None, None, None, None]


def pacer(source, clock, speed=1.0, **kwargs) -> Pacer:
    return Pacer(source, run_id="r", clock=clock, speed=speed, frame_hz=10, compare=False,
                 **kwargs)


def frames(out) -> list[dict]:
    return [data for name, data in out if name == "frame"]


def play(p: Pacer, clock: Clock, seconds: float, step: float = 0.1, ack: bool = True) -> list:
    out = []
    for _ in range(round(seconds / step)):
        clock.now += step
        out += p.tick()
        if ack:
            while p.unacked:
                p.acked()
    return out


def test_frames_follow_the_clock_at_the_chosen_speed_and_end_exactly_at_end_s():
    clock = Clock()
    events = [request(t / 10) for t in range(1, 40)] + [sample(4.0)]
    p = pacer(ListSource(events, end_s=4.0), clock, speed=2.0)
    out = p.tick() + play(p, clock, 3.0)
    sent = frames(out)
    assert [f["t"] for f in sent[:4]] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert sent[-1]["t"] == 4.0 and max(f["t"] for f in sent) == 4.0   # never past the end
    assert [e for f in sent for e in f["events"]] == events
    assert all(e[0] <= f["t"] for f in sent for e in f["events"])
    assert [name for name, _ in out][-2:] == ["done", "state"]
    assert p.status == FINISHED and out[-1][1]["status"] == "finished"


def test_a_source_behind_the_clock_slows_playback_without_a_jump_and_says_so():
    clock = Clock()
    source = ListSource([request(t / 10) for t in range(1, 100)], end_s=10.0, frontier=0.5)
    p = pacer(source, clock, speed=1.0)
    out = p.tick() + play(p, clock, 2.0)
    assert max(f["t"] for f in frames(out)) == 0.5          # waits at what was computed
    source.frontier = 5.0                                   # the worker catches up at once
    out = play(p, clock, 1.0)
    ts = [f["t"] for f in frames(out)]
    steps = [b - a for a, b in zip([0.5] + ts, ts)]
    assert max(steps) == pytest.approx(0.1)                 # played on at 1x: no jump to 3.5
    source.frontier = 1.3                                   # (never below what was shown)
    slow = []
    for _ in range(20):                                     # now it computes at half speed
        clock.now += 0.1
        source.frontier = min(source.frontier + 0.05, 10.0)
        slow += p.tick()
    achieved = [f["speed_achieved"] for f in frames(slow) if f["speed_achieved"] is not None]
    assert achieved and achieved[-1] == pytest.approx(0.5, abs=0.06)


def test_speed_achieved_matches_the_chosen_speed_when_nothing_is_behind():
    clock = Clock()
    p = pacer(ListSource([], end_s=30.0), clock, speed=3.0)
    out = p.tick() + play(p, clock, 2.0)
    achieved = [f["speed_achieved"] for f in frames(out)]
    assert achieved[0] is None                               # too little history yet
    assert achieved[-1] == pytest.approx(3.0, abs=0.01)


def test_unacknowledged_frames_are_merged_capped_and_system_events_survive():
    clock = Clock()
    events = [request(0.05 + i / 1000, viewer=i) for i in range(900)] + [sample(0.5)]
    events.sort(key=lambda e: e[0])
    p = pacer(ListSource(events, end_s=2.0), clock, max_unacked=2, max_frame_events=100)
    out = p.tick() + play(p, clock, 2.5, ack=False)
    sent = frames(out)
    assert len(sent) == 3                                    # the window of 2, then the final one
    last = sent[-1]
    earlier = sum(e[3] is not None for f in sent[:-1] for e in f["events"])
    assert last["behind"] and last["dropped"] == 900 - earlier - 100
    assert sum(e[3] is not None for e in last["events"]) == 100
    assert [e for e in last["events"] if e[1] == "sample"]   # never dropped
    assert out[-2][0] == "done"


def test_a_congested_client_gets_ticks_merged_until_its_queue_drains():
    clock = Clock()
    congested = [True]
    p = pacer(ListSource([request(0.25), request(0.35)], end_s=5.0), clock,
              congested=lambda: congested[0])
    out = p.tick() + play(p, clock, 0.5)
    assert frames(out) == []
    congested[0] = False
    out = play(p, clock, 0.1)
    (merged,) = frames(out)
    assert merged["behind"] and [e[0] for e in merged["events"]] == [0.25, 0.35]


def test_step_pauses_and_advances_by_its_value_once_the_source_has_it():
    clock = Clock()
    source = ListSource([request(0.5), request(1.4), request(2.0)], end_s=5.0, frontier=1.0)
    p = pacer(source, clock)
    p.tick()
    out = p.step(1.5)
    assert p.status == PAUSED and frames(out) == []         # 1.5 is not computed yet
    assert play(p, clock, 0.5) == []
    source.frontier = math.inf
    out = p.tick()
    (frame,) = frames(out)
    assert frame["t"] == 1.5 and [e[0] for e in frame["events"]] == [0.5, 1.4]
    assert frame["late_ms"] is None and out[-1][1]["action"] == "step"
    assert frames(play(p, clock, 1.0)) == []                 # still paused


def test_seek_with_pause_freezes_at_the_target_with_the_state_there():
    clock = Clock()
    before = [request(1.0), sample(2.9)]
    source = ListSource([request(3.5)], end_s=5.0, resume_with=before)
    p = pacer(source, clock)
    play(p, clock, 1.0)
    out = p.seek(3.0, pause=True)
    assert source.sought == [3.0]
    assert [name for name, _ in out] == ["state", "frame"]
    state, frame = out[0][1], out[1][1]
    assert state["status"] == "paused" and state["action"] == "seek" and state["t"] == 3.0
    assert frame["resume"] is True and frame["t"] == 3.0 and frame["events"] == before
    assert frames(play(p, clock, 1.0)) == []                 # frozen there
    out = p.resume() + play(p, clock, 0.6)
    assert p.status == PLAYING
    assert [e for f in frames(out) for e in f["events"]] == [request(3.5)]
    assert not any(f.get("resume") for f in frames(out))


def test_play_or_pause_asked_while_a_seek_waits_for_the_source_is_what_happens_when_it_lands():
    """A page that seeks back (paused) and asks to play on before the state there arrived: the
    seek must not leave the run paused when it lands (issue 19: a run stuck paused for 124 s)."""
    clock = Clock()
    source = ListSource([request(3.5)], end_s=5.0, resume_with=[request(1.0)])
    source.seek = lambda t: source.sought.append(t)           # a worker still re-running
    p = pacer(source, clock)
    play(p, clock, 1.0)
    assert p.seek(3.0, pause=True) == [] and p.busy
    p.resume()
    source._resume = ([request(1.0)], None)                    # the state there arrives
    out = p.tick()
    assert [(name, d.get("status")) for name, d in out][:1] == [("state", PLAYING)]
    assert p.status == PLAYING and [e for f in frames(play(p, clock, 0.6)) for e in f["events"]] == [
        request(3.5)]
    # and the other way round: playing, then paused before the state arrived
    p.seek(1.0, pause=False)
    p.pause()
    source._resume = ([], None)
    p.tick()
    assert p.status == PAUSED and frames(play(p, clock, 1.0)) == []


def test_show_sends_one_frame_at_the_paused_instant_once_its_events_are_there_and_no_state():
    clock = Clock()
    source = ListSource([request(0.5), request(1.0)], end_s=5.0, frontier=0.7)
    p = pacer(source, clock)
    play(p, clock, 0.6)
    p.pause()
    t = p.t
    assert p.busy is False and 0.5 < t < 0.7
    source.events.insert(0, request(t, viewer=2))   # one at t itself, not taken yet
    p.take_now()                                  # everything up to t is taken (and kept)
    assert p.pending_events == 1 and source.events == [request(1.0)]
    source.events.insert(0, [t, "input", None, None, 0, None, "kill_server", 0, True, None,
                             None, None, None])
    source.frontier = math.nextafter(t, -math.inf)   # re-run from t (WorkerSource.add_input)
    p.show()
    assert p.busy and p.tick() == [] and p.status == PAUSED
    source.frontier = 3.0
    out = p.tick()
    (frame,) = frames(out)
    assert [name for name, _ in out] == ["frame"]           # no state "step"
    assert frame["t"] == round(t, 6) and [e[1] for e in frame["events"]] == ["arrive", "input"]
    assert not p.busy and p.status == PAUSED
    assert p.tick() == []                                   # still paused: nothing more
    p.show()
    p.resume()                                              # a show left pending is dropped
    assert not p.busy and p.step(0.1)[-1][1]["action"] == "step"


class PeekSource(ListSource):
    """A source that makes the exact numbers of an instant when the test says they are made."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[float] = []
        self.made: dict[float, list] = {}

    def peek(self, t: float):
        if t in self.made:
            return [self.made[t], None]
        if not self.asked or self.asked[-1] != t:
            self.asked.append(t)
        return None


def test_a_paused_instant_gets_its_exact_numbers_once_in_a_peek_frame():
    """The page pauses between two samples: the numbers beside its picture must be of its instant."""
    clock = Clock()
    source = PeekSource([request(0.5), sample(0.6), request(1.0)], end_s=5.0)
    p = pacer(source, clock)
    play(p, clock, 0.75)
    out = p.pause()
    t = p.t
    assert [name for name, _ in out] == ["state"] and 0.6 < t < 1.0
    assert p.busy and p.tick() == [] and source.asked == [t]      # asked, once, and waited for
    assert p.tick() == [] and source.asked == [t]
    source.made[t] = sample(t)
    (frame,) = frames(p.tick())
    assert frame["peek"] is True and frame["t"] == round(t, 6) and frame["events"] == [sample(t)]
    assert not p.busy and frames(play(p, clock, 1.0)) == []       # once: paused, nothing more
    p.resume()
    p.pause()                                                     # the same instant: known
    assert p.tick() == [] and source.asked == [t]
    later = [f for f in frames(p.resume() + play(p, clock, 0.5))]
    assert later and not any(f.get("peek") for f in later)        # playing: the grid's samples


def test_a_step_lands_with_the_exact_numbers_of_where_it_lands():
    clock = Clock()
    source = PeekSource([request(0.5), sample(0.6), request(1.4)], end_s=5.0)
    p = pacer(source, clock)
    p.tick()
    assert frames(p.step(0.65)) == [] and p.busy                  # waits for the numbers
    source.made[0.65] = sample(0.65)
    out = p.tick()
    (frame,) = frames(out)
    assert frame["t"] == 0.65 and frame["peek"] is True
    assert frame["events"] == [request(0.5), sample(0.6), sample(0.65)]   # the instant's own last
    assert out[-1][1]["action"] == "step" and not p.busy
    assert frames(play(p, clock, 1.0)) == []


def test_a_seek_lands_with_its_own_numbers_and_a_recording_has_none_to_give():
    clock = Clock()
    source = PeekSource([request(3.5)], end_s=5.0, resume_with=[sample(2.9)])
    p = pacer(source, clock)
    p.seek(3.0, pause=True)
    assert not p.busy and p.tick() == [] and source.asked == []    # the resume state has them
    recording = ListSource([request(0.5), request(1.0)], end_s=5.0)
    p = pacer(recording, clock)
    play(p, clock, 0.7)
    p.pause()
    assert not p.busy and p.tick() == []
