"""Streaming on /lab: start -> started -> frames in time order -> done, and sampling."""
from __future__ import annotations

import time

from tests.transport.conftest import SMALL
from webapp.engine import Simulation, parse_scenario
from webapp.engine.events import COMMON, FIELDS


def test_start_streams_frames_in_time_order_then_done(lab):
    c = lab()
    run_id = c.start()
    started = c.of("started")[0]
    assert started["viewers"] == 200 and started["dot_scale"] == 1
    assert started["scenario"]["clients"]["count"] == 200 and started["compare"] is None
    done = c.wait_finished(run_id)
    frames = c.of("frame", run_id)
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    frame_ts = [f["t"] for f in frames]
    assert frame_ts == sorted(frame_ts)
    events = [e for f in frames for e in f["events"]]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    assert all(e["t"] <= f["t"] for f in frames for e in f["events"])
    assert sum(e["kind"] == "respond" for e in events) == done["summary"]["requests"] == 200
    assert done["summary_b"] is None
    assert c.of("state", run_id)[-1]["status"] == "finished"
    assert not any(f["dropped"] for f in frames)


def test_frames_are_paced_by_speed_not_sent_all_at_once(lab):
    c = lab()
    began = time.monotonic()
    run_id = c.start({"clients": {"count": 50}, "duration_s": 12.0}, speed=20.0)
    c.wait_for("done", run_id)
    took = time.monotonic() - began
    frames = c.of("frame", run_id)
    ts = [f["t"] for f in frames]
    # 12 virtual seconds at 20x take 0.6 wall seconds: about 18 frames at 30 a second, each about
    # 0.67 virtual seconds after the one before. On a busy machine the server may stall for a
    # moment and the playback then catches up in one longer step (seen: 2.6 s, at 20x 0.13 s of
    # wall time), so the pace is read from the typical step and the run's wall time, not from
    # each step: a run sent all at once would take no time, in one or a few huge steps.
    assert took >= 0.9 * 12.0 / 20.0, (took, ts)
    assert 6 <= len(frames) <= 26, ts
    steps = sorted(b - a for a, b in zip(ts, ts[1:-1]))
    assert steps[0] >= 0 and steps[len(steps) // 2] <= 1.5, ts


def test_events_go_out_as_arrays_named_once_in_started_and_decode_to_the_engines_dicts(lab):
    c = lab()
    run_id = c.start()
    schema = c.of("started", run_id)[0]["event_fields"]
    assert schema == {"common": list(COMMON), **{k: list(v) for k, v in FIELDS.items()}}
    c.wait_for("done", run_id)
    raw = [e for f in c.raw_frames if f["run_id"] == run_id for e in f["events"]]
    assert raw and all(isinstance(e, list) and len(e) == 6 + len(schema[e[1]]) for e in raw)
    decoded = [e for f in c.of("frame", run_id) for e in f["events"]]
    engine = [ev.to_dict() for ev in Simulation(parse_scenario(SMALL), record_requests=True).events()]
    assert decoded == engine   # same events, same order, floats rounded as in the engine's logs
