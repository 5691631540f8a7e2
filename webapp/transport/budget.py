"""Refuse, before any work, a run whose estimated cost is over the server's budget per run.

The estimate is the engine's (``estimate_steps``, an upper bound on its loop steps, and
``explain_cost``, the keys that make it expensive, costliest first); the refusal names those keys,
so the page can point at them.
"""
from __future__ import annotations

from typing import Any, Sequence

from webapp.engine import Scenario, estimate_steps, explain_cost
from webapp.transport.payloads import PayloadError, StartRequest


def check_cost(scenario: Scenario, max_steps: int, field: str = "scenario",
               inputs: Sequence[dict[str, Any]] = ()) -> None:
    """``scenario`` with ``inputs`` (an input can make a run costlier) within ``max_steps``."""
    steps = estimate_steps(scenario, inputs)
    if steps <= max_steps:
        return
    # Each reason reads "dotted.key: why (about N steps)".
    keys = [reason.partition(":")[0] for reason in explain_cost(scenario, inputs)] \
        or ["clients.count"]
    named = ", ".join(f"{field}.{key}" for key in keys)
    raise PayloadError(
        f"This run would take about {steps:,} engine steps, more than this server's budget of "
        f"{max_steps:,} per run. What makes it expensive: {named}. Make it smaller, or run it "
        "from the command line (python -m webapp run).", f"{field}.{keys[0]}")


def check_start(req: StartRequest, max_steps: int) -> None:
    """Both sides of a live run (the lab's and a room's) within the step budget per run."""
    check_cost(req.scenario, max_steps, inputs=req.inputs)
    if req.compare is not None:
        check_cost(req.compare, max_steps, "compare", req.inputs)


def check_intervention_cost(sides: Sequence[Scenario | None], inputs: Sequence[dict[str, Any]],
                            max_steps: int) -> None:
    """A run given one more input (``inputs`` ends with it) still within the budget per run:
    a long ``slow_db`` can make a small run expensive."""
    for side in sides:
        if side is None:
            continue
        steps = estimate_steps(side, inputs)
        if steps > max_steps:
            raise PayloadError(
                f"With this intervention the run would take about {steps:,} engine steps, more "
                f"than this server's budget of {max_steps:,} per run: try a smaller factor or a "
                "shorter slowdown.", "input")
