"""Client retry backoff: how long a client waits before trying again.

Retrying at once turns every timeout into more load exactly when the datastore is slowest, and
clients that failed together retry together. Backoff spaces retries out; jitter desynchronises
them (Marc Brooker, "Exponential Backoff And Jitter", AWS 2015). ``retry`` is 1 for the first.

- none:        0 (retry immediately)
- fixed:       base
- exponential: min(cap, base * 2**(retry-1))
- full_jitter: uniform(0, min(cap, base * 2**(retry-1)))
"""
from random import Random


def retry_delay_s(policy: str, retry: int, base_s: float, cap_s: float, rng: Random) -> float:
    if policy == "none":
        return 0.0
    if policy == "fixed":
        return base_s
    ceiling = min(cap_s, base_s * 2 ** (retry - 1))
    return ceiling if policy == "exponential" else rng.uniform(0.0, ceiling)
