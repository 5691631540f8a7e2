"""A real run's recording as an event source, read by the real pacer with a fake clock; the
``/real`` start payload. No services, no sockets: the worker's messages are handed to the
recording as they would arrive. (The datastore's line: test_real_line.py.)"""
from __future__ import annotations

import math
import pickle

import pytest

from webapp.engine import parse_scenario
from webapp.transport.pacer import FINISHED, PAUSED, Pacer
from webapp.transport.payloads import PayloadError
from webapp.transport.realns import parse_real_start
from webapp.transport.realsource import COMPLETE, FAILED, Recording, RealSource


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def req(t: float, kind: str, rid: int, *fields) -> list:
    return [t, kind, rid, rid, 0, "k", *fields]


# A request that arrives at 0.1, waits, and is answered at 0.5; another from 0.3 to 0.9.
EVENTS = [req(0.1, "arrive", 1, 0), req(0.1, "cache_miss", 1, 0), req(0.2, "fetch_start", 1, 0,
          "direct", 7), req(0.3, "arrive", 2, 0), req(0.5, "respond", 1, 0, "ok", 400.0, "db"),
          [0.5, "sample", None, None, None, None], req(0.9, "respond", 2, 0, "ok", 600.0, "db")]


def recording(beside: bool = False) -> Recording:
    rec = Recording({}, beside)
    rec._handle(("started", {"requests": 2, "processes": 1, "duration_s": 1.0}))
    return rec


def chunk(rec: Recording, side: int, events: list) -> None:
    rec._handle(("events", side, events[-1][0], pickle.dumps(events)))


def finish(rec: Recording, end_s: float = 0.9) -> None:
    summaries = [{"mode": "real", "requests": 2}, {"requests": 2} if rec.beside else None]
    rec._handle(("done", end_s, summaries, False))


def play(pacer: Pacer, clock: Clock, until: float, step: float = 0.1) -> list:
    out = []
    while clock.now < until:
        out += pacer.tick()
        clock.now += step
    return out


def frames(out: list) -> list:
    return [data for name, data in out if name == "frame"]


def test_playback_follows_the_recording_as_it_grows_and_finishes_with_its_summary():
    rec, clock = recording(), Clock()
    assert not rec.playable                     # the app servers are starting: nothing yet
    chunk(rec, 0, EVENTS[:3])
    assert rec.playable
    source = RealSource(rec)
    pacer = Pacer(source, run_id="r", clock=clock, speed=1.0, frame_hz=10, compare=False,
                  acks=False)
    out = play(pacer, clock, 101.0)
    sent = [ev for f in frames(out) for ev in f["events"]]
    assert sent == EVENTS[:3]                   # up to the frontier, no further
    assert pacer.t == pytest.approx(0.2)       # waited there: playback never jumps ahead
    chunk(rec, 0, EVENTS[3:])
    assert source.poll() == []
    finish(rec)
    assert source.poll() == [("end", 0.9)] and source.poll() == []
    out = play(pacer, clock, 102.0)
    sent += [ev for f in frames(out) for ev in f["events"]]
    assert sent == EVENTS and pacer.status == FINISHED
    done = [data for name, data in out if name == "done"][0]
    assert done["summary"] == {"mode": "real", "requests": 2} and done["summary_b"] is None
    assert frames(out)[-1]["t"] == 0.9


def test_a_seek_replays_the_recording_from_the_state_at_that_instant():
    rec, clock = recording(), Clock()
    chunk(rec, 0, EVENTS[:4])
    chunk(rec, 0, EVENTS[4:])
    finish(rec)
    pacer = Pacer(RealSource(rec), run_id="r", clock=clock, speed=1.0, frame_hz=10,
                  compare=False, acks=False)
    play(pacer, clock, 101.5)
    assert pacer.status == FINISHED
    pacer.source = RealSource(rec)             # a revived run: a new cursor, same recording
    out = pacer.seek(0.4, pause=True)
    resume = frames(out)[0]
    assert resume["resume"] and resume["t"] == 0.4 and pacer.status == PAUSED
    # Open at 0.4: request 1 (answered at 0.5) and request 2, with their events so far.
    assert resume["events"] == EVENTS[:4]
    out = pacer.step(0.2)
    assert [ev for f in frames(out) for ev in f["events"]] == EVENTS[4:6]


def test_a_seek_past_what_is_recorded_waits_for_it():
    rec, clock = recording(), Clock()
    chunk(rec, 0, EVENTS[:2])
    source = RealSource(rec)
    source.seek(0.6)
    assert source.resume() is None             # 0.6 is not recorded yet
    chunk(rec, 0, EVENTS[2:5])
    assert source.resume() is None             # recorded up to 0.5
    chunk(rec, 0, EVENTS[5:])
    events, side_b = source.resume()
    assert side_b is None and [ev[1] for ev in events] == ["arrive", "sample"]
    assert source.take(math.inf)[0] == [EVENTS[6]]


def test_beside_both_sides_play_in_lockstep_once_the_simulation_is_there():
    rec = recording(beside=True)
    chunk(rec, 0, EVENTS)
    assert not rec.playable                    # the simulation needs the whole real run
    rec._handle(("simulating",))
    source = RealSource(rec)
    assert source.frontier == -math.inf
    chunk(rec, 1, EVENTS[:3])
    assert source.frontier == pytest.approx(0.2)
    finish(rec)
    assert rec.playable and rec.phase == COMPLETE and source.frontier == math.inf
    a, b = source.take(0.3)
    assert a == EVENTS[:4] and b == EVENTS[:3]
    assert source.summaries == [{"mode": "real", "requests": 2}, {"requests": 2}]


def test_a_failed_or_stopped_recording_says_why():
    rec = recording()
    rec._handle(("error", "clients.count", "at most 5000 requests in a real run"))
    assert rec.phase == FAILED and rec.failed_key == "clients.count"
    assert RealSource(rec).failed == "at most 5000 requests in a real run"
    rec = recording()
    rec.stop()
    assert rec.phase == FAILED and "stopped before it ended" in rec.failed


@pytest.mark.parametrize("payload, field", [
    ({"scenario": {}, "compare": {"strategy": {"coalesce": "promise"}}}, "compare"),
    ({"scenario": {}, "real": {"pool": "sometimes"}}, "real.pool"),
    ({"scenario": {}, "real": {"bogus": 1}}, "real.bogus"),
    ({"scenario": {}, "real": []}, "real"),
    ({"scenario": {}, "beside": "yes"}, "beside"),
    ({"scenario": {"clients": {"count": 6000}}}, "scenario.clients.count"),
    ({"scenario": {"duration_s": 100}}, "scenario.duration_s"),
    ({"preset": "classroom", "scenario": {}, "beside": True}, "scenario.workload.kind"),
    ({"scenario": {"clients": {"count": -1}}}, "scenario.clients.count"),
    ({"scenario": {}, "extra": 1}, "extra"),
])
def test_a_bad_real_start_is_refused_naming_its_field(payload, field):
    with pytest.raises(PayloadError) as err:
        parse_real_start(payload, max_animate=5000)
    assert err.value.field == field


def test_a_real_start_carries_its_settings():
    start = parse_real_start({"scenario": {"servers": {"count": 3}}, "real": {"processes": 3,
                              "query": "cpu"}, "beside": True, "speed": 0.5}, max_animate=5000)
    assert start.scenario == parse_scenario({"servers": {"count": 3}})
    assert (start.real.processes, start.real.query, start.beside, start.speed,
            start.processes) == (3, "cpu", True, 0.5, 3)
