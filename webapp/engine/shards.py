"""The cache tier's own limit: shards that serve a bounded number of operations a second.

Off (``cache.shard_ops_per_s`` 0), the cache answers at once, however many ask. On, the cache is
``cache.shards`` shards, each a single FIFO server taking ``1 / shard_ops_per_s`` per operation,
and a key lives on the shard its name hashes to (CRC-32, the same on every run and machine;
copy ``i`` of a replicated key on the ``i``-th shard after it). One hot key therefore loads one
shard: its readers queue there while the other shards idle.

Every operation takes its turn: a request's lookup, a value written, a lock or marker claimed,
a mitigation's poll. A FIFO queue with a fixed service time needs no events of its own: an
operation arriving at ``t`` is served from ``max(t, free)`` to ``free = max(t, free) + service``,
so ``take`` computes its end at once. A lookup lands when its shard has served it (plus the
round trip, ``cache.lookup_ms``); a mitigation's calls (a poll, a claim, a write) answer at once,
as the port's calls do, but take their turn, so the lookups queued behind them wait longer.
"""
import zlib

from webapp.engine.histogram import LogHistogram


class Shards:
    def __init__(self, count: int, ops_per_s: float) -> None:
        self.count = count
        self.service_s = 1.0 / ops_per_s
        self.free = [0.0] * count            # when each shard has served its queue
        self.ops = [0] * count               # operations each shard has served (or will)
        self.waits = LogHistogram()          # lookups' time in their shard's queue
        self.wait_sum = 0.0
        self.wait_max = 0.0

    def shard(self, name: str, copy: int = 0) -> int:
        """The shard of copy ``copy`` of ``name``."""
        return (zlib.crc32(name.encode()) + copy) % self.count

    def take(self, t: float, shard: int) -> float:
        """One operation arrives at ``shard`` at ``t``: when it has been served."""
        start = self.free[shard]
        if start < t:
            start = t
        done = self.free[shard] = start + self.service_s
        self.ops[shard] += 1
        return done

    def lookup(self, t: float, key: str, copy: int = 0) -> float:
        """A request's read of ``key`` (of that copy): when its shard has served it."""
        done = self.take(t, self.shard(key, copy))
        wait = done - self.service_s - t
        self.waits.add_sorted((wait,))
        self.wait_sum += wait
        if wait > self.wait_max:
            self.wait_max = wait
        return done

    def op(self, t: float, name: str, copies: int = 1) -> None:
        """A mitigation's call about ``name`` (written to every copy)."""
        for copy in range(copies):
            self.take(t, self.shard(name, copy))

    def summary(self, span_s: float) -> dict[str, float | int | dict[str, float | None] | None]:
        """The tier's totals over a run of ``span_s``: its operations, the busiest shard's (and
        the share of the time it was busy), and the lookups' waits in the queues."""
        total = sum(self.ops)
        busiest = max(self.ops)
        n = self.waits.count
        p99 = self.waits.percentile(99)
        busy = busiest * self.service_s / span_s if span_s > 0 else None
        return {"ops": total, "busiest_shard_ops": busiest,
                "busiest_shard_share": round(busiest / total, 6) if total else None,
                "busiest_shard_busy": None if busy is None else round(min(busy, 1.0), 6),
                "lookup_wait_ms": {"mean": round(self.wait_sum / n * 1000.0, 3) if n else None,
                                   "p99": None if p99 is None else round(p99 * 1000.0, 3),
                                   "max": round(self.wait_max * 1000.0, 3) if n else None}}
