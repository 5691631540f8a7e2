"""A lock that notifies (strategies/notify.py) and the port calls behind it: watch, notify."""
from __future__ import annotations

import pytest

from herd_support import run_events, scenario
from webapp.engine import run_summary
from webapp.engine.loop import INF, Loop, cancel_timer


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_waiters_are_answered_when_the_holder_writes_not_at_their_next_poll(seed):
    _, events = run_events(scenario(preset="fleet", seed=seed, strategy={"coalesce": "notify"}))
    (fetch,) = [ev for ev in events if ev.kind == "fetch_start"]      # one for the fleet
    (written,) = [ev for ev in events if ev.kind == "cache_set"]
    waiting = {ev.req for ev in events if ev.kind == "lock_wait"}
    assert len(waiting) > 500 and fetch.role == "leader"
    answered = {ev.req: ev for ev in events if ev.kind == "respond"}
    # Every waiter is answered at the instant the value was written, from the lock.
    assert {(answered[r].t, answered[r].source) for r in waiting} == {(written.t, "lock")}
    assert not [ev for ev in events if ev.kind == "lock_poll"]
    lock, notify = (run_summary(scenario(preset="fleet", seed=seed, strategy={"coalesce": m}))
                    for m in ("lock", "notify"))
    assert lock["db_queries"] == notify["db_queries"] == 1
    assert notify["latency_everyone_ms"]["p99"] < lock["latency_everyone_ms"]["p99"] / 4


FAILING = {"duration_s": 1.0, "servers": {"count": 2},
           "clients": {"count": 50, "arrival": "ramp", "window_s": 0.1},
           "datastore": {"service_ms": 100.0, "service_dist": "constant"},
           "strategy": {"coalesce": "notify"}, "faults": {"fail_fetch": True}}


def test_a_failing_holder_hands_the_lock_to_the_longest_waiter_only():
    _, events = run_events(scenario(**FAILING))
    fetches = [ev for ev in events if ev.kind == "fetch_start"]
    assert len(fetches) == 2
    first_wait = next(ev for ev in events if ev.kind == "lock_wait")
    assert fetches[1].req == first_wait.req          # the one that had waited longest
    failed_at = next(ev.t for ev in events if ev.kind == "db_failed")
    assert fetches[1].t == failed_at
    # Nobody else woke meanwhile: every other waiter waited once and was answered once,
    # by the second holder's value.
    written = next(ev.t for ev in events if ev.kind == "cache_set")
    others = {ev.req for ev in events if ev.kind == "lock_wait"} - {fetches[1].req}
    assert not [ev for ev in events if ev.kind == "lock_poll"]
    assert {ev.t for ev in events if ev.kind == "respond" and ev.req in others} == {written}


def test_the_waiters_of_a_dead_holder_wake_when_its_lease_runs_out():
    scn = scenario(**{**FAILING, "faults": {"leader_dies": True},
                      "strategy": {"coalesce": "notify", "lease_ms": 300.0}})
    sim, events = run_events(scn)
    first = next(ev for ev in events if ev.kind == "fetch_start")
    down = next(ev for ev in events if ev.kind == "server_down")
    survivors = [ev for ev in events if ev.kind == "lock_wait" and ev.server != down.server]
    assert survivors
    takeover = [ev for ev in events if ev.kind == "fetch_start" and ev.t > first.t]
    assert takeover and takeover[0].t == pytest.approx(survivors[0].t + 0.3)
    s = sim.summary()
    assert s["in_flight"] == 0 and s["completed"] > 0


def test_woken_waiters_leave_no_timer_keeping_the_run_alive():
    # Each waiter's 5 s lease timeout is cancelled when it is woken: the run ends when the
    # herd is answered, not 5 s later.
    sim, _ = run_events(scenario(preset="fleet", strategy={"coalesce": "notify"}))
    assert sim.summary()["sim_time_s"] <= 5.0 + 0.001    # its duration: samples run to it
    assert sim.now < 5.1


def test_a_cancelled_timer_takes_no_step_and_does_not_keep_the_loop_alive():
    fired: list = []
    loop = Loop(sample_every_s=10.0, samples_until=0.0)
    keep = loop.timer(1.0, lambda t: fired.append(("kept", t)))
    drop = loop.timer(5.0, lambda t: fired.append(("dropped", t)))
    cancel_timer(drop)
    loop.run(INF, None)
    assert fired == [("kept", 1.0)] and keep[0] is not None
    assert loop.finished and loop.steps == 1 and loop.now == 1.0
