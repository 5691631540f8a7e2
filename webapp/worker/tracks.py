"""One side of a run inside a worker: a simulation stepped through virtual time, plus its inputs.

The engine is stepped in fixed increments of ``STEP`` virtual seconds (``Simulation.advance``),
which yields exactly the events of ``Simulation.events()`` (a test checks this) and gives every
input a deterministic place: a classroom tap is injected at a step boundary, recorded as that
boundary's index, and a replay injects it at the same index, so a seek re-runs the same run.
"""
from __future__ import annotations

import math
from typing import Any

from webapp.engine import Scenario, Simulation
from webapp.transport import wire

STEP = 0.01   # virtual seconds per engine step: how far ahead of the stream a tap may land


class Track:
    """A simulation of one scenario, stepped by ``STEP``, recording or summary-only."""

    def __init__(self, scenario: Scenario, *, record: bool, dot_scale: int, max_steps: int,
                 inputs: list[int]) -> None:
        # The engine records per-request events only for the animated viewers (and taps).
        self.sim = Simulation(scenario, record_requests=record, sample_every=dot_scale,
                              max_steps=max_steps)
        self.inputs = sorted(inputs)   # step indices at which a tap is injected
        self._next_input = 0
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
        self._inject_due()
        target = (self.index + 1) * STEP
        if until_t < target:
            events = self.sim.advance(until_t)
        else:
            events = self.sim.advance(target)
            self.index += 1
        if events:
            self.last_t = events[-1][0]
        return events

    def inject_now(self) -> tuple[int, float]:
        """A tap: one more viewer request at the current boundary; (request id, its time)."""
        t = self.index * STEP
        req = self.sim.inject(t)
        self.inputs.append(self.index)
        self._next_input = len(self.inputs)
        return req, t

    def _inject_due(self) -> None:
        """Replay recorded taps whose boundary has been reached (re-runs after a seek)."""
        while self._next_input < len(self.inputs) and self.inputs[self._next_input] <= self.index:
            self.sim.inject(self.inputs[self._next_input] * STEP)
            self._next_input += 1

    def summary(self) -> dict[str, Any]:
        return self.sim.summary()


def encode(events: list[Any]) -> list[Any]:
    """Events in the wire format, computed here so the web process only forwards them."""
    return wire.encode(events)
