"""What is true before it is written: a claim's distribution over many seeds (``lessons dist``).

An author measures first and writes second. For a check of a lesson (or an expression typed on
the command line) this runs its experiments on N seeds (through ``RunCache``, so measuring again
costs nothing until the engine changes) and reports what the sentence may honestly say:

- the value the claim is about, as quantiles, and the ranges that hold on 95%, 97.5% and 99% of
  the seeds: "in most runs" means at least 95%, so a range is best taken from the 97.5% or 99% one,
  whose margin keeps it true when the engine moves a little;
- how often the comparison holds, with a 99.9% confidence interval, and the verdict on the claim
  as written: a check without a share must hold on every seed; a share must contain the measured
  share;
- how often the suite's 40 seeds (20 fixed and 20 drawn afresh, judged together) would fail it at
  the measured share, were they all random: with a claim true as written that is at most
  ``shares.ALPHA``.

Run on the whole course (``lessons dist all --seeds 1000``) this is the course's calibration: one
command, re-run after every engine change, that says which sentences the engine no longer makes
true and what they should say instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from webapp.lessons.checks import Outcome
from webapp.lessons.shares import ALPHA, accepted, chance_outside, wilson

# The seeds the suite judges every claim on, each test run (tests/lessons/test_lessons_random.py):
# seeds 1..SUITE_FIXED and SUITE_RANDOM drawn afresh, judged together.
SUITE_FIXED = 20
SUITE_RANDOM = 20
DRAW = SUITE_FIXED + SUITE_RANDOM
COVERS = (0.95, 0.975, 0.99)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (q in 0..1)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    at = q * (len(sorted_values) - 1)
    low = math.floor(at)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (at - low)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


@dataclass(frozen=True)
class Report:
    """One check (or expression) over many seeds, with what the claim may say."""

    outcome: Outcome

    @property
    def values(self) -> list[float]:
        at = self.outcome.check.expect.subject
        return sorted(v.values[at] for v in self.outcome.verdicts if v.values)

    @property
    def is_value(self) -> bool:
        """An expression without a comparison: only its distribution is reported."""
        return not self.outcome.check.expect.ops

    @property
    def verdict(self) -> str:
        """TRUE or FALSE for the claim as written at these seeds (VALUE for an expression)."""
        if self.is_value:
            return "VALUE"
        o = self.outcome
        n, k = len(o.seeds), o.passed
        share = o.check.expect.share
        if not n:
            return "FALSE"
        if share is None:
            return "TRUE" if k == n else "FALSE"
        return "TRUE" if share.low <= k / n <= share.high else "FALSE"

    def lines(self) -> list[str]:
        o = self.outcome
        c = o.check
        n = len(o.seeds)
        out = [f"{self.verdict:5} {o.lesson} [{c.experiment}] {c.expect.text}",
               f"      says: {c.says}"]
        values = self.values
        if values:
            qs = {q: quantile(values, q) for q in (0, 0.01, 0.025, 0.05, 0.25, 0.5, 0.75, 0.95,
                                                   0.975, 0.99, 1)}
            mean = math.fsum(values) / len(values)
            out.append(f"      value over {len(values)} seeds: min {_fmt(qs[0])}  1% {_fmt(qs[0.01])}"
                       f"  5% {_fmt(qs[0.05])}  25% {_fmt(qs[0.25])}  median {_fmt(qs[0.5])}"
                       f"  75% {_fmt(qs[0.75])}  95% {_fmt(qs[0.95])}  99% {_fmt(qs[0.99])}"
                       f"  max {_fmt(qs[1])}  mean {_fmt(mean)}")
            ranges = "  ".join(f"{cover:.1%}: {_fmt(quantile(values, (1 - cover) / 2))}.."
                               f"{_fmt(quantile(values, (1 + cover) / 2))}" for cover in COVERS)
            out.append(f"      central ranges: {ranges}")
        broken = [v.detail for v in o.verdicts if not v.values]
        if broken:
            out.append(f"      not evaluated on {len(broken)} seeds: {broken[0]}")
        if self.is_value or not n:
            return out
        k = o.passed
        low, high = wilson(k, n)
        line = f"      holds on {k} of {n} seeds ({k / n:.1%}; 99.9% interval {low:.1%}..{high:.1%})"
        share = c.expect.share
        if share is None:
            failed = [s for s, v in zip(o.seeds, o.verdicts) if not v.ok]
            if failed:
                line += "; fails on seed " + ", ".join(map(str, failed[:10]))
                line += " ..." if len(failed) > 10 else ""
                line += ": state the share it holds on ('in most runs'), or widen the sentence"
            out.append(line)
            return out
        k_min, k_max = accepted(DRAW, share.low, share.high)
        risk = chance_outside(DRAW, k / n, k_min, k_max)
        out.append(line + f"; claimed {share}")
        out.append(f"      a draw of {DRAW} seeds needs {k_min}..{k_max}; at the measured share it "
                   f"fails {risk:.2g} of draws (a claim true as written: at most {ALPHA:.2g})")
        return out
