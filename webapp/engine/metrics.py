"""The summary of a run: pure functions over the run's counters and latency records."""
import math
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from webapp.engine.experiment import Simulation


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_ms(sorted_latencies_s: Sequence[float]) -> dict[str, float | None]:
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


def summary(sim: "Simulation") -> dict[str, Any]:
    """The run so far (final once ``sim.finished``); every value JSON-able."""
    st = sim.stats
    s = sim.scenario
    return {
        "requests": st.requests,
        "completed": st.completed,
        "errors": st.errors,
        "timeouts": st.timeouts,
        "in_flight": st.open,
        "attempts": st.arrived,
        "retries": st.retries,
        "db_queries": st.db_queries,
        "db_rejected": st.db_rejected,
        "db_failed": st.db_failed,
        "peak_db_inflight": sim.db.peak_inflight,
        "cache_hits": st.cache_hits,
        "cache_misses": st.cache_misses,
        "stale_served": st.stale_served,
        "cache_hit_ratio": hit_ratio(st.cache_hits, st.stale_served, st.cache_misses),
        "coalesced": st.coalesced,
        "latency_ms": latency_ms(sorted(sim.latencies)),
        "db_down_s": round(sim.db.down_so_far(sim.now), 6),
        "chunks": sim.chunks,
        "servers_down": sim.servers.alive.count(False),
        "sim_time_s": round(sim.now, 6),
        "events": sim.steps,
        "finished": sim.finished,
        "seed": s.seed,
        "coalesce": s.strategy.coalesce,
    }
