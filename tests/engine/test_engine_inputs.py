"""Inputs at virtual time: checked like untrusted input, acting at exactly their time, each an
event, and the same run whether given up front or added while it runs."""
from __future__ import annotations

import json
import math

import pytest

from webapp.engine import ScenarioError, Simulation, estimate_steps, parse_scenario
from webapp.engine.events import INPUT
from webapp.engine.inputs import MAX_AFTER_S, MAX_INPUTS, check_input, check_inputs

from herd_support import run_events, scenario

FLEET = {"clients": {"count": 1500}, "servers": {"count": 8}}


def _fleet(**overrides):
    return parse_scenario({**FLEET, **overrides}, preset="fleet")


def _log(events) -> bytes:
    return "\n".join(json.dumps(ev.to_dict(), sort_keys=True) for ev in events).encode()


def _stepped(scn, inputs, step, **kw):
    """The run stepped by ``step``, each input added just before the run reaches it."""
    sim = Simulation(scn, **kw)
    pending, events, t = list(inputs), [], 0.0
    while not sim.finished:
        t += step
        while pending and pending[0]["t"] <= t:
            sim.add_input(pending.pop(0))
        events += sim.advance(t)
    assert not pending
    return sim, events


# ------------------------------------------------------------------ checking
BAD = [
    ("not a record", "x", "inputs[0]"),
    ({"t": 1.0}, None, "inputs[0].kind"),
    ({"t": 1.0, "kind": "explode"}, None, "inputs[0].kind"),
    ({"t": 1.0, "kind": "inject", "viewer": 3}, None, "inputs[0].viewer"),
    ({"kind": "inject"}, None, "inputs[0].t"),
    ({"t": -1.0, "kind": "inject"}, None, "inputs[0].t"),
    ({"t": math.nan, "kind": "inject"}, None, "inputs[0].t"),
    ({"t": math.inf, "kind": "inject"}, None, "inputs[0].t"),
    ({"t": True, "kind": "inject"}, None, "inputs[0].t"),
    ({"t": "1", "kind": "inject"}, None, "inputs[0].t"),
    ({"t": 5.0 + MAX_AFTER_S + 1, "kind": "inject"}, None, "inputs[0].t"),
    ({"t": 1.0, "kind": "kill_server"}, None, "inputs[0].server"),
    ({"t": 1.0, "kind": "kill_server", "server": 8}, None, "inputs[0].server"),
    ({"t": 1.0, "kind": "kill_server", "server": 1.5}, None, "inputs[0].server"),
    ({"t": 1.0, "kind": "kill_server", "server": -1}, None, "inputs[0].server"),
    ({"t": 1.0, "kind": "expire_key", "key": "key-1"}, None, "inputs[0].key"),
    ({"t": 1.0, "kind": "expire_key", "key": "chunk-0"}, None, "inputs[0].key"),
    ({"t": 1.0, "kind": "delete_key", "key": "key-" + "9" * 80}, None, "inputs[0].key"),
    ({"t": 1.0, "kind": "delete_key", "key": 0}, None, "inputs[0].key"),
    ({"t": 1.0, "kind": "slow_db"}, None, "inputs[0].factor"),
    ({"t": 1.0, "kind": "slow_db", "factor": 0.5}, None, "inputs[0].factor"),
    ({"t": 1.0, "kind": "slow_db", "factor": 2.0, "for_s": 0}, None, "inputs[0].for_s"),
    ({"t": 1.0, "kind": "set", "key": "clients.count", "value": 5}, None, "inputs[0].key"),
    ({"t": 1.0, "kind": "set", "key": "strategy.coalesce", "value": "magic"}, None,
     "inputs[0].value"),
    ({"t": 1.0, "kind": "set", "key": "strategy.coalesce"}, None, "inputs[0].value"),
    ({"t": 1.0, "kind": "set", "key": "strategy.early_refresh_beta", "value": "1"}, None,
     "inputs[0].value"),
    ({"t": 1.0, "kind": "set", "key": "strategy.prewarm", "value": True}, None,
     "inputs[0].value"),                           # prewarm needs live video
]


@pytest.mark.parametrize("record, _, key", BAD, ids=[b[2] + f"-{i}" for i, b in enumerate(BAD)])
def test_a_bad_input_is_refused_naming_its_field(record, _, key):
    with pytest.raises(ScenarioError) as info:
        Simulation(_fleet(), inputs=[record])
    assert info.value.key == key and info.value.allowed


def test_combinations_are_checked_against_the_scenario():
    no_cache = scenario(cache={"enabled": False})
    with pytest.raises(ScenarioError) as info:
        check_input(no_cache, {"t": 0.0, "kind": "set", "key": "strategy.coalesce",
                               "value": "lock"})
    assert info.value.key == "input.value" and "promise" in info.value.allowed
    with pytest.raises(ScenarioError) as info:
        check_input(scenario(), {"t": 0.0, "kind": "kill_server", "server": 0})
    assert info.value.key == "input.kind"          # one server: someone must survive


def test_the_list_itself_is_bounded_and_must_be_a_list():
    scn = scenario()
    for bad in ({"t": 0}, "inject", 3):
        with pytest.raises(ScenarioError) as info:
            check_inputs(scn, bad)
        assert info.value.key == "inputs"
    with pytest.raises(ScenarioError, match="at most"):
        check_inputs(scn, [{"t": 0.0, "kind": "inject"}] * (MAX_INPUTS + 1))


def test_records_are_normalised():
    scn = _fleet()
    assert check_inputs(scn, [{"kind": "slow_db", "t": 1, "factor": 2}, {
        "t": 0, "kind": "set", "key": "strategy.early_refresh_beta", "value": 1},
        {"t": 2, "kind": "kill_server", "server": 3.0}]) == [
        {"t": 1.0, "kind": "slow_db", "factor": 2.0},
        {"t": 0.0, "kind": "set", "value": 1.0, "key": "strategy.early_refresh_beta"},
        {"t": 2.0, "kind": "kill_server", "server": 3}]


# ------------------------------------------------------------------ replaying
INPUTS = [
    {"t": 0.02, "kind": "kill_server", "server": 3},
    {"t": 0.5, "kind": "set", "key": "strategy.coalesce", "value": "lock"},
    {"t": 1.5, "kind": "expire_key"},
    {"t": 1.6, "kind": "inject"}, {"t": 1.6, "kind": "inject"},
    {"t": 1.7, "kind": "slow_db", "factor": 3.0, "for_s": 0.5},
    {"t": 2.0, "kind": "delete_key", "key": "key-0"},
    {"t": 2.05, "kind": "inject"},
    {"t": 2.1, "kind": "set", "key": "strategy.coalesce", "value": "notify"},
]


@pytest.mark.parametrize("kw", [{}, {"sample_every": 3}, {"record_requests": False}])
@pytest.mark.parametrize("step", [0.01, 0.25])
def test_inputs_added_while_running_make_the_run_given_them_up_front(kw, step):
    scn = _fleet()
    ahead, ahead_events = run_events(scn, inputs=INPUTS, **kw)
    live, live_events = _stepped(scn, INPUTS, step, **kw)
    assert _log(live_events) == _log(ahead_events)
    assert live.summary() == ahead.summary() and live.inputs == ahead.inputs == check_inputs(
        scn, INPUTS)
    replayed, replayed_events = run_events(scn, inputs=live.inputs, **kw)
    assert _log(replayed_events) == _log(ahead_events)


def test_an_input_added_at_now_lands_after_the_sample_of_that_instant():
    scn = _fleet()
    sim = Simulation(scn)
    before = sim.advance(0.5)                      # the sample at 0.5 is taken
    assert before[-1].kind == "sample" and before[-1].t == 0.5
    sim.add_input({"t": 0.5, "kind": "inject"})
    after = sim.advance(0.6)
    assert (after[0].kind, after[0].t) == (INPUT, 0.5)
    ahead = list(Simulation(scn, inputs=[{"t": 0.5, "kind": "inject"}]).events())
    assert _log(before + after + list(sim.events())) == _log(ahead)


def test_inputs_at_one_instant_act_in_the_order_given():
    same_t = [{"t": 1.0, "kind": "set", "key": "strategy.coalesce", "value": "lock"},
              {"t": 1.0, "kind": "set", "key": "strategy.coalesce", "value": "none"}]
    sim, events = run_events(_fleet(), inputs=same_t)
    acted = [(ev.seq, ev.value) for ev in events if ev.kind == INPUT]
    assert acted == [(0, "lock"), (1, "none")]
    late = [{"t": 2.0, "kind": "inject"}, {"t": 1.0, "kind": "inject"}]
    sim, events = run_events(_fleet(), inputs=late)
    assert [(ev.t, ev.seq) for ev in events if ev.kind == INPUT] == [(1.0, 1), (2.0, 0)]


def test_an_input_in_the_past_or_after_the_end_is_refused():
    sim = Simulation(_fleet())
    sim.advance(1.0)
    with pytest.raises(ScenarioError) as info:
        sim.add_input({"t": 0.5, "kind": "inject"})
    assert info.value.key == "input.t" and "past" in str(info.value)
    sim.run()
    with pytest.raises(ScenarioError, match="has ended"):
        sim.add_input({"t": 100.0, "kind": "inject"})
    truncated = Simulation(_fleet(), max_steps=100)
    truncated.run()
    with pytest.raises(ScenarioError, match="cut short"):
        truncated.add_input({"t": 100.0, "kind": "inject"})


def test_an_input_after_the_workload_keeps_the_run_going_until_it_acts():
    scn = _fleet()
    end = Simulation(scn).run().now
    t = end + 20.0
    sim, events = run_events(scn, inputs=[{"t": t, "kind": "inject"}])
    rid = sim.summary()["requests"] - 1
    (acted,) = [ev for ev in events if ev.kind == INPUT]
    mine = [ev for ev in events if ev.req == rid]
    assert (acted.t, acted.value) == (t, rid)
    assert (mine[0].kind, mine[0].t, mine[-1].kind) == ("arrive", t, "respond")
    assert events[-1].kind == "sample" and events[-1].completed == sim.summary()["completed"]


# ------------------------------------------------------------------ what each kind does
def test_a_killed_server_fails_its_attempts_and_is_routed_around():
    scn = _fleet(clients={"count": 1500, "retries": 1})
    sim, events = run_events(scn, inputs=[{"t": 0.02, "kind": "kill_server", "server": 2}])
    (acted,) = [ev for ev in events if ev.kind == INPUT]
    (down,) = [ev for ev in events if ev.kind == "server_down"]
    assert (acted.applied, acted.server, down.t, down.server) == (True, 2, 0.02, 2)
    assert events.index(acted) < events.index(down)
    failed = [ev for ev in events if ev.t == 0.02 and ev.kind == "retry" and ev.server == 2]
    moment = next(m for m in sim.moments if m.what == "server_down")
    assert moment.number == len(failed) > 0
    assert not [ev for ev in events if ev.t > 0.02 and ev.kind == "arrive" and ev.server == 2]
    s = sim.summary()
    assert s["servers_down"] == 1 and s["completed"] == s["requests"] and s["inputs_applied"] == 1


@pytest.mark.parametrize("t", [0.01, 0.05, 0.3, 0.9])
@pytest.mark.parametrize("coalesce", ["none", "promise", "lock"])
def test_a_kill_in_a_summary_only_or_sampled_run_changes_nothing_else(t, coalesce):
    # Summary-only runs keep most new requests as mere lookups until the cache answers: a
    # kill must fail those waiting at the dead server exactly as in a recorded run.
    scn = _fleet(clients={"count": 1500, "retries": 1, "timeout_s": 0.5},
                 strategy={"coalesce": coalesce})
    inputs = [{"t": t, "kind": "kill_server", "server": 5}]
    recorded = Simulation(scn, inputs=inputs).run().summary()
    assert Simulation(scn, inputs=inputs, record_requests=False).run().summary() == recorded
    assert Simulation(scn, inputs=inputs, sample_every=4).run().summary() == recorded


def test_the_last_server_up_cannot_be_killed_and_a_dead_one_not_again():
    scn = scenario(servers={"count": 2}, clients={"count": 50})
    inputs = [{"t": 0.1, "kind": "kill_server", "server": 0},
              {"t": 0.2, "kind": "kill_server", "server": 0},
              {"t": 0.3, "kind": "kill_server", "server": 1}]
    sim, events = run_events(scn, inputs=inputs)
    acted = [(ev.applied, ev.reason) for ev in events if ev.kind == INPUT]
    assert acted == [(True, None), (False, "already down"), (False, "the last server up")]
    assert sim.summary()["servers_down"] == 1 and sim.summary()["inputs_applied"] == 1


def test_expiring_the_key_brings_a_herd_and_stale_while_revalidate_can_still_serve_it():
    base = {"duration_s": 3.0, "clients": {"count": 900, "arrival": "poisson",
                                           "rate_per_s": 300.0}}
    expire = [{"t": 1.0, "kind": "expire_key"}]
    plain, events = run_events(scenario(**base), inputs=expire)
    after = [ev for ev in events if ev.t >= 1.0 and ev.kind in ("cache_hit", "cache_miss")]
    assert after[0].kind == "cache_miss"
    assert [m.what for m in plain.moments if m.t >= 1.0][:1] == ["first_miss"]
    swr = scenario(**base, strategy={"stale_while_revalidate": True})
    sim, events = run_events(swr, inputs=expire)
    assert any(ev.kind == "stale_served" and ev.t >= 1.0 for ev in events)
    assert not [ev for ev in events if ev.kind == "cache_miss" and ev.t >= 1.0]
    sim, events = run_events(swr, inputs=[{"t": 1.0, "kind": "delete_key", "key": "key-0"}])
    assert not [ev for ev in events if ev.kind == "stale_served"]
    assert [ev.kind for ev in events if ev.t >= 1.0 and ev.kind in (
        "cache_hit", "cache_miss")][0] == "cache_miss"


def test_a_key_that_is_not_cached_cannot_be_expired_or_deleted():
    sim, events = run_events(scenario(clients={"count": 10}), inputs=[
        {"t": 0.0, "kind": "expire_key"}, {"t": 0.0, "kind": "delete_key"}])
    assert [(ev.applied, ev.reason) for ev in events if ev.kind == INPUT] == [
        (False, "not cached"), (False, "not cached")]


def test_slowing_the_datastore_for_a_while_or_until_changed():
    scn = scenario(duration_s=4.0, cache={"enabled": False},
                   clients={"count": 400, "arrival": "ramp", "window_s": 4.0},
                   datastore={"service_ms": 10.0, "service_dist": "constant"})
    inputs = [{"t": 1.0, "kind": "slow_db", "factor": 5.0, "for_s": 1.0},
              {"t": 2.5, "kind": "slow_db", "factor": 3.0},
              {"t": 3.5, "kind": "slow_db", "factor": 1.0}]
    sim, events = run_events(scn, inputs=inputs)
    started = {round(ev.t, 3): ev.service_ms for ev in events if ev.kind == "db_started"}
    assert started[0.5] == pytest.approx(10.0) and started[1.5] == pytest.approx(50.0)
    assert started[2.2] == pytest.approx(10.0) and started[3.0] == pytest.approx(30.0)
    assert started[3.8] == pytest.approx(10.0)
    slow = [(ev.t, ev.factor, ev.until) for ev in events if ev.kind == "db_slow"]
    assert slow == [(1.0, 5.0, 2.0), (2.0, 1.0, None), (2.5, 3.0, None), (3.5, 1.0, None)]
    assert [m.what for m in sim.moments] == ["slow_start", "slow_end", "slow_start", "slow_end"]


def test_a_later_slowdown_overrides_an_earlier_ones_end():
    scn = scenario(duration_s=3.0, cache={"enabled": False}, clients={"count": 10})
    inputs = [{"t": 0.5, "kind": "slow_db", "factor": 5.0, "for_s": 1.0},
              {"t": 1.0, "kind": "slow_db", "factor": 2.0}]
    _, events = run_events(scn, inputs=inputs)
    assert [(ev.t, ev.factor) for ev in events if ev.kind == "db_slow"] == [(0.5, 5.0),
                                                                          (1.0, 2.0)]


def test_flipping_coalescing_mid_run_lets_calls_in_flight_finish_and_new_misses_follow_it():
    scn = scenario(duration_s=2.0, clients={"count": 600, "arrival": "ramp", "window_s": 2.0},
                   cache={"ttl_s": 0.5},
                   datastore={"service_ms": 100.0, "service_dist": "constant"})
    sim, events = run_events(scn, inputs=[
        {"t": 0.05, "kind": "set", "key": "strategy.coalesce", "value": "promise"}])
    fetches = [ev for ev in events if ev.kind == "fetch_start"]
    before = [ev for ev in fetches if ev.t < 0.05]
    after = [ev for ev in fetches if ev.t > 0.05]
    assert len(before) > 10 and {ev.role for ev in before} == {"direct"}
    assert {ev.role for ev in after} == {"leader"}
    # The direct fetches sent before the flip are all answered after it, as they began.
    answered = {ev.req for ev in events if ev.kind == "respond" and ev.source == "db"}
    assert {ev.req for ev in before} <= answered
    assert any(ev.kind == "promise_wait" for ev in events)
    assert sim.summary()["completed"] == 600


def test_a_lock_flipped_to_notify_is_a_different_lock():
    # Waiters of the new mode never wait for a wake-up from the old holder: no lease waits.
    scn = parse_scenario({"strategy": {"coalesce": "lock"}}, preset="classroom")
    flip = [{"t": 4.05, "kind": "set", "key": "strategy.coalesce", "value": "notify"}]
    sim, events = run_events(scn, inputs=flip)
    chunk1 = [ev.latency_ms for ev in events if ev.kind == "respond" and ev.key == "chunk-1"]
    assert max(chunk1) < 1000.0            # not the 5 s lease
    assert sum(ev.kind == "fetch_start" and ev.key == "chunk-1" for ev in events) == 2


def test_switching_mitigations_on_and_off_mid_run():
    scn = parse_scenario({"clients": {"count": 12_000}}, preset="expiry-herd")
    swr_on = [{"t": 5.0, "kind": "set", "key": "strategy.stale_while_revalidate",
               "value": True}]
    sim, events = run_events(scn, inputs=swr_on)
    assert not [ev for ev in events if ev.kind == "cache_miss"]      # the expiry at 10 s
    assert any(ev.kind == "stale_served" for ev in events)
    off_again = swr_on + [{"t": 9.0, "kind": "set", "key": "strategy.stale_while_revalidate",
                           "value": False}]
    sim, events = run_events(scn, inputs=off_again)
    assert not [ev for ev in events if ev.kind == "stale_served"]
    assert [m.what for m in sim.moments][:1] == ["first_miss"]


def test_an_injected_request_is_an_input_event_then_a_request_of_its_own():
    scn = _fleet()
    sim = Simulation(scn)
    sim.advance(1.2)
    rid = sim.inject(1.2)
    events = list(sim.events())
    mine = [ev for ev in events if ev.req == rid]
    (acted,) = [ev for ev in events if ev.kind == INPUT]
    assert (acted.req, acted.viewer, acted.value) == (None, None, rid)
    assert mine[0].kind == "arrive" and mine[0].viewer == scn.clients.count
    assert sim.inputs == [{"t": 1.2, "kind": "inject"}]


def test_the_estimate_bounds_a_run_with_inputs():
    scn = _fleet(clients={"count": 1500, "retries": 2, "timeout_s": 0.2})
    sim = Simulation(scn, inputs=INPUTS).run()
    assert sim.steps <= estimate_steps(scn, INPUTS)
    assert estimate_steps(scn, INPUTS) >= estimate_steps(scn)
    with pytest.raises(ScenarioError):
        estimate_steps(scn, [{"t": 0, "kind": "nope"}])


def test_a_fault_never_kills_the_last_server_up():
    # The input kills server 1 first; the fault then finds server 0 the last one up.
    scn = scenario(duration_s=1.0, servers={"count": 2},
                   clients={"count": 50, "arrival": "ramp", "window_s": 0.5},
                   datastore={"service_ms": 200.0, "service_dist": "constant"},
                   faults={"leader_dies": True})
    sim, events = run_events(scn, inputs=[{"t": 0.0, "kind": "kill_server", "server": 1}])
    assert [ev.server for ev in events if ev.kind == "server_down"] == [1]
    s = sim.summary()
    assert s["servers_down"] == 1 and s["completed"] == s["requests"] == 50
