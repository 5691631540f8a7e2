"""Pre-loading: write the most popular keys into a cold cache before traffic arrives.

An empty cache makes every popular key a herd of misses at once. If a list of the keys that were
hot (from the old cluster, or yesterday's logs) is loaded before the cluster takes traffic, the
most requested keys are hits from the first request, and only the long tail of rarer keys
misses. The loading happens before the run starts (a script reading them one at a time, or a
copy from a warm cluster), so it costs the datastore nothing during the run. It only helps with
the keys on the list: a key that becomes hot later still misses.
"""
from webapp.engine.ports import Host


class Preload:
    switch = "strategy.preload_keys"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.count = host.config("strategy").preload_keys
        # The loader read each value from the datastore; record its usual cost with it.
        self.delta = host.config("datastore").service_ms / 1000.0

    def on_start(self, t: float, keys: list[str]) -> None:
        """The run begins; ``keys`` most popular first."""
        for key in keys[:self.count]:
            self.host.put(t, key, "preload", self.delta)
