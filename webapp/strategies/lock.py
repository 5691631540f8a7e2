"""Lock coalescing: one request per key fetches, the others poll the cache until it is filled.

This is nginx's ``proxy_cache_lock``: the first request to miss takes a lock on the key in the
shared cache (add-if-absent with a lease) and fetches; the rest cannot be told when the value
arrives, so they re-read the cache every ``lock_poll_ms`` (nginx: 500 ms). Correct -- one query
for the whole fleet -- but a waiter learns of the value only at its next poll, so it is slower
than a promise. If the leader fails, it releases the lock and returns its error; waiters are not
failed with it: the next one to poll finds the lock free and fetches again. The same happens when
the leader's client gives up while its query still waits for a connection: nobody else waits for
that query (the others wait for the cache), so the host cancels it and the lock is let go. A
leader that dies without releasing blocks the key until its lease (``lease_ms``) runs out.

**Re-check after winning.** Reading the cache and taking the lock are two round trips. A request
whose read missed just before the holder wrote the value can take the lock just after the holder
let go of it: it has won, but the value is there. So the winner reads the cache once more before
it fetches, as the textbook lock-then-recompute does (nginx reads the lock's state under its
cache zone's mutex instead). ``strategy.recheck=false`` leaves that out, to show the double fetch.

The lock is named after the mode (``lock:<key>``; notify.py's is ``notify:<key>``): a lock that
wakes its waiters and one that does not are two different locks, so switching from one to the
other mid-run never leaves a waiter expecting a wake-up from a holder that will not send one.
"""
from webapp.engine.events import LOCK_POLL, LOCK_WAIT
from webapp.engine.ports import Host, Request


class LockCoalescing:
    name = "lock"
    switch = "strategy.coalesce"

    def __init__(self, host: Host) -> None:
        cfg = host.config("strategy")
        self.host = host
        self.poll_s = cfg.lock_poll_ms / 1000.0
        self.lease_s = cfg.lease_ms / 1000.0

    def on_miss(self, t: float, req: Request, attempt: int, server: int) -> None:
        self.acquire_or_wait(t, req, attempt, server, first=True)

    def acquire_or_wait(self, t: float, req: Request, attempt: int, server: int,
                        first: bool) -> None:
        host = self.host
        owner = (req.id, attempt)
        won, _holder = host.claim(self.lock(req.key), owner, server, t, self.lease_s)
        if won and host.config("strategy").recheck and host.fresh(req.key, t):
            # The value landed between this request's read and its claim: use it.
            host.release(self.lock(req.key), owner)
            host.settle(t, req, attempt, True, "recheck")
            self.let_go(t, req.key, True)
            return
        if won:
            host.fetch(t, req, attempt, server, "leader",
                       lambda t, ok: self.fetched(t, req, attempt, owner, ok))
            return
        host.note(LOCK_WAIT if first else LOCK_POLL, t, req, server, attempt)
        self.wait(t, req, attempt, server)

    def wait(self, t: float, req: Request, attempt: int, server: int) -> None:
        """Nobody will say when the value arrives: look again in ``lock_poll_ms``."""
        self.host.later(t + self.poll_s, self.poll, req, attempt, server)

    def poll(self, t: float, req: Request, attempt: int, server: int) -> None:
        if not self.host.alive(server):
            return
        if self.host.fresh(req.key, t):
            self.host.settle(t, req, attempt, True, "lock", coalesced=True)
        else:
            self.acquire_or_wait(t, req, attempt, server, first=False)

    def fetched(self, t: float, req: Request, attempt: int, owner: tuple[int, int],
                ok: bool) -> None:
        self.host.release(self.lock(req.key), owner)
        self.host.settle(t, req, attempt, ok, "db")
        self.let_go(t, req.key, ok)

    def let_go(self, t: float, key: str, ok: bool) -> None:
        """The lock was released (with the value in the cache if ``ok``). Nobody is told:
        pollers find out at their next look (notify.py wakes its waiters here)."""

    def lock(self, key: str) -> str:
        """The name of ``key``'s lock in the shared cache."""
        return f"{self.name}:{key}"
