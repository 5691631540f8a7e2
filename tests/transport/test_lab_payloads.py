"""Bad input on /lab: every shape gets an ``error`` naming the field, and nothing else happens."""
from __future__ import annotations

import pytest

from tests.transport.conftest import SMALL


NESTED: dict = {"x": 1}
for _ in range(50):
    NESTED = {"x": NESTED}


def acted_on(client, run_id: str) -> list[str | None]:
    """The actions of the run's states but for the worker's own news: its length and moments,
    told in a state of their own when the worker learns them after the run began to play (late on
    a busy machine; run 58 failed on them). A run nobody acted on has one: its end (None)."""
    return [s["action"] for s in client.of("state", run_id)
            if s["action"] not in ("length", "moments")]


BAD_STARTS = [
    ("not a dict", "", "hello"),
    ("list instead of dict", "", [SMALL]),
    ("number", "", 42),
    ("missing scenario", "scenario", {"speed": 1.0}),
    ("unknown envelope key", "bogus", {"scenario": {}, "bogus": 1}),
    ("scenario is a list", "scenario", {"scenario": [1, 2]}),
    ("scenario is a string", "scenario", {"scenario": "classroom"}),
    ("unknown scenario key", "scenario.nope", {"scenario": {"nope": 1}}),
    ("unknown nested key", "scenario.clients.nope", {"scenario": {"clients": {"nope": 1}}}),
    ("wrong type", "scenario.clients.count", {"scenario": {"clients": {"count": "many"}}}),
    ("bool for int", "scenario.clients.count", {"scenario": {"clients": {"count": True}}}),
    ("NaN", "scenario.clients.count", {"scenario": {"clients": {"count": float("nan")}}}),
    ("infinity", "scenario.duration_s", {"scenario": {"duration_s": float("inf")}}),
    ("huge number", "scenario.clients.count", {"scenario": {"clients": {"count": 10**30}}}),
    ("negative", "scenario.clients.count", {"scenario": {"clients": {"count": -5}}}),
    ("huge string", "scenario.workload.kind", {"scenario": {"workload": {"kind": "x" * 100_000}}}),
    ("huge key", "scenario", {"scenario": {"k" * 10_000: 1}}),
    ("deeply nested", "scenario.x.x.x.x", {"scenario": NESTED}),
    ("too many keys", "", {"scenario": {f"k{i}": i for i in range(2000)}}),
    ("section not an object", "scenario.clients", {"scenario": {"clients": 5}}),
    ("unknown preset", "preset", {"scenario": {}, "preset": "nope"}),
    ("preset not a string", "preset", {"scenario": {}, "preset": 3}),
    ("impossible combination", "scenario.workload.keys",
     {"scenario": {"workload": {"kind": "live_video", "keys": 3}}}),
    ("speed 0", "speed", {"scenario": {}, "speed": 0}),
    ("speed 100", "speed", {"scenario": {}, "speed": 100}),
    ("speed fast", "speed", {"scenario": {}, "speed": "fast"}),
    ("speed NaN", "speed", {"scenario": {}, "speed": float("nan")}),
    ("speed bool", "speed", {"scenario": {}, "speed": True}),
    ("compare not an object", "compare", {"scenario": {}, "compare": [1]}),
    ("compare bad value", "compare.strategy.coalesce",
     {"scenario": {}, "compare": {"strategy": {"coalesce": "magic"}}}),
    ("compare other seed", "compare.seed", {"scenario": {}, "compare": {"seed": 99}}),
    ("animate_limit 0", "animate_limit", {"scenario": {}, "animate_limit": 0}),
    ("animate_limit text", "animate_limit", {"scenario": {}, "animate_limit": "all"}),
    ("inputs not a list", "inputs", {"scenario": {}, "inputs": {"t": 1, "kind": "inject"}}),
    ("inputs null", "inputs", {"scenario": {}, "inputs": None}),
    ("input not an object", "inputs[0]", {"scenario": {}, "inputs": [3]}),
    ("input unknown kind", "inputs[0].kind", {"scenario": {}, "inputs": [{"t": 1, "kind": "x"}]}),
    ("input unknown field", "inputs[0].nope",
     {"scenario": {}, "inputs": [{"t": 1, "kind": "inject", "nope": 1}]}),
    ("input t NaN", "inputs[0].t", {"scenario": {}, "inputs": [{"t": float("nan"), "kind": "inject"}]}),
    ("input after the run", "inputs[0].t", {"scenario": {"duration_s": 1},
                                            "inputs": [{"t": 100, "kind": "inject"}]}),
    ("input key not the run's", "inputs[0].key",
     {"scenario": {}, "inputs": [{"t": 1, "kind": "expire_key", "key": "key-99"}]}),
]


# Each bad payload on its own runs under the deployed mode only: validation does not depend on
# the async mode, and the barrages below send every one of them under every mode (the fields in
# order), so each mode's way of answering is still checked on all of them.
DEPLOYED = pytest.mark.parametrize("async_mode", ["eventlet"])


@DEPLOYED
@pytest.mark.parametrize("label, field, payload", BAD_STARTS, ids=[b[0] for b in BAD_STARTS])
def test_bad_start_gets_an_error_naming_the_field_and_starts_nothing(lab, label, field, payload):
    c = lab()
    c.emit("start", payload)
    c.pump()
    error = c.last_error()
    assert error["field"] == field, error
    assert error["message"] and error["run_id"] is None and error["answers"] == "start"
    assert c.of("started") == []
    c.start()   # the connection and the server are still fine


def test_start_with_no_or_two_arguments_is_refused(lab):
    c = lab()
    c.emit("start")
    c.emit("start", {"scenario": {}}, {"scenario": {}})
    c.pump()
    assert [e["field"] for e in c.of("error")] == ["", ""]


BAD_CONTROLS = [
    ("not a dict", "", "pause"),
    ("list", "", [{"action": "pause"}]),
    ("missing run_id", "run_id", {"action": "pause"}),
    ("run_id not a string", "run_id", {"run_id": 7, "action": "pause"}),
    ("run_id too long", "run_id", {"run_id": "r" * 500, "action": "pause"}),
    ("unknown run_id", "run_id", {"run_id": "nope", "action": "pause"}),
    ("unknown action", "action", {"run_id": "RUN", "action": "explode"}),
    ("action not a string", "action", {"run_id": "RUN", "action": ["pause"]}),
    ("unknown key", "extra", {"run_id": "RUN", "action": "pause", "extra": 1}),
    ("speed 0", "value", {"run_id": "RUN", "action": "speed", "value": 0}),
    ("speed 100", "value", {"run_id": "RUN", "action": "speed", "value": 100}),
    ("speed fast", "value", {"run_id": "RUN", "action": "speed", "value": "fast"}),
    ("speed missing", "value", {"run_id": "RUN", "action": "speed"}),
    ("seek negative", "value", {"run_id": "RUN", "action": "seek", "value": -1}),
    ("seek past the end", "value", {"run_id": "RUN", "action": "seek", "value": 1e9}),
    ("seek NaN", "value", {"run_id": "RUN", "action": "seek", "value": float("nan")}),
    ("pause with a value", "value", {"run_id": "RUN", "action": "pause", "value": 3}),
    ("input missing", "input", {"run_id": "RUN", "action": "input"}),
    ("input not an object", "input", {"run_id": "RUN", "action": "input", "input": ["inject"]}),
    ("input with its own t", "input.t",
     {"run_id": "RUN", "action": "input", "input": {"kind": "inject", "t": 1}}),
    ("input unknown field", "input.nope",
     {"run_id": "RUN", "action": "input", "input": {"kind": "inject", "nope": 1}}),
    ("input with pause", "pause",
     {"run_id": "RUN", "action": "input", "input": {"kind": "inject"}, "pause": True}),
    ("input on pause", "input", {"run_id": "RUN", "action": "pause", "input": {"kind": "inject"}}),
    ("input kill the only server", "input.kind",
     {"run_id": "RUN", "action": "input", "input": {"kind": "kill_server", "server": 0}}),
]


@DEPLOYED
@pytest.mark.parametrize("label, field, payload", BAD_CONTROLS, ids=[b[0] for b in BAD_CONTROLS])
def test_bad_control_gets_an_error_and_the_run_carries_on(lab, label, field, payload):
    c = lab()
    run_id = c.start({"clients": {"count": 50}, "duration_s": 4.0})
    if isinstance(payload, dict) and payload.get("run_id") == "RUN":
        payload = {**payload, "run_id": run_id}
    c.emit("control", payload)
    c.pump()
    assert c.last_error()["field"] == field
    assert c.last_error()["answers"] == "control"        # the run goes on: no start was refused
    assert c.wait_finished(run_id)["summary"]["completed"] == 50
    # Nothing the bad control asked for happened: the only states are the run's own.
    assert acted_on(c, run_id) == [None]
    assert c.of("state", run_id)[-1]["status"] == "finished"


def test_someone_elses_run_id_is_unknown_and_their_run_is_untouched(lab):
    owner, intruder = lab(), lab()
    run_id = owner.start({"clients": {"count": 50}, "duration_s": 4.0})
    for action in ("stop", "pause", "restart"):
        intruder.control(run_id, action)
    intruder.pump()
    assert [e["field"] for e in intruder.of("error")] == ["run_id"] * 3
    assert owner.wait_finished(run_id)["summary"]["completed"] == 50
    assert acted_on(owner, run_id) == [None]
    assert owner.of("state", run_id)[-1]["status"] == "finished"


def test_a_barrage_of_bad_payloads_leaves_another_clients_run_unaffected(lab):
    good, bad = lab(), lab()
    run_id = good.start({"clients": {"count": 300}, "duration_s": 4.0})
    for _, _, payload in BAD_STARTS:
        bad.emit("start", payload)
        bad.pump()
        good.pump()
    assert [e["field"] for e in bad.of("error")] == [field for _, field, _ in BAD_STARTS]
    assert bad.of("started") == []
    done = good.wait_for("done", run_id)
    assert done["summary"]["completed"] == 300 and not good.of("error")
    # Unaffected means the same run as alone: every event, none dropped, the same result. (Not
    # "no frame behind": frames merge whenever this test's own thread is slow to acknowledge, as
    # on a busy machine, which says nothing about the other client.)
    assert not any(f["dropped"] for f in good.of("frame", run_id))
    alone = lab()
    alone_id = alone.start({"clients": {"count": 300}, "duration_s": 4.0})
    assert alone.wait_for("done", alone_id)["summary"] == done["summary"]
    assert good.events(run_id) == alone.events(alone_id)


def test_a_barrage_of_bad_controls_names_each_field_and_the_run_carries_on(lab):
    c = lab()
    run_id = c.start({"clients": {"count": 50}, "duration_s": 4.0})
    for _, _, payload in BAD_CONTROLS:
        if isinstance(payload, dict) and payload.get("run_id") == "RUN":
            payload = {**payload, "run_id": run_id}
        c.emit("control", payload)
    c.pump()
    assert [e["field"] for e in c.of("error")] == [field for _, field, _ in BAD_CONTROLS]
    assert {e["answers"] for e in c.of("error")} == {"control"}
    assert c.wait_finished(run_id)["summary"]["completed"] == 50
    assert acted_on(c, run_id) == [None]


def test_a_refused_restart_answers_a_start_and_any_other_control_a_control():
    """A page waiting for a run does not take a refused control as the end of its wait: a
    restart is a start; a malformed or refused control is a control (docs/protocol.md, `answers`)."""
    from webapp.transport.lab import _answers

    assert _answers("on_start", ({"scenario": {}},)) == "start"
    assert _answers("on_start", ()) == "start"
    assert _answers("on_control", ({"run_id": "r", "action": "restart"},)) == "start"
    for args in [({"run_id": "r", "action": "pause"},), ("restart",), ({"action": ["restart"]},), ()]:
        assert _answers("on_control", args) == "control", args
