"""How often a claim holds: the share a lesson states, and how a draw of seeds judges it.

A run is one random sample of the arrivals, so some things a lesson says hold on every seed (one
query per chunk with a lock: the mechanism makes it so) and others only on most of them ("in most
runs 40 to 100 queries"), or split (the datastore crashes in about 7 runs of 10). A claim of the
second kind states its share, and ``lessons check`` judges it on a draw of seeds the way a
statistician would: a TRUE claim must pass almost every draw, so the number of seeds it must hold
on is set by the binomial tail at the share the lesson claims.

The margin. ``make test`` checks the course on a fresh random draw every run, so a true claim
that fails by bad luck is a flaky test. We allow the whole course one false alarm in 1,000 test
runs (``FALSE_ALARM``), shared by at most ``MAX_SHARE_CHECKS`` share checks: each may fail a draw
by chance with probability at most ``ALPHA`` = 2e-5 when its claim is exactly at the edge of what
it states, and less when the truth is inside it (the binomial tail falls as the share moves
away from the edge). A share ``[low, high]`` is met by a draw of n seeds when the count k of
seeds it holds on satisfies ``k_min <= k <= k_max``, with ``k_min`` the largest count such that
P(Binomial(n, low) < k_min) <= ALPHA (split in two halves when both sides are bounded) and
``k_max`` the smallest such that P(Binomial(n, high) > k_max) <= ALPHA. "In most runs" is the share
[0.95, 1]: on 40 seeds it needs 30 of them, on 20 seeds 13. What a draw of 40 cannot tell apart
(a claim true on 90% of seeds instead of 95%) is what ``lessons dist`` over 1,000 seeds is for:
that is where an author measures the share before writing it down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

FALSE_ALARM = 1e-3       # a true course fails at most this share of test runs by bad luck
MAX_SHARE_CHECKS = 50    # ... with at most this many share checks (tests/lessons enforce it)
ALPHA = FALSE_ALARM / MAX_SHARE_CHECKS
MOST = (0.95, 1.0)       # "in most runs": at least 95% of seeds


@dataclass(frozen=True)
class Share:
    """The claimed share of seeds on which the comparison holds: somewhere in ``[low, high]``."""

    low: float
    high: float

    @property
    def most(self) -> bool:
        return (self.low, self.high) == MOST

    def accepted(self, seeds: int) -> tuple[int, int]:
        """``(k_min, k_max)``: the counts of ``seeds`` passing seeds that meet the claim."""
        return accepted(seeds, self.low, self.high)

    def __str__(self) -> str:
        if self.most:
            return "in most runs"
        if self.high == 1.0:
            return f"in at least {_pct(self.low)} of runs"
        return f"in {_pct(self.low)} to {_pct(self.high)} of runs"


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) <= k), summed in log space (exact enough for n up to thousands)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p
             + (n - i) * log_q for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


@lru_cache(maxsize=1024)
def accepted(n: int, low: float, high: float, alpha: float = ALPHA) -> tuple[int, int]:
    """The counts ``k_min..k_max`` of n seeds a claim with share in [low, high] must land in.

    Each bounded side gets the whole ``alpha`` when the other is open (low 0 or high 1), half of
    it otherwise, so a true claim falls outside with probability at most ``alpha``.
    """
    sides = (low > 0.0) + (high < 1.0)
    each = alpha / max(1, sides)
    k_min = 0
    if low > 0.0:
        k_min = max(k for k in range(n + 1) if binomial_cdf(k - 1, n, low) <= each)
    k_max = n
    if high < 1.0:
        k_max = min(k for k in range(n + 1) if 1.0 - binomial_cdf(k, n, high) <= each)
    return k_min, k_max


def chance_outside(n: int, p: float, k_min: int, k_max: int) -> float:
    """P(a draw of n seeds lands outside k_min..k_max) when the claim holds on a share p of seeds:
    how often a draw would fail a claim whose true share is p (``lessons dist`` prints it)."""
    return min(1.0, binomial_cdf(k_min - 1, n, p) + 1.0 - binomial_cdf(k_max, n, p))


def wilson(k: int, n: int, z: float = 3.29) -> tuple[float, float]:
    """A confidence interval for a share measured as k of n (Wilson; z = 3.29 is 99.9%)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
