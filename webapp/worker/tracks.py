"""One side of a run inside a worker: a simulation stepped through virtual time, plus its inputs.

The engine is stepped in fixed increments of ``STEP`` virtual seconds (``Simulation.advance``),
which yields exactly the events of ``Simulation.events()`` (a test checks this). A run's inputs
(a classroom tap, an intervention: engine input records, docs/events.md "Inputs") are the
engine's own: given up front they make the same run, event for event, as when they were added
while it ran, so a seek or a restart re-runs the same run from the same list.
"""
from __future__ import annotations

import math
from typing import Any

from webapp.engine import Scenario, Simulation
from webapp.engine.moments import compact
from webapp.transport import wire

STEP = 0.01   # virtual seconds per engine step: how far ahead of the stream a tap may land


class Track:
    """A simulation of one scenario, stepped by ``STEP``, recording or summary-only."""

    def __init__(self, scenario: Scenario, *, record: bool, dot_scale: int, max_steps: int,
                 inputs: list[dict[str, Any]]) -> None:
        # The engine records per-request events only for the animated viewers (and taps).
        self.sim = Simulation(scenario, record_requests=record, sample_every=dot_scale,
                              max_steps=max_steps, inputs=inputs)
        self.index = 0                 # boundaries reached: the engine has run to index * STEP
        self.last_t = 0.0              # time of the latest event seen (the run's end when done)

    @property
    def finished(self) -> bool:
        return self.sim.finished

    @property
    def truncated(self) -> bool:
        return self.sim.truncated

    def step(self, until_t: float = math.inf) -> list[Any]:
        """Run one step (or up to ``until_t`` if that is sooner); the kept events, engine tuples."""
        target = (self.index + 1) * STEP
        if until_t < target:
            events = self.sim.advance(until_t)
        else:
            events = self.sim.advance(target)
            self.index += 1
        if events:
            self.last_t = events[-1][0]
        return events

    def moments(self) -> list[dict[str, Any]]:
        """The run's moments so far (all of them once finished), as ``started`` sends them."""
        return [compact(ev) for ev in self.sim.moments]

    def summary(self) -> dict[str, Any]:
        return self.sim.summary()


def encode(events: list[Any]) -> list[Any]:
    """Events in the wire format, computed here so the web process only forwards them."""
    return wire.encode(events)
