"""Inputs on /lab (story mode): given at start, given live (``control`` ``input``), replayed.

Through the real Socket.IO server, as a page does. The point of it all: a run is its scenario plus
its list of inputs, so an input given live and the same input given at start make the same run,
event for event -- which is what share links, seek and restart rely on.
"""
from __future__ import annotations

from tests.transport.conftest import LabClient
from webapp.engine import Simulation, parse_scenario
from webapp.engine.moments import compact
from webapp.extensions import socketio
from webapp.transport.payloads import MAX_RUN_INPUTS


# Four servers, clients that retry, slow queries: a server killed at 0.2 s has attempts in flight.
KILL = {"servers": {"count": 4}, "clients": {"count": 400, "retries": 2, "backoff": "exponential"},
        "duration_s": 2.0, "datastore": {"service_ms": 400}}
KILL_0 = {"kind": "kill_server", "server": 0}


def intervene(c: LabClient, run_id: str, record: dict) -> None:
    c.emit("control", {"run_id": run_id, "action": "input", "input": record})


def events_of(frames: list[dict], side: str = "events") -> list[dict]:
    """The run's events in these frames (a paused instant's own numbers, a peek frame's last
    sample, are not of the run's stream)."""
    return [e for f in frames for e in (f[side][:-1] if f.get("peek") else f[side])]


def frames_after(c: LabClient, mark: int, run_id: str) -> list[dict]:
    return [p for n, p in c.received[mark:] if n == "frame" and p["run_id"] == run_id]


def index_of(c: LabClient, payload: dict) -> int:
    return next(i for i, (_, p) in enumerate(c.received) if p is payload)


def moments_after(c: LabClient, run_id: str, reply: dict) -> dict:
    """The reply to an input if it carries the new moments, else the ``state moments`` after it."""
    if reply["moments"] is not None:
        return reply
    return c.wait_for("state", run_id, where=lambda s: s["action"] == "moments"
                      and index_of(c, s) > index_of(c, reply))


def first_moments(c: LabClient, run_id: str) -> dict:
    """``started``'s moments, or the ``state moments`` that follows when the server did not know
    the whole run yet (a loaded machine may not compute even a small run in its first moment)."""
    started = c.of("started", run_id)[0]
    if started["moments"] is not None:
        return started
    return c.wait_for("state", run_id, where=lambda s: s["action"] == "moments")


def test_a_server_killed_live_fails_over_and_the_same_input_at_start_makes_the_same_run(lab):
    c = lab()
    run_id = c.start(KILL, speed=0.05)
    c.emit("control", {"run_id": run_id, "action": "seek", "value": 0.2, "pause": True})
    c.wait_for("state", run_id, where=lambda s: s["action"] == "seek" and s["status"] == "paused")
    mark = len(c.received)
    intervene(c, run_id, KILL_0)
    reply = c.wait_for("state", run_id, where=lambda s: s["action"] == "inputs")
    assert reply["inputs"] == [{"t": 0.2, **KILL_0}] and reply["status"] == "paused"
    assert reply["t"] == 0.2 and (reply["end_s"] is None or reply["end_s"] >= 2.0)
    # Paused, the page is shown the instant it intervened at: the input and what it did there.
    shown = c.wait_for("frame", run_id, where=lambda f: any(e["kind"] == "input" for e in f["events"]))
    assert index_of(c, shown) > index_of(c, reply)            # the reply before its consequences
    assert shown["t"] == 0.2 and all(e["t"] == 0.2 for e in shown["events"])
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds.index("input") < kinds.index("server_down")
    applied = next(e for e in shown["events"] if e["kind"] == "input")
    assert applied["input"] == "kill_server" and applied["applied"] is True and applied["seq"] == 0
    down = next(e for e in shown["events"] if e["kind"] == "moment" and e["what"] == "server_down")
    assert down["server"] == 0 and down["number"] >= 1 and down["next"] == "retry_elsewhere"
    c.control(run_id, "speed", 20)
    c.control(run_id, "resume")
    done = c.wait_for("done", run_id)
    after = events_of(frames_after(c, mark, run_id))
    # Failover: the dead server's attempts retry, and every later attempt lands elsewhere.
    retried = {e["req"] for e in after if e["kind"] == "retry"}
    assert len(retried) >= down["number"] - 1 >= 0 and retried
    assert not [e for e in after if e["kind"] == "arrive" and e["server"] == 0]
    assert {e["server"] for e in after if e["kind"] == "arrive" and e["req"] in retried} <= {1, 2, 3}
    summary = done["summary"]
    assert summary["servers_down"] == 1 and summary["inputs_applied"] == 1
    assert summary["retries"] >= 1 and done["inputs"] == reply["inputs"]

    # The same scenario with the same inputs at start: the same events after t, the same summary.
    again = c.start(KILL, speed=FAST, inputs=reply["inputs"])
    started = c.of("started", again)[0]
    assert started["inputs"] == reply["inputs"]
    done_again = c.wait_for("done", again)
    replay = events_of(c.of("frame", again))
    # (the page had every event at 0.2 before the input already: the paused seek sent them)
    assert replay[next(i for i, e in enumerate(replay) if e["kind"] == "input"):] == after
    assert done_again["summary"] == summary


FAST = 20.0


def test_an_input_while_playing_acts_at_the_instant_shown_and_replays_event_for_event(lab):
    c = lab()
    run_id = c.start(KILL, speed=1.0)
    c.wait_for("frame", run_id, where=lambda f: f["t"] > 0.1)
    intervene(c, run_id, KILL_0)
    reply = c.wait_for("state", run_id, where=lambda s: s["action"] == "inputs")
    (record,) = reply["inputs"]
    assert record["kind"] == "kill_server" and 0.1 < record["t"] < 2.0
    c.control(run_id, "speed", 20)
    done = c.wait_for("done", run_id)
    live = events_of(c.of("frame", run_id))
    assert [e["t"] for e in live] == sorted(e["t"] for e in live)     # no step back, no repeat
    acted = [e for e in live if e["kind"] == "input"]
    assert len(acted) == 1 and acted[0]["t"] == round(record["t"], 6)
    # Frames sent before the reply never carry anything of the intervention.
    before = [p for n, p in c.received[:index_of(c, reply)] if n == "frame"]
    assert not [e for e in events_of(before) if e["kind"] in ("input", "server_down")]
    assert all(f["t"] <= record["t"] + 1e-6 for f in before)

    again = c.start(KILL, speed=FAST, inputs=reply["inputs"])
    done_again = c.wait_for("done", again)
    assert events_of(c.of("frame", again)) == live                   # the whole run, identical
    assert done_again["summary"] == done["summary"]
    full = Simulation(parse_scenario(KILL), inputs=reply["inputs"]).run().summary()
    assert done["summary"]["servers_down"] == full["servers_down"] == 1


def test_compare_mode_applies_one_input_to_both_sides(lab):
    c = lab()
    run_id = c.start(KILL, speed=0.05, compare={"strategy": {"coalesce": "promise"}})
    known = first_moments(c, run_id)
    assert known["moments"] and known["moments_b"] and known["moments"] != known["moments_b"]
    c.emit("control", {"run_id": run_id, "action": "seek", "value": 0.3, "pause": True})
    c.wait_for("state", run_id, where=lambda s: s["action"] == "seek" and s["status"] == "paused")
    intervene(c, run_id, {"kind": "slow_db", "factor": 5})
    reply = c.wait_for("state", run_id, where=lambda s: s["action"] == "inputs")
    known = moments_after(c, run_id, reply)
    assert known["moments"] and known["moments_b"]
    c.control(run_id, "speed", 20)
    c.control(run_id, "resume")
    c.wait_for("done", run_id)
    frames = c.of("frame", run_id)
    for side in ("events", "events_b"):
        acted = [e for e in events_of(frames, side) if e["kind"] == "input"]
        assert [(e["t"], e["input"], e["value"], e["applied"]) for e in acted] == \
            [(0.3, "slow_db", 5.0, True)]
        slow = [e for e in events_of(frames, side) if e["kind"] == "moment"
                and e["what"] == "slow_start"]
        assert slow and slow[0]["t"] == 0.3 and slow[0]["factor"] == 5.0
    for side, key in (("moments", "events"), ("moments_b", "events_b")):
        assert [(m["t"], m["what"]) for m in known[side] if m["t"] >= 0.3] == \
            [(e["t"], e["what"]) for e in events_of(frames, key) if e["kind"] == "moment"
             and e["t"] >= 0.3]


def test_started_moments_are_the_engines_and_a_live_input_sends_the_new_ones(lab):
    c = lab()
    raw = {"clients": {"count": 200}, "duration_s": 4.0, "servers": {"count": 2}}
    run_id = c.start(raw, preset="classroom", speed=0.05)
    scenario = parse_scenario(raw, preset="classroom")
    started = c.of("started", run_id)[0]
    assert started["inputs"] == [] and started["moments_b"] is None
    known = first_moments(c, run_id)
    assert known["moments"] == [compact(m) for m in Simulation(scenario).run().moments]
    c.emit("control", {"run_id": run_id, "action": "seek", "value": 1.0, "pause": True})
    c.wait_for("state", run_id, where=lambda s: s["action"] == "seek" and s["status"] == "paused")
    intervene(c, run_id, {"kind": "kill_server", "server": 1})
    reply = c.wait_for("state", run_id, where=lambda s: s["action"] == "inputs")
    after = index_of(c, reply)
    moments = c.wait_for("state", run_id, where=lambda s: s["action"] == "moments"
                         and index_of(c, s) > after)
    expected = [compact(m) for m in Simulation(scenario, inputs=reply["inputs"]).run().moments]
    assert moments["moments"] == expected != known["moments"]
    assert reply["moments"] in (expected, None)    # (None: not known yet when it replied)
    assert "server_down" in [m["what"] for m in expected]


def test_bad_inputs_get_clear_errors_and_the_run_goes_on(lab):
    c = lab()
    other = lab()
    theirs = other.start(KILL, speed=5.0)
    run_id = c.start(KILL, speed=0.5)
    c.wait_for("frame", run_id)
    bad = [
        ({"kind": "melt_server"}, "input.kind"),
        ({"kind": "kill_server", "server": 9}, "input.server"),
        ({"kind": "kill_server", "server": 0, "t": 0.5}, "input.t"),
        ({"kind": "slow_db", "factor": 500}, "input.factor"),
        ({"kind": "set", "key": "clients.count", "value": 5}, "input.key"),
        ("kill", "input"),
    ]
    for record, field in bad:
        before = len(c.of("error"))
        intervene(c, run_id, record)
        c.wait_for_all("error", None, before + 1)
        assert c.last_error()["field"] == field, (record, c.last_error())
    c.emit("control", {"run_id": run_id, "action": "input", "input": KILL_0, "value": 1})
    c.wait_for("error", where=lambda e: e["field"] == "value")
    c.emit("control", {"run_id": run_id, "action": "pause", "input": KILL_0})
    c.wait_for("error", where=lambda e: e["field"] == "input" and "action input" in e["message"])

    one = c.start({"clients": {"count": 50}, "duration_s": 1.0}, speed=0.2)
    intervene(c, one, KILL_0)                      # one server: someone must survive
    error = c.wait_for("error", where=lambda e: "2 servers" in e["message"])
    assert error["field"] == "input.kind"
    c.control(one, "stop")
    assert all(s["action"] != "inputs" for s in c.of("state", run_id))
    c.control(run_id, "speed", 20)
    done = c.wait_for("done", run_id)
    assert done["inputs"] == [] and done["summary"]["inputs_applied"] == 0
    intervene(c, run_id, KILL_0)                   # finished: seek back or restart first
    error = c.wait_for("error", where=lambda e: "seek back or restart" in e["message"])
    assert error["field"] == "input"
    theirs_done = other.wait_for("done", theirs)
    assert theirs_done["summary"] == {**Simulation(parse_scenario(KILL)).run().summary(),
                                      "truncated": False}
    assert not other.of("error")


def test_start_refuses_bad_inputs_naming_the_record_and_field(lab):
    c = lab()
    cases = [
        ([{"t": 0.5, "kind": "kill_server", "server": 7}], "inputs[0].server"),
        ([{"t": 0.5, "kind": "expire_key"}, {"kind": "inject"}], "inputs[1].t"),
        ([{"t": -1, "kind": "inject"}], "inputs[0].t"),
        ({"t": 0.5, "kind": "inject"}, "inputs"),
        ([{"t": 0.01 * i, "kind": "inject"} for i in range(MAX_RUN_INPUTS + 1)], "inputs"),
    ]
    for inputs, field in cases:
        before = len(c.of("error"))
        c.emit("start", {"scenario": KILL, "inputs": inputs})
        c.wait_for_all("error", None, before + 1)
        assert c.last_error()["field"] == field, (inputs, c.last_error())
    # In compare mode the one list must fit side B too.
    before = len(c.of("error"))
    c.emit("start", {"scenario": KILL, "compare": {"servers": {"count": 1}},
                     "inputs": [{"t": 0.5, **KILL_0}]})
    c.wait_for_all("error", None, before + 1)
    assert c.last_error()["field"] == "inputs[0].kind"
    assert c.last_error()["message"].startswith("Side B")
    assert not c.of("started")
    run_id = c.start(KILL, inputs=[{"t": 0.01 * i, "kind": "inject"} for i in range(MAX_RUN_INPUTS)])
    assert len(c.wait_for("done", run_id)["inputs"]) == MAX_RUN_INPUTS
    intervene(c, run_id, {"kind": "inject"})       # (finished anyway)
    c.wait_for("error", where=lambda e: e["field"] == "input")


def test_a_flood_of_inputs_is_bounded_one_re_run_at_a_time_and_the_run_goes_on(lab, runs):
    c = lab()
    other = lab()
    theirs = other.start(KILL, speed=2.0)
    run_id = c.start(KILL, speed=0.05)
    c.wait_for("frame", run_id)
    for _ in range(60):
        intervene(c, run_id, {"kind": "slow_db", "factor": 2})
    socketio.sleep(0.5)
    c.pump()
    refusals = [e for e in c.of("error") if e["field"] == "input"]
    assert refusals and all("Too many" in e["message"] for e in refusals)
    c.control(run_id, "speed", 20)
    done = c.wait_for("done", run_id, timeout=30)
    applied = len(done["inputs"])
    assert 1 <= applied <= 16 and applied + len(refusals) == 60
    replies = [s for s in c.of("state", run_id) if s["action"] == "inputs"]
    assert [len(s["inputs"]) for s in replies] == list(range(1, applied + 1))   # one at a time
    assert [r["t"] for r in done["inputs"]] == sorted(r["t"] for r in done["inputs"])
    assert done["summary"]["inputs_applied"] == applied
    assert other.wait_for("done", theirs)["inputs"] == []


def test_restart_and_seek_keep_the_inputs(lab):
    c = lab()
    record = {"t": 0.25, "kind": "kill_server", "server": 2}
    run_id = c.start(KILL, speed=FAST, inputs=[record])
    done = c.wait_for("done", run_id)
    first = events_of(c.of("frame", run_id))
    assert done["inputs"] == [record] and done["summary"]["servers_down"] == 1
    mark = len(c.received)
    c.control(run_id, "seek", 0)
    c.wait_for_all("done", run_id, 2)
    assert events_of(frames_after(c, mark, run_id)) == first
    c.control(run_id, "restart")
    c.wait_for_all("started", None, 2)
    again = c.of("started")[-1]
    assert again["run_id"] != run_id and again["inputs"] == [record]
    c.wait_for("done", again["run_id"])
    assert events_of(c.of("frame", again["run_id"])) == first


def test_a_live_input_is_kept_by_a_later_seek(lab):
    c = lab()
    run_id = c.start(KILL, speed=0.05)
    c.emit("control", {"run_id": run_id, "action": "seek", "value": 0.5, "pause": True})
    c.wait_for("state", run_id, where=lambda s: s["action"] == "seek" and s["status"] == "paused")
    intervene(c, run_id, {"kind": "kill_server", "server": 3})
    c.wait_for("state", run_id, where=lambda s: s["action"] == "inputs")
    c.wait_for("frame", run_id, where=lambda f: any(e["kind"] == "input" for e in f["events"]))
    mark = len(c.received)
    c.emit("control", {"run_id": run_id, "action": "seek", "value": 0.0})
    c.control(run_id, "speed", 20)
    done = c.wait_for("done", run_id)
    replay = events_of(frames_after(c, mark, run_id))
    assert [(e["t"], e["server"]) for e in replay if e["kind"] == "server_down"] == [(0.5, 3)]
    assert done["summary"]["servers_down"] == 1


def test_an_intervention_over_the_step_budget_is_refused_and_the_run_goes_on(lab):
    c = lab()
    polling = {"clients": {"count": 500}, "duration_s": 2.0, "datastore": {"service_ms": 400},
               "strategy": {"coalesce": "lock", "lock_poll_ms": 1}}
    run_id = c.start(polling, speed=1.0)
    intervene(c, run_id, {"kind": "slow_db", "factor": 100})
    error = c.wait_for("error", where=lambda e: e["field"] == "input")
    assert "engine steps" in error["message"] and "budget" in error["message"]
    intervene(c, run_id, {"kind": "slow_db", "factor": 1.5, "for_s": 0.1})   # a small one is fine
    c.wait_for("state", run_id, where=lambda s: s["action"] == "inputs")
    c.control(run_id, "speed", 20)
    assert c.wait_for("done", run_id)["summary"]["inputs_applied"] == 1
