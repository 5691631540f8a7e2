"""Latency is reported honestly: failures count with their time to failure (contract item 1)."""
from __future__ import annotations

import bisect
import math

import pytest

from herd_support import run_events
from webapp.engine import parse_scenario
from webapp.engine.metrics import percentile


def _ends(events):
    return [ev for ev in events if ev.kind == "respond"]


@pytest.fixture(scope="module")
def classroom():
    """No mitigation: hundreds of fast errors beside slow answers."""
    return run_events(parse_scenario({}, preset="classroom"))


def test_the_summary_has_everyone_and_answered_percentiles_and_no_latency_ms(classroom):
    sim, events = classroom
    s = sim.summary()
    assert "latency_ms" not in s
    ends = _ends(events)
    everyone = sorted(ev.latency_ms for ev in ends)
    answered = sorted(ev.latency_ms for ev in ends if ev.status == "ok")
    assert s["errors"] > 100 and len(everyone) == s["requests"] > len(answered) == s["completed"]
    for name, values in (("latency_everyone_ms", everyone), ("latency_answered_ms", answered)):
        lat = s[name]
        assert lat["p50"] == pytest.approx(percentile(values, 50), abs=1e-3)
        assert lat["p99"] == pytest.approx(percentile(values, 99), abs=1e-3)
        assert lat["max"] == pytest.approx(values[-1], abs=1e-3)
        assert lat["mean"] == pytest.approx(math.fsum(values) / len(values), abs=1e-3)
    # The unmitigated run no longer looks fast: its failures took seconds.
    assert s["latency_everyone_ms"]["p50"] > 10 * s["latency_answered_ms"]["p50"]


def _by_sample(events):
    """(sample, the respond events since the previous sample), in order."""
    out, since = [], []
    for ev in events:
        if ev.kind == "respond":
            since.append(ev)
        elif ev.kind == "sample":
            out.append((ev, since))
            since = []
    return out


def test_each_sample_counts_what_ended_in_its_interval(classroom):
    _, events = classroom
    total = 0
    for sample, mine in _by_sample(events):
        ok = sorted(ev.latency_ms for ev in mine if ev.status == "ok")
        every = sorted(ev.latency_ms for ev in mine)
        assert (sample.ends, sample.responses) == (len(every), len(ok))
        if every:
            assert sample.lat_p50_ms == pytest.approx(percentile(every, 50))
            assert sample.lat_p99_ms == pytest.approx(percentile(every, 99))
        else:
            assert sample.lat_p50_ms is sample.lat_p99_ms is None
        if ok:
            assert sample.lat_p99_answered_ms == pytest.approx(percentile(ok, 99))
        else:
            assert sample.lat_p99_answered_ms is None
        total += len(mine)
    assert total == len(_ends(events))


@pytest.mark.parametrize("preset, overrides", [
    ("classroom", {}),
    ("retry-storm", {"clients": {"backoff": "full_jitter"}}),
    ("expiry-herd", {"clients": {"count": 6000}, "strategy": {"stale_while_revalidate": True}}),
])
def test_cumulative_percentiles_are_within_one_percent_of_the_exact_ones(preset, overrides):
    _, events = run_events(parse_scenario(overrides, preset=preset))
    every, ok = [], []
    checked = 0
    for sample, mine in _by_sample(events):
        for ev in mine:
            bisect.insort(every, ev.latency_ms)
            if ev.status == "ok":
                bisect.insort(ok, ev.latency_ms)
        for got, values, q in ((sample.p50_ms, every, 50), (sample.p99_ms, every, 99),
                               (sample.p99_answered_ms, ok, 99)):
            if not values:
                assert got is None
                continue
            assert got == pytest.approx(percentile(values, q), rel=0.01, abs=1e-6)
            checked += 1
    assert checked > 50


def test_a_failure_counts_with_its_time_to_failure():
    # No cache, clients give up after 0.2 s and do not retry: every request fails at 200 ms.
    scn = parse_scenario({"duration_s": 1.0, "clients": {"count": 50, "timeout_s": 0.2},
                          "cache": {"enabled": False},
                          "datastore": {"connections": 1, "service_ms": 500.0,
                                        "service_dist": "constant"}})
    sim, events = run_events(scn)
    s = sim.summary()
    assert s["timeouts"] == 50 and s["completed"] == 0
    assert s["latency_answered_ms"] == dict.fromkeys(("mean", "p50", "p95", "p99", "max"))
    assert s["latency_everyone_ms"]["p50"] == s["latency_everyone_ms"]["max"] == 200.0
