"""The loop (webapp/engine/loop.py): ties by rank, then by order made; cancelled timeouts vanish;
the step budget; samples after everything else at their instant."""
from __future__ import annotations

from webapp.engine.loop import ARRIVALS, INF, LOOKUPS, SAMPLES, TIMEOUTS, TIMERS, Loop, cancel


def _loop(fired: list) -> Loop:
    loop = Loop(sample_every_s=1.0, samples_until=1.0)
    loop.arrivals.handler = lambda t, name: fired.append((t, ARRIVALS, name))
    loop.lookups.handler = lambda t, name: fired.append((t, LOOKUPS, name))
    loop.timeouts.handler = lambda t, name, _: fired.append((t, TIMEOUTS, name))
    loop.on_sample = lambda t: fired.append((t, SAMPLES, "sample"))
    return loop


def test_at_equal_times_lanes_fire_in_rank_order_and_each_lane_in_the_order_made():
    fired: list = []
    loop = _loop(fired)
    # Made in the opposite order of their ranks, all due at t = 1.0.
    loop.push_timeout([1.0, "timeout-1", 0])
    loop.push_timeout([1.0, "timeout-2", 0])
    loop.lookups.entries.extend([(1.0, "lookup-1"), (1.0, "lookup-2")])
    loop.arrivals.entries.extend([(1.0, "arrival-1"), (1.0, "arrival-2")])
    loop.later(1.0, lambda t, name: fired.append((t, TIMERS, name)), "timer-1")
    loop.later(1.0, lambda t, name: fired.append((t, TIMERS, name)), "timer-2")
    loop.run(INF, None)
    assert [(rank, name) for _, rank, name in fired] == [
        (TIMERS, "timer-1"), (TIMERS, "timer-2"), (ARRIVALS, "arrival-1"),
        (ARRIVALS, "arrival-2"), (LOOKUPS, "lookup-1"), (LOOKUPS, "lookup-2"),
        (TIMEOUTS, "timeout-1"), (TIMEOUTS, "timeout-2"), (SAMPLES, "sample")]
    assert loop.finished and loop.steps == len(fired)       # the sample at 1.0 is a step too


def test_earlier_times_come_first_whatever_the_rank():
    fired: list = []
    loop = _loop(fired)
    loop.push_timeout([0.1, "timeout", 0])
    loop.lookups.entries.append((0.2, "lookup"))
    loop.arrivals.entries.append((0.3, "arrival"))
    loop.later(0.4, lambda t, name: fired.append((t, TIMERS, name)), "timer")
    loop.run(INF, None)
    assert [name for _, _, name in fired] == ["timeout", "lookup", "arrival", "timer", "sample"]


def test_a_cancelled_timeout_takes_no_step_and_does_not_keep_the_run_alive():
    fired: list = []
    loop = _loop(fired)
    entry = [5.0, "late", 0]
    loop.push_timeout(entry)
    loop.arrivals.entries.append((0.5, "arrival"))
    cancel(entry)
    loop.run(INF, None)
    assert [name for _, _, name in fired] == ["arrival", "sample"]
    assert loop.steps == 2 and loop.now == 1.0


def test_a_step_budget_cuts_the_run_with_a_final_sample():
    fired: list = []
    loop = Loop(sample_every_s=10.0, samples_until=10.0, max_steps=3)
    loop.arrivals.handler = lambda t, name: fired.append(name)
    loop.on_sample = lambda t: fired.append(("sample", t))
    loop.arrivals.entries.extend((0.1 * i, f"a{i}") for i in range(1, 6))
    loop.run(INF, None)
    assert fired == ["a1", "a2", "a3", ("sample", 0.30000000000000004)]
    assert loop.finished and loop.truncated and loop.steps == 3


def test_refill_hands_out_a_long_lane_a_block_at_a_time():
    fired: list = []
    loop = _loop(fired)
    blocks = iter([[(0.1, "b")], [(0.2, "c")]])

    def refill():
        block = next(blocks, None)
        if block is None:
            loop.arrivals.refill = None
        else:
            loop.arrivals.entries.extend(block)
    loop.arrivals.refill = refill
    loop.arrivals.entries.append((0.0, "a"))
    loop.run(INF, None)
    assert [name for _, _, name in fired] == ["a", "b", "c", "sample"]
