"""The summary of a run: pure functions over a record of it (Ciw's and 500 Lines' habit:
results are records, metrics are computed from them afterwards)."""
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

# Counters of lessons 12-14's features, each with the scenario key that turns it on: the summary
# has a counter only in a run where its feature is on (or was switched on by an input), so a run
# without them has exactly the keys it always had.
FEATURES = {
    "sent_elsewhere": "strategy.traffic_shift_s",   # arrivals a traffic shift sent to a warm cluster
    "local_hits": "cache.local_ttl_ms",             # answered from a server's local cache
    "not_found": "workload.ask_early_s",            # queries answered 'not found' (too early)
    "negative_hits": "cache.negative_ttl_ms",       # lookups answered by a cached 'not found'
    "passed": "strategy.hit_for_pass_s",            # misses sent straight on by hit-for-pass
    "wait_timeouts": "strategy.wait_timeout_ms",    # waiters that gave up and fetched themselves
}


@dataclass(frozen=True)
class RunRecord:
    """A run as the summary sees it (final once ``finished``)."""

    counters: dict[str, int]
    answered_s: Sequence[float]       # every answered request's latency, in any order
    failed_s: Sequence[float]         # every failed request's time to failure, in any order
    peak_db_inflight: int
    db_down_s: float
    moments: dict[str, int]           # moments made so far, by what (engine/moments.py)
    moments_dropped: int
    inputs_applied: int
    chunks: int
    servers_down: int
    sim_time_s: float
    steps: int
    finished: bool
    truncated: bool
    seed: int
    coalesce: str
    after_s: float                    # faults.slow_db_at_s + faults.slow_db_for_s
    extra: dict[str, Any] = field(default_factory=dict)   # the keys of features that are on


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_ms(sorted_latencies_s: Sequence[float]) -> dict[str, float | None]:
    """mean, p50, p95, p99 and max in ms (nearest rank), all None when there are none."""
    if not sorted_latencies_s:
        return {"mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    ms = 1000.0
    return {
        "mean": round(math.fsum(sorted_latencies_s) / len(sorted_latencies_s) * ms, 3),
        "p50": round(percentile(sorted_latencies_s, 50) * ms, 3),
        "p95": round(percentile(sorted_latencies_s, 95) * ms, 3),
        "p99": round(percentile(sorted_latencies_s, 99) * ms, 3),
        "max": round(sorted_latencies_s[-1] * ms, 3),
    }


def hit_ratio(hits: int, stale: int, misses: int) -> float | None:
    """Share of cache reads answered from the cache (a stale answer counts as served)."""
    reads = hits + stale + misses
    return round((hits + stale) / reads, 6) if reads else None


def summary(run: RunRecord) -> dict[str, Any]:
    """The run's summary; every value JSON-able."""
    c = run.counters
    answered = sorted(run.answered_s)
    # Two sorted runs: timsort merges them in linear time.
    everyone = sorted(answered + sorted(run.failed_s)) if run.failed_s else answered
    return {
        "requests": c["requests"],
        "completed": c["completed"],
        "errors": c["errors"],
        "timeouts": c["timeouts"],
        "in_flight": c["in_flight"],
        "attempts": c["arrived"],
        "retries": c["retries"],
        "retries_denied": c["retries_denied"],
        "db_queries": c["db_queries"],
        "db_rejected": c["db_rejected"],
        "db_failed": c["db_failed"],
        "db_cancelled": c["db_cancelled"],
        "peak_db_inflight": run.peak_db_inflight,
        "cache_hits": c["cache_hits"],
        "cache_misses": c["cache_misses"],
        "stale_served": c["stale_served"],
        "cache_hit_ratio": hit_ratio(c["cache_hits"], c["stale_served"], c["cache_misses"]),
        "coalesced": c["coalesced"],
        "latency_everyone_ms": latency_ms(everyone),
        "latency_answered_ms": latency_ms(answered),
        "after_trigger": {"from_s": run.after_s, "requests": c["after_requests"],
                          "completed": c["after_completed"]},
        "db_down_s": round(run.db_down_s, 6),
        "chunks": run.chunks,
        "servers_down": run.servers_down,
        "sim_time_s": round(run.sim_time_s, 6),
        "events": run.steps,
        "finished": run.finished,
        "truncated": run.truncated,
        "seed": run.seed,
        "coalesce": run.coalesce,
        "moments": run.moments,
        "moments_dropped": run.moments_dropped,
        "inputs_applied": run.inputs_applied,
        **run.extra,
    }
