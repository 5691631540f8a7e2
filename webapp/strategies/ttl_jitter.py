"""TTL jitter: stretch each TTL by a random fraction so keys written together expire apart.

A deploy or a cold start writes many keys within a second; with equal TTLs they all expire in
the same second and the misses arrive as one herd. With ``ttl_jitter = 0.1`` each key lives
ttl_s to 1.1 x ttl_s, spreading the same misses over a tenth of the TTL. It does nothing for one
hot key: that needs coalescing or early refresh.
"""
from random import Random


def jittered_ttl(ttl_s: float, jitter: float, rng: Random) -> float:
    return ttl_s * (1.0 + jitter * rng.random()) if jitter else ttl_s
