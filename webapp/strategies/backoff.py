"""Client retry backoff: how long a client waits before trying again.

Retrying at once turns every timeout into more load exactly when the datastore is slowest, and
clients that failed together retry together. Backoff spaces retries out; jitter desynchronises
them (Marc Brooker, "Exponential Backoff And Jitter", AWS 2015). Jitter helps where failures
come in waves (a crash fails everything held at once: the retry-waves preset); where clients
failed at different moments anyway (retry-storm) there is nothing to desynchronise, and full
jitter only halves the mean wait. ``retry`` is 1 for the first.

- none:        0 (retry immediately; this mitigation is off)
- fixed:       base
- exponential: min(cap, base * 2**(retry-1))
- full_jitter: uniform(0, min(cap, base * 2**(retry-1)))
"""
from random import Random

from webapp.engine.ports import Host


def retry_delay_s(policy: str, retry: int, base_s: float, cap_s: float, rng: Random) -> float:
    if policy == "none":
        return 0.0
    if policy == "fixed":
        return base_s
    ceiling = min(cap_s, base_s * 2 ** (retry - 1))
    return ceiling if policy == "exponential" else rng.uniform(0.0, ceiling)


class Backoff:
    switch = "clients.backoff"

    def __init__(self, host: Host) -> None:
        cfg = host.config("clients")
        self.policy = cfg.backoff
        self.base_s = cfg.backoff_base_ms / 1000.0
        self.cap_s = cfg.backoff_cap_ms / 1000.0
        self.rng = host.rng("retry")

    def retry_delay(self, retry: int) -> float:
        return retry_delay_s(self.policy, retry, self.base_s, self.cap_s, self.rng)
