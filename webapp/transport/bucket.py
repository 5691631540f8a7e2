"""A token bucket: a sustained rate with a burst, for budgets of what a connection may send."""
from __future__ import annotations


class TokenBucket:
    """``take`` succeeds at most ``burst`` times at once, then ``rate`` times a second."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def full(self, now: float) -> bool:
        """Refilled to its burst: the same as a new bucket (so it can be forgotten)."""
        return self.tokens + (now - self.stamp) * self.rate >= self.burst

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
