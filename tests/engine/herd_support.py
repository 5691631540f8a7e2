"""Helpers for engine tests (imported by name: pytest puts this folder on sys.path)."""
from __future__ import annotations

from typing import Any

from webapp.engine import Simulation, parse_scenario


def scenario(preset: str | None = None, **sections: Any):
    """``scenario(clients={"count": 50}, strategy={"coalesce": "promise"})``."""
    return parse_scenario(sections, preset=preset)


def run_events(scn, **kw) -> tuple[Simulation, list]:
    sim = Simulation(scn, **kw)
    return sim, list(sim.events())


