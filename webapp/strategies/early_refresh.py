"""Probabilistic early refresh: XFetch (Vattani, Chierichetti, Lowenstein, VLDB 2015).

Every read of a fresh value rolls a die: it recomputes the value early if

    now - delta * beta * ln(random()) >= expiry

where ``delta`` is how long the value took to compute (stored with it) and ``beta`` (1 in the
paper) how eager to be. A read at time x before expiry refreshes with probability
exp(-x / (beta * delta)): about 37% one ``delta`` before it at beta = 1. Under load someone
refreshes before the value expires, so nobody sees the miss -- but not just one reader. Each
decides alone, with no lock, and while the first refresh is being computed the old value is
still fresh and the readers keep rolling: with many readers (rate r, r * beta * delta >> 1)
the first refresh starts about beta * delta * ln(r * beta * delta) before expiry, and over the
next ``delta`` the others add about e^(1/beta) - 1 more -- about e^(1/beta) refreshes per
expiry, e = 2.7 at beta = 1, 1.6 at beta = 2. In the expiry-herd preset (1,000 reads a second,
delta about 0.1 s) beta = 1 gives 3.1 per expiry on average (seeds 1-20, 60 expiries; 1 to 11),
beta = 2 gives 1.6: a few queries instead of a hundred. Stale-while-revalidate gets to exactly
one by marking the value as being refreshed. Like it, XFetch cannot help a key that is not
cached yet.
"""
import math
from random import Random

from webapp.engine.ports import Entry, Host, Request


def wants_early_refresh(t: float, expires: float, delta: float, beta: float, rng: Random) -> bool:
    return t - delta * beta * math.log(1.0 - rng.random()) >= expires


class EarlyRefresh:
    switch = "strategy.early_refresh_beta"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.beta = host.config("strategy").early_refresh_beta
        self.rng = host.rng("strategy")

    def on_fresh(self, t: float, req: Request, attempt: int, server: int, entry: Entry) -> bool:
        if not wants_early_refresh(t, entry.expires, entry.delta, self.beta, self.rng):
            return False
        # This reader recomputes (as in the paper, it answers with the value it fetched).
        host = self.host
        host.fetch(t, req, attempt, server, "early_refresh",
                   lambda t, ok: host.settle(t, req, attempt, ok, "db"))
        return True
