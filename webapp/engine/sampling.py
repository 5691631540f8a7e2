"""Samples: every ``sample_interval_s`` of virtual time (the loop's SAMPLES lane, after every
other event of that instant), the datastore's state, every counter, and the interval's answers
and their latency percentiles. Counters are exact whatever is recorded per request."""
from webapp.engine import metrics
from webapp.engine.events import SAMPLE, Event
from webapp.engine.lifecycle import Lifecycle


class Sampler:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._last_t = 0.0

    def sample(self, t: float) -> None:
        life = self.lifecycle
        c = life.counters
        db = life.db
        lats = life.interval_latencies
        n = len(lats)
        p50 = p99 = None
        if n:
            lats.sort()
            p50 = metrics.percentile(lats, 50) * 1000.0
            p99 = metrics.percentile(lats, 99) * 1000.0
        span = t - self._last_t
        rps = n / span if span > 0 else 0.0
        running = len(db.running)
        life.recorder.system(Event((
            t, SAMPLE, None, None, None, None,
            len(db.queue), running, running / db.cfg.connections, db.state,
            c.arrived, c.completed, c.errors, c.timeouts, c.retries, c.db_queries,
            c.db_rejected, c.db_failed, c.coalesced, c.cache_hits, c.cache_misses,
            c.stale_served, c.in_flight, n, rps, p50, p99)))
        life.interval_latencies = []
        self._last_t = t
