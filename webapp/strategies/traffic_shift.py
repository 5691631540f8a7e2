"""Gradual traffic shift: send a cold cluster a growing share of the traffic, not all of it.

A new cluster (or one whose cache was just restarted) has an empty cache, so at first every
request misses. Sent the whole traffic at once, its datastore gets a herd of misses on every
popular key. Sent a small share that grows, it fills its cache while the load is light: by the
time it takes everything, the popular keys are cached. Here the share rises in a straight line
from 0 to 1 over ``strategy.traffic_shift_s``; each new request is kept with that probability,
and the others go to a warm cluster that is not simulated (counted as ``sent_elsewhere``).
Google's SRE book advises exactly this for cold caches: add load to a cluster slowly.
"""
from webapp.engine.ports import Host


class TrafficShift:
    switch = "strategy.traffic_shift_s"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.ramp_s = host.config("strategy").traffic_shift_s
        self.rng = host.rng("shift")

    def admit(self, t: float) -> bool:
        """Is a new request arriving at ``t`` sent to this cluster?"""
        if self.rng.random() < t / self.ramp_s:
            return True
        self.host.count("sent_elsewhere")
        return False
