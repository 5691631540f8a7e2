"""A lock that notifies: like lock.py, but waiters are woken when the value arrives.

Varnish parks concurrent misses for an object on a *waiting list* and wakes them when the fetch
completes; Cloudflare's cache lock and python-redis-lock (a waiter blocks on a Redis list the
holder pushes to on release) wake their waiters too. So a waiter does not poll: it asks to be
woken (``host.watch``) and the holder, having written the value, releases the lock and wakes
every waiter (``host.notify``), which then read the value from the cache -- as soon as it is
there, with no poll interval to wait out and no polls to pay for.

Only the holder's release wakes anyone. If its fetch fails (or its client gives up and the
query is cancelled), it hands the lock on: it wakes just the waiter that has waited longest,
which takes the lock and fetches, instead of waking them all to race for it. A holder that dies
wakes nobody; its waiters wake when its lease (``lease_ms``) has run out, as a poller would find
it free. Varnish wakes its waiting list a few at a time (``rush_exponent``); here all at once.
A winner that finds the value on its re-check (lock.py) lets go at once and wakes everyone too:
on a real host a request may have lost its claim to it in that moment, and be waiting.
"""
from webapp.engine.ports import Request
from webapp.strategies.lock import LockCoalescing


class NotifyingLock(LockCoalescing):
    name = "notify"

    def wait(self, t: float, req: Request, attempt: int, server: int) -> None:
        """Ask to be woken by the holder (or when its lease has run out), then look again."""
        self.host.watch(t, self.lock(req.key), self.poll, self.lease_s, req, attempt, server)

    def let_go(self, t: float, key: str, ok: bool) -> None:
        """Wake every waiter (the value is there), or on a failure only the longest-waiting."""
        self.host.notify(t, self.lock(key), everyone=ok)
