"""The exact numbers of a paused instant (worker/peek.py, WorkerSource.peek): what the engine itself
says at exactly that instant, from the streaming worker or, once its stream is over, from one worker
kept for that; one instant asked at a time, and a seek or an input makes an old answer stale."""
from __future__ import annotations

import pytest

from webapp.engine import PRESETS, Simulation, parse_scenario
from webapp.transport import wire
from webapp.worker.peek import Peeker
from tests.transport.test_worker import drain, notices_until, pool, source, until  # noqa: F401

FAMILIES = [{}, {"strategy": {"coalesce": "promise"}}, {"strategy": {"coalesce": "lock"}}]


def engine_at(scenario, t: float, inputs: list | None = None) -> list:
    """The sample a recording run makes at exactly ``t`` (everything at ``t`` done), as sent."""
    sim = Simulation(scenario, record_requests=True, sample_every=5, inputs=inputs or [])
    sim.advance(t)
    return list(wire.encode([sim.peek()])[0])


def answer(peeker: Peeker, epoch: int, t: float, inputs: list) -> tuple:
    peeker.want(epoch, t, inputs)
    while (got := peeker.work(0.01)) is None:
        pass
    return got


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_a_peek_is_the_engines_own_sample_there_forwards_backwards_and_with_inputs(preset):
    for overrides in FAMILIES:
        try:
            scenario = parse_scenario({"clients": {"count": 400}, **overrides}, preset=preset)
        except ValueError:   # (lock waits on a cache this preset has not)
            continue
        peeker = Peeker([scenario], 10**8)
        for t in (0.41, 1.234567, 2.0, 0.8):   # on and off the step grid; the last goes back
            got = answer(peeker, 3, t, [])
            assert got[:3] == ("peek", 3, t) and [list(s) for s in got[3]] == [engine_at(scenario, t)]
        expire = [{"t": 0.5, "kind": "expire_key"}]
        got = answer(peeker, 4, 1.5, expire)   # another run: it starts over
        assert [list(s) for s in got[3]] == [engine_at(scenario, 1.5, expire)]


def test_a_peek_carries_on_from_the_last_instant_and_starts_over_only_when_it_must():
    scenario = parse_scenario(preset="classroom")
    peeker = Peeker([scenario], 10**8)
    answer(peeker, 0, 2.0, [])
    first = peeker.tracks[0]
    answer(peeker, 0, 3.5, [])
    assert peeker.tracks[0] is first and peeker.reached == 3.5       # stepping on costs the step
    answer(peeker, 0, 1.0, [])
    assert peeker.tracks[0] is not first                              # back in time: again from 0
    peeker.want(0, 2.0, [])
    peeker.want(0, 2.5, [])                                           # a newer instant replaces it
    assert peeker.wanted == (0, 2.5)


def test_a_streaming_worker_answers_for_both_sides_and_a_finished_one_leaves_one_worker_to(pool):
    a = parse_scenario({"clients": {"count": 300}}, preset="classroom")
    b = parse_scenario({"clients": {"count": 300}, "strategy": {"coalesce": "promise"}},
                       preset="classroom")
    src = source(pool, a, b, window_bytes=16 << 10)    # it cannot compute ahead to the end
    until(src, lambda: src.ready)
    assert src.peek(0.73) is None and src.peek(0.73) is None     # asked once, answered later
    until(src, lambda: src.peek(0.73) is not None)
    assert [list(s) for s in src.peek(0.73)] == [engine_at(a, 0.73), engine_at(b, 0.73)]
    assert src._peeker is None                                    # the streaming worker made it
    drain(src)
    until(src, lambda: src.done and src._worker is None)          # its worker went back
    until(src, lambda: src.peek(5.25) is not None)
    assert [list(s) for s in src.peek(5.25)] == [engine_at(a, 5.25), engine_at(b, 5.25)]
    peeker = src._peeker
    until(src, lambda: src.peek(6.5) is not None)
    assert src._peeker is peeker and src._worker is None          # one worker for the run
    src.close()
    assert src._peeker is None


def test_one_instant_is_asked_at_a_time_and_a_seek_or_an_input_makes_an_answer_stale(pool):
    scenario = parse_scenario({"clients": {"count": 200}, "duration_s": 4.0}, preset="classroom")
    src = source(pool, scenario)
    until(src, lambda: src.ready)
    drain(src)
    until(src, lambda: src._worker is None)
    sent = []
    real_ask = src._ask_peek

    def ask() -> None:
        before = src._peek_asked
        real_ask()
        if src._peek_asked is not before and src._peek_asked is not None:
            sent.append(src._peek_asked[2])
    src._ask_peek = ask
    for t in (0.1, 0.2, 0.3, 0.4):   # a page pausing again and again before any answer
        src.peek(t)
    until(src, lambda: src.peek(0.4) is not None)
    assert sent == [0.1, 0.4]                            # the first, then only the newest
    record = {"t": 0.3, "kind": "expire_key"}
    src.add_input(record)
    assert src.peek(0.4) is None                          # the run changed: not the old answer
    notices_until(src, "inputs")
    until(src, lambda: src.peek(0.4) is not None)
    assert list(src.peek(0.4)[0]) == engine_at(scenario, 0.4, [record])
    src.seek(0.4)
    assert src.peek(0.4) is None                          # (after a seek its state says them)
    src.close()
