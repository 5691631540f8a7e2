"""Probabilistic early refresh: XFetch (Vattani, Chierichetti, Lowenstein, VLDB 2015).

Every read of a fresh value rolls a die: it recomputes the value early if

    now - delta * beta * ln(random()) >= expiry

where ``delta`` is how long the value took to compute (stored with it) and ``beta`` (1 in the
paper) how eager to be. The chance grows as expiry nears -- about 37% per read one ``delta``
before it -- so under load one reader almost always refreshes just before the value expires,
and nobody ever sees the miss. Each reader decides alone: no lock, no coordination, so small
bursts of two or three refreshes remain. Like stale-while-revalidate it cannot help a key that
is not cached yet.
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
