"""Herd Lab's simulation engine: deterministic thundering-herd experiments, no Flask.

    scn = parse_scenario({"clients": {"count": 500}}, preset="classroom")
    for ev in Simulation(scn).events(): ...
    run_summary(scn)  # -> dict
"""
from webapp.engine.events import Event
from webapp.engine.experiment import Simulation
from webapp.engine.presets import PRESETS, get_preset
from webapp.engine.scenario import (Scenario, ScenarioError, apply_overrides, parse_scenario,
                                    schema)


def run_summary(scenario: Scenario) -> dict:
    """Run without per-request events and return the summary."""
    return Simulation(scenario, record_requests=False).run().summary()


__all__ = ["Event", "PRESETS", "Scenario", "ScenarioError", "Simulation", "apply_overrides",
           "get_preset", "parse_scenario", "run_summary", "schema"]
