"""Compare mode, sampling of large runs, disconnects and slow (non-acknowledging) clients."""
from __future__ import annotations

import pytest

from tests.transport.conftest import settle
from webapp.extensions import socketio
from webapp.transport import pacer


@pytest.fixture
def app_config(async_mode: str) -> dict:
    """A small window of computed events, so workers stay busy computing ahead (and the window's
    flow control is part of every test here)."""
    return {"testing": True, "async_mode": async_mode, "secret_key": "test-secret",
            "run_buffer_kb": 64}


HERD = {"clients": {"count": 300, "window_s": 0.5}, "duration_s": 3.0,
        "datastore": {"connections": 2, "service_ms": 100.0}}


def test_compare_mode_streams_both_sides_in_lockstep_on_identical_arrivals(lab):
    c = lab()
    run_id = c.start(HERD, compare={"strategy": {"coalesce": "promise"}})
    started = c.of("started", run_id)[0]
    assert started["compare"]["strategy"]["coalesce"] == "promise"
    assert started["compare"]["seed"] == started["scenario"]["seed"]
    done = c.wait_for("done", run_id)
    frames = c.of("frame", run_id)
    assert all("events_b" in f for f in frames)
    for f in frames:
        assert all(e["t"] <= f["t"] for e in f["events"] + f["events_b"])
    a = [e for f in frames for e in f["events"]]
    b = [e for f in frames for e in f["events_b"]]
    arrivals = lambda evs: [(e["t"], e["viewer"]) for e in evs if e["kind"] == "arrive"]
    assert arrivals(a) == arrivals(b) and len(arrivals(a)) == 300
    assert done["summary"]["coalesce"] == "none" and done["summary_b"]["coalesce"] == "promise"
    assert done["summary_b"]["db_queries"] < done["summary"]["db_queries"]


def test_above_the_animate_limit_a_deterministic_sample_is_sent_and_counters_stay_exact(lab):
    c = lab()
    run_id = c.start({"clients": {"count": 12_000}, "duration_s": 2.0})
    started = c.of("started", run_id)[0]
    assert (started["dot_scale"], started["animated_viewers"]) == (3, 4000)
    done = c.wait_for("done", run_id)
    events = [e for f in c.of("frame", run_id) for e in f["events"]]
    per_request = [e for e in events if e["viewer"] is not None]
    assert per_request and all(e["viewer"] % 3 == 0 for e in per_request)
    assert sum(e["kind"] == "respond" for e in events) == 4000
    samples = [e for e in events if e["kind"] == "sample"]
    assert samples[-1]["completed"] == done["summary"]["completed"] == 12_000
    assert samples[-1]["db_queries"] == done["summary"]["db_queries"]


def test_animate_limit_is_honoured_up_to_the_server_ceiling(lab):
    c = lab()
    run_id = c.start({"clients": {"count": 1000}, "duration_s": 1.0}, animate_limit=100)
    assert c.of("started", run_id)[0]["dot_scale"] == 10
    c.wait_for("done", run_id)
    c.emit("start", {"scenario": {}, "animate_limit": 5001})
    c.pump()
    assert c.last_error()["field"] == "animate_limit"


def test_disconnect_stops_the_run_its_task_and_its_worker(lab, runs):
    c = lab()
    run_id = c.start({"clients": {"count": 5000, "arrival": "ramp", "window_s": 60.0},
                      "duration_s": 60.0}, speed=1.0)
    c.wait_for("frame", run_id)
    run = runs.connections[c.sid][run_id]
    worker = run.pacer.source._worker
    assert runs.live_tasks() == 1 and worker is not None and worker.proc.poll() is None
    c.client.disconnect(namespace="/lab")
    assert settle(lambda: runs.live_tasks() == 0)
    assert not runs.reserved
    # The worker stopped: a small one waits for the next run, a big one exits.
    assert settle(lambda: worker.proc.poll() is not None or worker in runs.pool.idle)


def test_a_start_handled_after_its_connections_disconnect_starts_nothing(lab, runs):
    """A client that sends ``start`` and closes at once: its disconnect may be handled first
    (threading mode handles each event in a thread of its own; a busy machine delays the start's).
    The start is then refused; nothing plays to nobody, holding a slot and a worker."""
    c = lab()
    assert runs.disconnect(c.sid) == []          # the server has handled the disconnect...
    c.emit("start", {"scenario": {"clients": {"count": 50}, "duration_s": 60.0}, "speed": 1.0})
    c.pump()                                     # ... and then the start
    assert c.of("started") == [] and "connection has closed" in c.last_error()["message"]
    assert runs.live_tasks() == 0 and not runs.reserved and c.sid not in runs.connections


def test_a_client_that_never_acks_gets_merged_frames_and_the_buffer_stays_bounded(lab, runs,
                                                                                  monkeypatch):
    monkeypatch.setattr(pacer, "MAX_FRAME_EVENTS", 300)
    slow, other = lab(), lab()
    slow.ack = False
    run_id = slow.start({"clients": {"count": 3000, "window_s": 2.0}, "duration_s": 3.0},
                        speed=2.0)
    other_id = other.start({"clients": {"count": 20}, "duration_s": 2.0})
    run = runs.connections[slow.sid][run_id]
    biggest = 0
    while run.running:
        biggest = max(biggest, run.pacer.pending_events if run.pacer else 0)
        other.pump()
        socketio.sleep(0.005)
    slow.wait_for("done", run_id)
    frames = slow.of("frame", run_id)
    assert len(frames) <= pacer.MAX_UNACKED + 1    # the window, then the final flush
    # The cap plus at most one tick of new events, far below the ~15,000 the run makes.
    assert biggest < 1500
    last = frames[-1]
    assert last["behind"] and last["dropped"] > 0
    assert sum(e["viewer"] is not None for e in last["events"]) <= 300
    assert [e for e in last["events"] if e["kind"] == "sample"]   # samples are never dropped
    other_done = other.wait_for("done", other_id)
    assert other_done["summary"]["completed"] == 20
    # The other client's run is the same as alone: every event, none dropped (whether its frames
    # were merged depends only on how soon this test's thread acknowledged them).
    assert not any(f["dropped"] for f in other.of("frame", other_id))
    alone = lab()
    alone_id = alone.start({"clients": {"count": 20}, "duration_s": 2.0})
    assert alone.wait_for("done", alone_id)["summary"] == other_done["summary"]
    assert other.events(other_id) == alone.events(alone_id)
