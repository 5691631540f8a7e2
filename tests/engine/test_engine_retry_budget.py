"""The retry budget (strategies/retry_budget.py): retries at most a share of recent requests."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from herd_support import run_events, scenario
from webapp.strategies.retry_budget import RetryBudget


class _Host:
    def __init__(self, share: float, window_s: float) -> None:
        self.clients = SimpleNamespace(retry_budget=share, retry_budget_window_s=window_s)

    def config(self, section: str):
        return self.clients


def test_retries_are_allowed_up_to_the_share_of_requests_in_the_window():
    budget = RetryBudget(_Host(0.5, 1.0))
    for i in range(10):
        budget.on_request(i / 10)                 # 10 requests in [0, 1)
    allowed = [budget.may_retry(0.95, None, 1) for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3    # 0.5 x 10


def test_old_requests_and_retries_leave_the_window():
    budget = RetryBudget(_Host(1.0, 1.0))
    for _ in range(4):
        budget.on_request(0.05)
    assert [budget.may_retry(0.1, None, 1) for _ in range(5)] == [True] * 4 + [False]
    # A window later the slice of t = 0.05 has gone: no requests, no retries left.
    assert budget.may_retry(1.2, None, 1) is False
    budget.on_request(1.2)
    assert budget.may_retry(1.25, None, 1) is True
    assert (budget.requests, budget.retries) == (1, 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_budget_caps_a_retry_storm_and_denied_requests_end_with_their_failure(seed):
    scn = scenario(preset="retry-storm", seed=seed, clients={"retry_budget": 0.1})
    sim, events = run_events(scn)
    s = sim.summary()
    assert 0 < s["retries"] <= 0.1 * s["requests"]       # the whole herd is in one window
    assert s["retries_denied"] > 0
    denied = [ev for ev in events if ev.kind == "retry_denied"]
    assert len(denied) == s["retries_denied"]
    final = {ev.req: ev for ev in events if ev.kind == "respond"}
    for ev in denied:
        end = final[ev.req]
        assert end.t == ev.t and end.attempt == ev.attempt and end.status == ev.reason
    last = [ev for ev in events if ev.kind == "sample"][-1]
    assert last.retries_denied == s["retries_denied"]


def test_without_failures_the_budget_is_never_felt():
    plain = scenario(preset="fleet", clients={"retries": 3, "timeout_s": 5.0})
    budgeted = scenario(preset="fleet", clients={"retries": 3, "timeout_s": 5.0,
                                                 "retry_budget": 0.01})
    a, b = run_events(plain)[0].summary(), run_events(budgeted)[0].summary()
    assert a["retries"] == b["retries"] == b["retries_denied"] == 0
    assert a == b
