"""The home page's live herd: one small run recorded from the engine, problem and fix side by side.

The home page plays it in the browser (static/js/home.js) instead of starting a run per visitor,
so a busy front page costs the server nothing and works offline. So that the picture can never
drift from what the engine does, `test_home.py` checks the stored file is exactly what this makes;
after an engine change run `.venv/bin/python -m tests.browser.home_herd` to write it again.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from webapp.engine import Simulation, get_preset
from webapp.engine.moments import compact
from webapp.engine.scenario import parse_scenario
from webapp.transport.wire import encode, event_fields

PATH = Path(__file__).resolve().parents[2] / "static" / "data" / "home-herd.json"
#: Virtual seconds recorded: the herd, the pile-up and the crash on side A; one query on side B.
UNTIL_S = 2.2
OVERRIDES = {"clients": {"count": 200, "window_s": 0.25}, "servers": {"count": 1}, "duration_s": 4.0}


def _scenario(coalesce: str) -> dict[str, Any]:
    scn = json.loads(json.dumps(get_preset("classroom")["scenario"]))
    for section, values in OVERRIDES.items():
        if isinstance(values, dict):
            scn.setdefault(section, {}).update(values)
        else:
            scn[section] = values
    scn.setdefault("strategy", {})["coalesce"] = coalesce
    return scn


def _side(coalesce: str) -> tuple[dict[str, Any], list[Any], list[dict[str, Any]]]:
    scenario = parse_scenario(_scenario(coalesce))
    sim = Simulation(scenario)
    events = [ev for ev in sim.advance(UNTIL_S) if ev[0] <= UNTIL_S]
    moments = [compact(ev) for ev in events if ev[1] == "moment"]
    return scenario.to_dict() if hasattr(scenario, "to_dict") else _scenario(coalesce), encode(events), moments


def recording() -> dict[str, Any]:
    """`started` (compare mode: A no mitigation, B promise) and each side's events up to UNTIL_S."""
    scn_a, events_a, moments_a = _side("none")
    scn_b, events_b, moments_b = _side("promise")
    started = {"run_id": "home", "scenario": scn_a, "compare": scn_b, "speed": 1.0, "viewers": 200,
               "duration_s": 4.0, "end_s": UNTIL_S, "dot_scale": 1, "event_fields": event_fields(),
               "moments": moments_a, "moments_b": moments_b, "inputs": []}
    return {"until_s": UNTIL_S, "started": started, "events": events_a, "events_b": events_b}


def text() -> str:
    return json.dumps(recording(), separators=(",", ":"), sort_keys=True) + "\n"


if __name__ == "__main__":
    PATH.write_text(text())
    print(f"wrote {PATH} ({PATH.stat().st_size:,} bytes)")
