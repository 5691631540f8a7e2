"""The lessons' only door into the engine: validate an experiment, list keys, run summaries.

Keeping every engine call here means the loader, ``lessons check`` and the pages agree on what a
lesson's experiment *is* (a preset plus overrides, parsed by the engine's own validation), and a
change in the engine's API touches one file.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from webapp.engine import parse_scenario, run_summary, schema
from webapp.lessons.expr import numeric_keys
from webapp.lessons.model import Experiment

# The smallest run that produces every summary key: summary keys do not depend on the scenario,
# so one tiny run tells the loader which names a check may use.
_PROBE = {"clients": {"count": 2}, "duration_s": 1.0}


def scenario_for(experiment: Experiment) -> Any:
    """The engine's Scenario for an experiment; raises the engine's ScenarioError when invalid."""
    return parse_scenario(experiment.overrides, preset=experiment.preset)


@lru_cache(maxsize=1)
def control_keys() -> frozenset[str]:
    """Every scenario key the lab can show as a control."""
    return frozenset(row["key"] for row in schema())


@lru_cache(maxsize=1)
def summary_keys() -> frozenset[str]:
    """Every numeric summary key (dotted), as the engine produces them today."""
    return frozenset(numeric_keys(run_summary(parse_scenario(_PROBE))))


def run_summary_of(experiment: Experiment) -> dict[str, Any]:
    """Run one experiment summary-only (no per-request events): what ``lessons check`` needs."""
    return run_summary(scenario_for(experiment))


def run_cost(experiment: Experiment) -> float:
    """A rough relative cost of running the experiment: about how many requests it makes.

    Only used to start the most costly runs first when ``lessons check`` spreads them over
    processes; a run that cannot be built costs nothing (it fails at once, with its reason).
    """
    try:
        s = scenario_for(experiment)
    except ValueError:
        return 0.0
    if s.workload.kind == "live_video":
        return s.clients.count * math.ceil(s.duration_s / s.workload.segment_s)
    if s.clients.arrival == "poisson":
        return min(s.clients.count, s.clients.rate_per_s * s.duration_s)
    return s.clients.count
