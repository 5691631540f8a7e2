"""Samples: every ``sample_interval_s`` of virtual time (the loop's SAMPLES lane, after every
other event of that instant), the datastore's state, every counter, and latency percentiles.

Latency is reported honestly: a request that failed (an error, or a timeout, after its retries)
counts with its time to failure, so a run that fails fast cannot look fast. Each sample gives,
over the requests that *ended* in its interval, p50 and p99 of all of them and p99 of the
answered ones; and the same since t=0 from log-bucket histograms (within 1%; the summary's
numbers at the end are exact). Counters are exact whatever is recorded per request, and so are
what a picture needs beside them: the attempts waiting on another's fetch per server
(``waiting``), the herds' sizes per key (``herds``, moments.py) and how often each place in the
strategies' code made its event (``made``, lifecycle.py).

``peek`` makes the same record at any instant without touching the run (a page that seeks to an
instant shows exactly that instant, not the last sample before it).
"""
from webapp.engine import metrics
from webapp.engine.events import SAMPLE, Event
from webapp.engine.histogram import LogHistogram
from webapp.engine.lifecycle import Lifecycle


def _ms(x: float | None) -> float | None:
    return None if x is None else x * 1000.0


class Sampler:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.everyone = LogHistogram()
        self.answered = LogHistogram()
        self._last_t = 0.0

    def sample(self, t: float) -> None:
        life = self.lifecycle
        life.moments.sample(t)
        life.recorder.system(self._record(t, self.everyone, self.answered))
        life.interval_answered.clear()
        life.interval_failed.clear()
        self._last_t = t

    def peek(self, t: float) -> Event:
        """The sample a sample at ``t`` would be, the run left as it was."""
        return self._record(t, self.everyone.copy(), self.answered.copy())

    def _record(self, t: float, everyone: LogHistogram, answered_so_far: LogHistogram) -> Event:
        """The sample at ``t``; the interval's latencies are added to the two histograms."""
        life = self.lifecycle
        c = life.counters
        db = life.db
        answered = life.interval_answered
        answered.sort()
        ended = answered + life.interval_failed if life.interval_failed else answered
        if ended is not answered:
            ended.sort()
        p50 = p99 = p99_answered = None
        if ended:
            p50 = metrics.percentile(ended, 50) * 1000.0
            p99 = metrics.percentile(ended, 99) * 1000.0
            everyone.add_sorted(ended)
        if answered:
            p99_answered = metrics.percentile(answered, 99) * 1000.0
            answered_so_far.add_sorted(answered)
        n = len(answered)
        span = t - self._last_t
        rps = n / span if span > 0 else 0.0
        running = len(db.running)
        return Event((
            t, SAMPLE, None, None, None, None,
            db.queued, running, running / db.cfg.connections, db.state,
            c.arrived, c.completed, c.errors, c.timeouts, c.retries, c.db_queries,
            c.db_rejected, c.db_failed, c.coalesced, c.cache_hits, c.cache_misses,
            c.stale_served, c.in_flight, n, rps, p50, p99, p99_answered, len(ended),
            _ms(everyone.percentile(50)), _ms(everyone.percentile(99)),
            _ms(answered_so_far.percentile(99)), c.db_cancelled,
            c.retries_denied, life.moments.waiting(life.servers.count),
            life.moments.herd_sizes(), dict(life.made)))
