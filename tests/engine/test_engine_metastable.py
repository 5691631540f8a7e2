"""Metastable failure (issue 12): a short trigger, a collapse that outlasts it, and the fix.

The ``metastable`` preset: Poisson load at 70% of the datastore's capacity, clients that time out
after 1 s and retry at once up to 3 times, and a 3 s, 4-fold slowdown of the datastore at 10 s
(``faults.slow_db_*``). Bronson et al. (HotOS '21) call the loop that keeps it down afterwards
the sustaining effect: here the retries (up to 4 times the load) and the work of queries that
finish after their clients left. Load shedding and a retry budget break it.
"""
from __future__ import annotations

from statistics import mean

import pytest

from herd_support import run_events, scenario
from webapp.engine import Simulation, run_summary

SEEDS = [1, 2, 3]


def _after(summary) -> float:
    """Share of the requests arriving after the trigger that were answered."""
    after = summary["after_trigger"]
    return after["completed"] / after["requests"]


def _samples(scn):
    sim = Simulation(scn, record_requests=False)
    return [ev for ev in sim.events() if ev.kind == "sample"], sim.summary()


def test_a_slowdown_stretches_the_queries_that_start_during_it_and_is_announced():
    scn = scenario(duration_s=3.0, clients={"count": 200, "arrival": "ramp", "window_s": 3.0},
                   cache={"enabled": False},
                   datastore={"service_ms": 10.0, "service_dist": "constant"},
                   faults={"slow_db_at_s": 1.0, "slow_db_for_s": 1.0, "slow_factor": 5.0})
    _, events = run_events(scn)
    started = [(ev.t, ev.service_ms) for ev in events if ev.kind == "db_started"]
    assert all(ms == pytest.approx(50.0 if 1.0 <= t < 2.0 else 10.0) for t, ms in started)
    assert {t for t, _ in started if 1.0 <= t < 2.0}
    slow = [(ev.t, ev.factor, ev.until) for ev in events if ev.kind == "db_slow"]
    assert slow == [(1.0, 5.0, 2.0), (2.0, 1.0, None)]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_collapse_persists_after_the_trigger_is_gone(seed):
    samples, s = _samples(scenario(preset="metastable", seed=seed))
    assert _after(s) < 0.2                       # about one in eight answered
    late = [ev for ev in samples if 40.0 < ev.t <= 60.0]
    goodput = (late[-1].completed - late[0].completed) / (late[-1].t - late[0].t)
    assert goodput < 0.2 * 112                   # the trigger ended at 13 s
    assert min(ev.inflight_requests for ev in late) > 300
    assert s["db_cancelled"] > 0 and s["retries"] > 2 * s["requests"]


@pytest.mark.parametrize("seed", SEEDS)
def test_without_the_trigger_or_without_retries_nothing_collapses(seed):
    quiet = run_summary(scenario(preset="metastable", seed=seed, faults={"slow_db_for_s": 0.0}))
    assert _after(quiet) > 0.99 and quiet["timeouts"] < 0.01 * quiet["requests"]
    # The retries are the sustaining effect: without them the same trigger passes.
    once = run_summary(scenario(preset="metastable", seed=seed, clients={"retries": 0}))
    assert _after(once) > 0.99


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fix", [
    {"clients": {"retry_budget": 0.1}, "datastore": {"queue_limit": 40}},
    {"clients": {"retry_budget": 0.1}},
    {"datastore": {"queue_limit": 40}},
], ids=["shedding+budget", "budget", "shedding"])
def test_load_shedding_and_a_retry_budget_restore_it(seed, fix):
    s = run_summary(scenario(preset="metastable", seed=seed, **fix))
    assert _after(s) > 0.97
    if "retry_budget" in fix.get("clients", {}):
        assert s["retries"] <= 0.1 * s["requests"] + 1
    if "queue_limit" in fix.get("datastore", {}):
        assert s["db_rejected"] > 0              # it shed load during the trigger


@pytest.mark.parametrize("healthy", [True, False], ids=["healthy", "collapsed"])
def test_littles_law_reads_off_the_live_in_flight_count(healthy):
    """L = lambda x W over the last 20 s: ``inflight_requests`` (L) from the samples, the
    throughput (lambda) from their ``ends`` per interval, and W the mean time from arrival to
    answer or failure of the requests that ended then."""
    scn = scenario(preset="metastable", seed=4,
                   faults={"slow_db_for_s": 0.0 if healthy else 3.0})
    sim = Simulation(scn, sample_every=4)
    samples, latencies = [], []
    for ev in sim.events():
        if ev.kind == "sample" and 40.0 < ev.t <= 60.0:
            samples.append(ev)
        elif ev.kind == "respond" and 40.0 < ev.t <= 60.0:
            latencies.append(ev.latency_ms / 1000.0)
    L = mean(ev.inflight_requests for ev in samples)
    lam = sum(ev.ends for ev in samples) / (samples[-1].t - samples[0].t + 0.1)
    W = mean(latencies)                          # a quarter of the viewers, traced
    assert L == pytest.approx(lam * W, rel=0.1)
    assert lam == pytest.approx(112.0, rel=0.1)  # in a steady state, as many leave as come
    assert (W < 0.1) if healthy else (3.0 < W < 4.1)
