"""Pre-warming: the producer writes each new live chunk into the cache before announcing it.

In live video every viewer asks for the newest chunk as soon as it is announced, so each chunk
is a brand-new key and a herd of misses. If the producer pushes the chunk into the cache first
(as a live origin can), the announcement finds it already there: no miss, no datastore query.
"""


def publish(sim, t: float, key: str) -> None:
    sim.cache_put(t, key, role="prewarm", delta=sim.mean_service_s)
