"""TTL jitter: stretch each TTL by a random fraction so keys written together expire apart.

A deploy or a cold start writes many keys within a second; with equal TTLs they all expire in
the same second and the misses arrive as one herd. With ``ttl_jitter = 0.1`` each key lives
ttl_s to 1.1 x ttl_s, spreading the same misses over a tenth of the TTL. It does nothing for one
hot key: that needs coalescing or early refresh.
"""
from webapp.engine.ports import Host


class TtlJitter:
    switch = "cache.ttl_jitter"

    def __init__(self, host: Host) -> None:
        self.jitter = host.config("cache").ttl_jitter
        self.rng = host.rng("strategy")

    def ttl(self, ttl_s: float) -> float:
        return ttl_s * (1.0 + self.jitter * self.rng.random())
