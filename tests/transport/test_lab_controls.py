"""Controls on /lab: pause, resume, step, speed, seek (live and after the end), restart, stop."""
from __future__ import annotations

import pytest

from tests.transport.conftest import settle
from webapp.extensions import socketio


LONG = {"clients": {"count": 100, "arrival": "ramp", "window_s": 10.0}, "duration_s": 10.0}


def test_pause_stops_frames_step_sends_one_and_resume_finishes(lab):
    c = lab()
    run_id = c.start(LONG, speed=5.0)
    c.wait_for("frame", run_id)
    c.control(run_id, "pause")
    paused = c.wait_for("state", run_id, where=lambda s: s["action"] == "pause")
    assert paused["status"] == "paused"
    # Paused: one frame more, the exact numbers of the paused instant (a sample of t itself), then none.
    exact = c.wait_for("frame", run_id, where=lambda f: f.get("peek"))
    assert exact["t"] == paused["t"] and (exact["events"][-1]["t"], exact["events"][-1]["kind"]) == (paused["t"], "sample")
    count = len(c.of("frame", run_id))
    socketio.sleep(0.2)
    c.pump()
    assert len(c.of("frame", run_id)) == count
    c.control(run_id, "step")
    c.wait_for("state", run_id, where=lambda s: s["action"] == "step")
    frames = c.of("frame", run_id)
    assert len(frames) == count + 1
    assert frames[-1]["t"] - frames[-2]["t"] == pytest.approx(0.1, abs=1e-6)   # the default step
    assert frames[-1]["late_ms"] is None
    c.control(run_id, "step", 1.5)
    c.wait_for_all("state", run_id, 3)
    c.wait_for("state", run_id, where=lambda s: s["action"] == "step" and s["t"] > frames[-1]["t"])
    stepped = c.of("frame", run_id)[-1]
    assert stepped["t"] - frames[-1]["t"] == pytest.approx(1.5, abs=1e-6)
    assert all(frames[-1]["t"] < e["t"] <= stepped["t"] for e in stepped["events"])
    assert c.of("state", run_id)[-1]["status"] == "paused"
    c.control(run_id, "speed", 20)
    assert c.wait_for("state", run_id, where=lambda s: s["action"] == "speed")["speed"] == 20.0
    c.control(run_id, "resume")
    assert c.wait_for("state", run_id, where=lambda s: s["action"] == "resume")["status"] == "playing"
    c.wait_for("done", run_id)


def test_seek_back_replays_the_same_events_and_seek_after_the_end_replays_the_run(lab):
    c = lab()
    run_id = c.start(LONG, speed=20.0)
    c.wait_for("done", run_id)
    first = [e for f in c.of("frame", run_id) for e in f["events"]]
    seen = len(c.received)
    c.control(run_id, "seek", 0)
    c.wait_for("state", run_id, where=lambda s: s["action"] == "seek")
    assert len(c.wait_for_all("done", run_id, 2)) == 2
    replay = [e for n, p in c.received[seen:] if n == "frame" for e in p["events"]]
    assert replay == first

    seen = len(c.received)
    c.control(run_id, "seek", 4.0)
    state = c.wait_for("state", run_id, where=lambda s: s["action"] == "seek" and s["t"] == 4.0)
    assert state["status"] == "playing"
    c.wait_for_all("done", run_id, 3)
    frames = [p for n, p in c.received[seen:] if n == "frame"]
    assert frames[0]["resume"] is True and frames[0]["t"] == 4.0
    assert all(e["t"] <= 4.0 for e in frames[0]["events"])  # the state at 4.0, every event at it done
    later = [e for f in frames[1:] for e in f["events"]]
    assert later and all(e["t"] > 4.0 for e in later)
    assert later == [e for e in first if e["t"] > 4.0]


def test_seek_during_a_run_jumps_and_frames_go_on_from_there(lab):
    c = lab()
    run_id = c.start(LONG, speed=5.0)
    c.wait_for("frame", run_id)
    c.control(run_id, "seek", 8.0)
    seek = c.wait_for("state", run_id, where=lambda s: s["action"] == "seek")
    mark = next(i for i, (n, p) in enumerate(c.received) if p is seek) + 1
    c.wait_for("done", run_id)
    after = [p for n, p in c.received[mark:] if n == "frame"]
    assert after[0].get("resume") and after[0]["t"] == 8.0
    assert after and all(f["t"] >= 8.0 for f in after)
    assert all(e["t"] >= 8.0 for f in after[1:] for e in f["events"])


def test_restart_starts_a_new_run_with_the_same_scenario(lab):
    c = lab()
    run_id = c.start(LONG, speed=5.0)
    c.wait_for("frame", run_id)
    c.control(run_id, "restart")
    c.wait_for("state", run_id, where=lambda s: s["status"] == "stopped")
    started = c.wait_for("started", where=lambda s: s["run_id"] != run_id)
    assert started["scenario"] == c.of("started", run_id)[0]["scenario"]
    assert started["speed"] == 5.0
    c.control(started["run_id"], "stop")
    c.wait_for("state", started["run_id"], where=lambda s: s["status"] == "stopped")


def test_stop_ends_the_run_without_done_and_its_task_ends(lab, runs):
    c = lab()
    run_id = c.start(LONG, speed=1.0)
    c.wait_for("frame", run_id)
    c.control(run_id, "stop")
    c.wait_for("state", run_id, where=lambda s: s["status"] == "stopped")
    assert settle(lambda: runs.live_tasks() == 0)
    socketio.sleep(0.1)
    c.pump()
    assert c.of("done", run_id) == []


def test_controls_on_a_finished_run_other_than_seek_restart_stop_are_refused(lab, runs):
    c = lab()
    run_id = c.start()
    c.wait_for("done", run_id)
    assert settle(lambda: runs.live_tasks() == 0)
    c.control(run_id, "pause")
    c.pump()
    assert c.last_error()["field"] == "action"


def test_a_speed_chosen_after_the_end_is_the_replays_speed(lab):
    """A student slows down once the run has ended, then seeks back: the replay plays slowly
    (the speed used to be refused as "only seek, restart and stop apply", and the replay came
    back at the old speed, the page's speed control jumping back with it)."""
    c = lab()
    run_id = c.start(LONG, speed=20.0)
    c.wait_for("done", run_id)
    c.control(run_id, "speed", 0.25)
    remembered = c.wait_for("state", run_id, where=lambda s: s["action"] == "speed")
    assert (remembered["status"], remembered["speed"]) == ("finished", 0.25) and c.of("error") == []
    c.control(run_id, "seek", 9.0)
    replay = c.wait_for("state", run_id, where=lambda s: s["action"] == "seek")
    assert (replay["status"], replay["speed"]) == ("playing", 0.25)
