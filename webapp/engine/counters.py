"""The run's cumulative counters: samples copy them, the summary reports them."""

NAMES = ("requests", "arrived", "completed", "errors", "timeouts", "retries", "retries_denied",
         "db_queries", "db_rejected", "db_failed", "db_cancelled", "coalesced", "cache_hits",
         "cache_misses", "stale_served",
         "after_requests", "after_completed",   # those that arrived after the trigger (metrics)
         # Lessons 12-14's features; the summary shows each only when its feature is on
         # (metrics.FEATURES), so runs without them are unchanged.
         "sent_elsewhere", "local_hits", "not_found", "negative_hits", "passed", "wait_timeouts")


class Counters:
    """``requests`` also numbers them (a new request's id is the count before it)."""

    __slots__ = NAMES

    def __init__(self) -> None:
        for name in NAMES:
            setattr(self, name, 0)

    @property
    def in_flight(self) -> int:
        """Requests started and not yet ended (the wire calls it ``inflight_requests`` in
        samples and ``in_flight`` in the summary)."""
        return self.requests - self.completed - self.errors - self.timeouts

    def as_dict(self) -> dict[str, int]:
        return {**{name: getattr(self, name) for name in NAMES}, "in_flight": self.in_flight}
