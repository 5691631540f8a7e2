"""Viewers: when requests arrive and for which key.

Arrivals are generated up front, already sorted, one batch per herd (the whole run for hot_key,
one chunk for live_video), from their own random stream. The loop merges the batch with its heap
instead of pushing a million arrival events, and runs with and without a mitigation see exactly
the same arrivals.
"""
import bisect
import itertools
import math
from random import Random

from webapp.engine.scenario import Clients

_STRIDES = (1_000_003, 104_729, 7_919, 7_907, 101, 3)


def arrival_offsets(c: Clients, rng: Random, horizon_s: float) -> list[float]:
    """Sorted arrival times (seconds from the start of the herd), all below ``horizon_s``."""
    if c.arrival == "ramp":
        step = c.window_s / c.count
        times = [i * step for i in range(c.count)]
    elif c.arrival == "burst":
        window = c.window_s
        rand = rng.random
        times = sorted([rand() * window for _ in range(c.count)])
    else:
        expo = rng.expovariate
        rate = c.rate_per_s
        times = list(itertools.accumulate(expo(rate) for _ in range(c.count)))
    if times and times[-1] >= horizon_s:
        times = times[:bisect.bisect_left(times, horizon_s)]
    return times


def viewer_order(count: int, n: int, shift: int) -> list[int]:
    """Which viewer makes the i-th arrival: a cheap fixed permutation (i * stride + shift) mod
    count, so the same viewers are not always first and no million-element shuffle is needed."""
    stride = next((s for s in _STRIDES if math.gcd(s, count) == 1), 1)
    return [(i * stride + shift) % count for i in range(n)]


def zipf_picker(keys: int, s: float, rng: Random):
    """A function returning a key index with probability proportional to 1 / rank**s."""
    cum = list(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, keys + 1)))
    total = cum[-1]
    rand = rng.random
    return lambda: bisect.bisect_right(cum, rand() * total)
