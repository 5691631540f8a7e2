"""With no cache, no contention and no crash the datastore is a textbook queue."""
from __future__ import annotations

import math

import pytest

from herd_support import scenario
from webapp.engine import run_summary


def erlang_c_mean_response(arrival_rate: float, service_s: float, c: int) -> float:
    """Mean time in system for M/M/c: S + P(wait) * S / (c (1 - rho))."""
    a = arrival_rate * service_s
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return service_s + p_wait * service_s / (c * (1 - rho))


def _queue(rate, service_ms, connections, count):
    return scenario(duration_s=count / rate * 1.2, sample_interval_s=1.0,
                    clients={"count": count, "arrival": "poisson", "rate_per_s": rate},
                    cache={"enabled": False},
                    datastore={"connections": connections, "service_ms": service_ms,
                               "service_dist": "exponential"})


def test_erlang_c_helper_matches_the_reference_table():
    # mitigations.md: c=16, S=10 ms, rho=0.8 -> 11.0 ms; rho=0.9 -> 13.7 ms
    assert erlang_c_mean_response(1280, 0.010, 16) * 1000 == pytest.approx(11.0, abs=0.05)
    assert erlang_c_mean_response(1440, 0.010, 16) * 1000 == pytest.approx(13.7, abs=0.05)


def test_mm1_mean_latency_matches_s_over_one_minus_rho():
    s = run_summary(_queue(rate=500.0, service_ms=1.0, connections=1, count=120_000))
    expected_ms = 1.0 / (1 - 0.5)
    assert s["completed"] == s["requests"] == s["db_queries"]
    assert s["latency_answered_ms"]["mean"] == pytest.approx(expected_ms, rel=0.03)


def test_mmc_mean_latency_matches_erlang_c():
    rate, service_s, c = 3200.0, 0.001, 4                    # rho = 0.8
    s = run_summary(_queue(rate=rate, service_ms=1.0, connections=c, count=150_000))
    expected_ms = erlang_c_mean_response(rate, service_s, c) * 1000
    assert s["latency_answered_ms"]["mean"] == pytest.approx(expected_ms, rel=0.03)
