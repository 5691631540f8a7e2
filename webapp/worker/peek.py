"""The exact numbers of a paused instant: the ``sample`` a page shows beside the picture it holds.

A stream runs ahead of playback, so when a page pauses or steps to ``t`` its worker is past ``t``
(or done and gone) and the page's latest sample may be up to an interval old: the cards and the
code panel would say less than the picture. A ``Peeker`` runs the same run again, summary-only
(every counter, ``waiting``, ``herds`` and ``made`` are exact whatever is recorded), up to ``t``
and peeks there (``Simulation.peek``).

Bounded: one instant is wanted at a time (a newer one replaces it), worked towards in slices so
the worker keeps reading its inbox. The simulations are kept: a later instant carries on from the
last one (stepping through a heavy run costs the steps, not a re-run each); an earlier instant or
another list of inputs starts over from t=0.
"""
from __future__ import annotations

import time
from typing import Any

from webapp.engine import Scenario
from webapp.worker.tracks import STEP, Track, encode


class Peeker:
    def __init__(self, scenarios: list[Scenario], max_steps: int) -> None:
        self.scenarios = scenarios
        self.max_steps = max_steps
        self.tracks: list[Track] = []
        self.inputs: list[dict[str, Any]] | None = None   # the list the tracks were built with
        self.reached = 0.0                                 # the tracks have run to here
        self.wanted: tuple[int, float] | None = None       # (epoch, t) still to answer

    def want(self, epoch: int, t: float, inputs: list[dict[str, Any]]) -> None:
        """The instant to answer next, of the run these inputs make (replaces any waiting)."""
        if inputs != self.inputs or t < self.reached:
            self.tracks = [Track(s, record=False, dot_scale=1, max_steps=self.max_steps,
                                 inputs=inputs) for s in self.scenarios]
            self.inputs = list(inputs)
            self.reached = 0.0
        self.wanted = (epoch, t)

    def work(self, budget_s: float) -> tuple[Any, ...] | None:
        """Run towards the wanted instant for about ``budget_s``; once there, the answer:
        ``("peek", epoch, t, [sample, ...])``, one wire-format sample per side."""
        assert self.wanted is not None
        epoch, t = self.wanted
        deadline = time.monotonic() + budget_s
        for track in self.tracks:
            while not track.finished and track.index * STEP <= t:
                partial = (track.index + 1) * STEP > t
                track.step(t)   # (the last, partial step runs to t itself)
                if partial:
                    break
                if time.monotonic() > deadline:
                    return None   # not there yet: the next slice goes on
        self.reached = t
        self.wanted = None
        return ("peek", epoch, t, encode([tr.sim.peek() for tr in self.tracks]))
