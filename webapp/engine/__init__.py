"""Herd Lab's simulation engine: deterministic thundering-herd experiments, no Flask.

    scn = parse_scenario({"clients": {"count": 500}}, preset="classroom")
    for ev in Simulation(scn).events(): ...
    run_summary(scn)  # -> dict
    estimate_steps(scn), explain_cost(scn)   # what it will cost, and which keys to blame

The layers, bottom up (docs/architecture.md): ``events`` and ``ports`` (the vocabulary and the
interface mitigations use), ``scenario`` and ``presets``, then ``webapp.strategies`` (which
import only ``ports`` and ``events``), then the simulation that hosts them. Importing this
package loads only the bottom layers; ``Simulation`` and ``run_summary`` load the simulation
on first use, so a strategy module can be imported first without a cycle.
"""
from typing import Any

from webapp.engine.cost import estimate_steps, explain_cost
from webapp.engine.events import Event
from webapp.engine.presets import PRESETS
from webapp.engine.scenario import (Scenario, ScenarioError, apply_overrides, get_preset,
                                    parse_scenario, schema)


def run_summary(scenario: Scenario, max_steps: int | None = None) -> dict:
    """Run without per-request events and return the summary (see ``Simulation``)."""
    from webapp.engine.simulation import Simulation

    return Simulation(scenario, record_requests=False, max_steps=max_steps).run().summary()


def __getattr__(name: str) -> Any:
    """``webapp.engine.Simulation`` (PEP 562): the simulation sits above the strategies."""
    if name == "Simulation":
        from webapp.engine.simulation import Simulation

        return Simulation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Event", "PRESETS", "Scenario", "ScenarioError", "Simulation", "apply_overrides",
           "estimate_steps", "explain_cost", "get_preset", "parse_scenario", "run_summary",
           "schema"]
