"""Pre-warming: the producer writes each new live chunk into the cache before announcing it.

In live video every viewer asks for the newest chunk as soon as it is announced, so each chunk
is a brand-new key and a herd of misses. If the producer pushes the chunk into the cache first
(as a live origin can), the announcement finds it already there: no miss, no datastore query.
"""
from webapp.engine.ports import Host


class Prewarm:
    switch = "strategy.prewarm"

    def __init__(self, host: Host) -> None:
        self.host = host
        # The producer computed the chunk itself; record the datastore's usual cost with it.
        self.delta = host.config("datastore").service_ms / 1000.0

    def on_publish(self, t: float, key: str) -> None:
        self.host.put(t, key, "prewarm", self.delta)
