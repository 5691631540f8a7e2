"""The re-check (``strategy.recheck``): reading the cache and claiming the lock (or reaching the
promise table) are a round trip apart, and a value that lands in between must not be fetched
again. With the re-check off the race shows, as it did on the real stack (issue 21).

The lesson's scenario: 400 requests evenly over 0.3 s (one every 0.75 ms), 1 ms cache round
trips, 50 ms queries. The first request reads at 1 ms, claims at 2 ms and writes the value at
52 ms. The requests whose reads fall in the last millisecond before that missed, and reach the
lock (or the promise table) after the holder let go."""
from __future__ import annotations

import pytest

from herd_support import run_events, scenario

MODES = ("lock", "notify", "promise", "distributed")
RACE = {"clients": {"count": 400, "arrival": "ramp", "window_s": 0.3},
        "datastore": {"service_ms": 50.0, "service_dist": "constant"}}


def _run(coalesce: str, recheck: bool, seed: int = 1, **overrides):
    return run_events(scenario(seed=seed, **RACE, **overrides,
                               strategy={"coalesce": coalesce, "recheck": recheck}))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("coalesce", MODES)
def test_without_the_recheck_a_miss_just_before_the_value_lands_fetches_it_again(coalesce, seed):
    sim, events = _run(coalesce, recheck=False, seed=seed)
    assert sim.summary()["db_queries"] == 2
    first, second = [ev for ev in events if ev.kind == "fetch_start"]
    written = next(ev.t for ev in events if ev.kind == "cache_set")
    assert first.t == pytest.approx(0.002) and written == pytest.approx(0.052)
    # The trace of the race: the second fetcher read the cache (a miss) before the value was
    # written, and reached the lock, marker or promise table one round trip later, after it.
    missed = next(ev.t for ev in events if ev.kind == "cache_miss" and ev.req == second.req)
    assert missed < written < second.t == pytest.approx(missed + 0.001)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("coalesce", MODES)
def test_with_the_recheck_the_late_reader_uses_the_value_that_landed(coalesce, seed):
    sim, events = _run(coalesce, recheck=True, seed=seed)
    s = sim.summary()
    assert s["db_queries"] == 1 and s["completed"] == 400
    rechecked = [ev for ev in events if ev.kind == "respond" and ev.source == "recheck"]
    written = next(ev.t for ev in events if ev.kind == "cache_set")
    assert rechecked and all(ev.t > written for ev in rechecked)
    missed = {ev.req: ev.t for ev in events if ev.kind == "cache_miss"}
    assert all(missed[ev.req] < written for ev in rechecked)


@pytest.mark.parametrize("coalesce", MODES)
def test_no_round_trip_no_race(coalesce):
    """With cache.lookup_ms=0 the read and the claim share one instant: nothing can land in
    between, so even without the re-check there is one query."""
    sim, _ = _run(coalesce, recheck=False, cache={"lookup_ms": 0.0})
    assert sim.summary()["db_queries"] == 1
