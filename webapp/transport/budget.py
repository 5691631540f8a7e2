"""Refuse, before any work, a run whose estimated cost is over the server's budget per run.

The estimate is the engine's (``estimate_steps``, ``explain_cost``; see ``worker/engine_api``); the
refusal names the keys that make the run expensive, so the page can point at them.
"""
from __future__ import annotations

from webapp.engine import Scenario
from webapp.transport.payloads import PayloadError, StartRequest
from webapp.worker import engine_api


def check_cost(scenario: Scenario, max_steps: int, field: str = "scenario") -> None:
    steps = engine_api.estimate_steps(scenario)
    if steps <= max_steps:
        return
    keys = engine_api.explain_cost(scenario) or ["clients.count"]
    named = ", ".join(f"{field}.{key}" for key in keys)
    raise PayloadError(
        f"This run would take about {steps:,} engine steps, more than this server's budget of "
        f"{max_steps:,} per run. What makes it expensive: {named}. Make it smaller, or run it "
        "from the command line (python -m webapp run).", f"{field}.{keys[0]}")


def check_start(req: StartRequest, max_steps: int) -> None:
    """Both sides of a live run (the lab's and a room's) within the step budget per run."""
    check_cost(req.scenario, max_steps)
    if req.compare is not None:
        check_cost(req.compare, max_steps, "compare")
