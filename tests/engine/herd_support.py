"""Helpers for engine tests (imported by name: pytest puts this folder on sys.path)."""
from __future__ import annotations

from typing import Any

from webapp.engine import Simulation, parse_scenario


def scenario(preset: str | None = None, **sections: Any):
    """``scenario(clients={"count": 50}, strategy={"coalesce": "promise"})``."""
    return parse_scenario(sections, preset=preset)


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` on top, section by section (neither is changed)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in overrides.items():
        if isinstance(value, dict):
            out.setdefault(key, {}).update(value)
        else:
            out[key] = value
    return out


def run_events(scn, **kw) -> tuple[Simulation, list]:
    sim = Simulation(scn, **kw)
    return sim, list(sim.events())


