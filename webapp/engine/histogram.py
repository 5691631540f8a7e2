"""A log-bucket histogram: percentiles of a run so far, within 1%, in constant memory.

Samples report percentiles of every latency since t=0. Keeping every latency sorted would cost
the run's whole history on each sample; instead each latency falls into a bucket
``[RATIO**b, RATIO**(b+1))`` and a percentile is read off the bucket that holds its rank, as the
bucket's geometric middle: at most ``sqrt(RATIO) - 1`` = 0.5% from the exact value (HdrHistogram
and DDSketch work the same way). The buckets are a Fenwick tree, so adding a sample interval's
latencies and finding a rank each take a few steps whatever the run's length.
"""
import bisect
import math
from typing import Sequence

RATIO = 1.01
LOW_S = 1e-9             # latencies below this (a nanosecond) count as 0
HIGH_S = 1e5             # above every possible latency (a run lasts at most hours)
_LOG_RATIO = math.log(RATIO)
_BUCKETS = math.ceil(math.log(HIGH_S / LOW_S) / _LOG_RATIO) + 1    # bucket 0: below LOW_S
_TOP = 1 << (_BUCKETS - 1).bit_length()                            # the tree's highest step


def _bucket(x: float) -> int:
    if x < LOW_S:
        return 0
    return min(_BUCKETS - 1, 1 + int(math.log(x / LOW_S) / _LOG_RATIO))


def _middle(b: int) -> float:
    return 0.0 if b == 0 else LOW_S * RATIO ** (b - 1 + 0.5)


class LogHistogram:
    def __init__(self) -> None:
        self.count = 0
        self._tree = [0] * (_BUCKETS + 1)          # 1-based Fenwick tree of bucket counts

    def copy(self) -> "LogHistogram":
        other = LogHistogram()
        other.count = self.count
        other._tree = self._tree.copy()
        return other

    def add_sorted(self, values: Sequence[float]) -> None:
        """Add already sorted values, one tree update per bucket they fall in."""
        i, n = 0, len(values)
        while i < n:
            b = _bucket(values[i])
            upper = LOW_S if b == 0 else LOW_S * RATIO ** b     # where bucket b ends
            j = bisect.bisect_left(values, upper, i) if b < _BUCKETS - 1 else n
            j = max(j, i + 1)        # a value that rounding put in this bucket stays in it
            self._add(b, j - i)
            i = j
        self.count += n

    def _add(self, b: int, k: int) -> None:
        tree, i = self._tree, b + 1
        while i <= _BUCKETS:
            tree[i] += k
            i += i & -i

    def percentile(self, q: float) -> float | None:
        """Nearest-rank ``q``-th percentile (0 < q <= 100), or None when empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q / 100.0 * self.count))
        # Descend the tree: the largest prefix of buckets holding fewer than ``rank`` values.
        tree, pos, step = self._tree, 0, _TOP
        while step:
            nxt = pos + step
            if nxt <= _BUCKETS and tree[nxt] < rank:
                pos = nxt
                rank -= tree[nxt]
            step >>= 1
        return _middle(pos)              # pos is the 0-based bucket holding the rank
