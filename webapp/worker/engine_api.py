"""The engine features the workers use, behind one small adapter.

The engine stream is adding, in parallel with this code, three things the workers rely on
(CONTRACTS.md, "Engine → everyone" 4 and 5): ``Simulation(..., sample_every=k)`` (record only the
animated viewers), ``Simulation(..., max_steps=N)`` (end cleanly past a step budget) and
``estimate_steps`` / ``explain_cost`` (refuse an expensive scenario up front). This module uses
them when the engine has them and otherwise does the same job from outside the engine:

- without ``sample_every`` the worker filters events itself (same events, more engine work);
- without ``max_steps`` the worker checks ``sim.steps`` between slices and stops the run itself;
- without ``estimate_steps`` a rough estimate below names the same kinds of keys.

``ENGINE_HAS`` says which path is taken; delete each fallback once the engine has its feature.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import webapp.engine as engine
from webapp.engine import Scenario, Simulation

_PARAMS = inspect.signature(Simulation.__init__).parameters
ENGINE_HAS = {
    "sample_every": "sample_every" in _PARAMS,
    "max_steps": "max_steps" in _PARAMS,
    "estimate_steps": hasattr(engine, "estimate_steps") and hasattr(engine, "explain_cost"),
}


def new_simulation(scenario: Scenario, *, record: bool, sample_every: int = 1,
                   max_steps: int | None = None) -> Simulation:
    """A simulation recording per-request events for every ``sample_every``-th viewer (if any)."""
    kwargs: dict[str, Any] = {"record_requests": record}
    if record and ENGINE_HAS["sample_every"]:
        kwargs["sample_every"] = sample_every
    if max_steps is not None and ENGINE_HAS["max_steps"]:
        kwargs["max_steps"] = max_steps
    return Simulation(scenario, **kwargs)


def filters_itself(record: bool) -> bool:
    """Whether the engine already keeps only the sampled viewers' events."""
    return record and ENGINE_HAS["sample_every"]


def stops_itself() -> bool:
    """Whether the engine ends the run at ``max_steps`` (else the worker checks ``sim.steps``)."""
    return ENGINE_HAS["max_steps"]


def estimate_steps(scenario: Scenario) -> int:
    if ENGINE_HAS["estimate_steps"]:
        return int(engine.estimate_steps(scenario))  # type: ignore[attr-defined]
    return _rough_steps(scenario)[0]


def explain_cost(scenario: Scenario) -> list[str]:
    if ENGINE_HAS["estimate_steps"]:
        return list(engine.explain_cost(scenario))  # type: ignore[attr-defined]
    return _rough_steps(scenario)[1]


def _rough_steps(s: Scenario) -> tuple[int, list[str]]:
    """Fallback until the engine's ``estimate_steps``: an upper-bound-ish count of loop steps.

    Each request costs a few steps per attempt; waiters that poll (lock, marker) cost one step per
    poll for as long as a fetch may take (a query's service time, or its timeout); samples cost
    one step each over the run and a drain as long as the slowest query.
    """
    requests = s.clients.count
    if s.workload.kind == "live_video":
        requests *= math.ceil(s.duration_s / s.workload.segment_s)
    attempts = requests * (1 + s.clients.retries)
    per_attempt = 6
    named: list[tuple[float, str]] = [(attempts * per_attempt, "clients.count")]
    if s.clients.retries:
        named.append((attempts * per_attempt, "clients.retries"))
    wait_s = s.datastore.service_ms / 1000.0 * 10   # a fetch under load, generously
    if s.clients.timeout_s:
        wait_s = min(wait_s, s.clients.timeout_s * (1 + s.clients.retries))
    polls = 0.0
    if s.strategy.coalesce == "lock":
        polls = attempts * wait_s / (s.strategy.lock_poll_ms / 1000.0)
        named.append((polls, "strategy.lock_poll_ms"))
    elif s.strategy.coalesce == "distributed":
        polls = s.servers.count * max(1, requests // max(1, s.clients.count)) * wait_s \
            / (s.strategy.marker_poll_ms / 1000.0)
        named.append((polls, "strategy.marker_poll_ms"))
    if polls:
        named.append((polls, "datastore.service_ms"))
    drain_s = s.duration_s + s.datastore.service_ms / 1000.0 * 20 + s.clients.timeout_s
    samples = drain_s / s.sample_interval_s
    named.append((samples, "sample_interval_s"))
    total = attempts * per_attempt + polls + samples
    worst = sorted(named, reverse=True)
    keys = [key for cost, key in worst if cost >= total / 4]
    return int(total), list(dict.fromkeys(keys))
