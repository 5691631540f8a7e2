"""A mark about a key's last answer, kept in the shared cache for a while: what negative caching
and hit-for-pass have in common.

Both remember something the datastore's answer said -- "not found", or "may not be shared" -- as
a claim with a lease in the shared cache (``prefix`` + key: added if absent, gone when the lease
runs out), and both take over a miss of a marked key before the coalescing strategy sees it. A
subclass says which answer marks the key (``status``), under which name, for how long, and what
a marked miss does (``act``). A value written for the key is found before any mark is asked for.
"""
from webapp.engine.ports import Host, Request


class AnswerMark:
    status = ""          # the answer status (Mitigation.on_fetched) that marks the key
    prefix = ""          # the mark's name in the shared cache is prefix + key

    def __init__(self, host: Host, lease_s: float) -> None:
        self.host = host
        self.lease_s = lease_s

    def on_fetched(self, t: float, key: str, server: int, status: str) -> None:
        """The datastore answered a query for ``key``: mark the key if the answer says so."""
        if status == self.status:
            self.host.claim(self.prefix + key, self, server, t, self.lease_s)

    def on_absent(self, t: float, req: Request, attempt: int, server: int) -> bool:
        """No value in the cache: the miss of a marked key is this mitigation's to handle."""
        if not self.host.held(self.prefix + req.key, t):
            return False
        self.act(t, req, attempt, server)
        return True

    def act(self, t: float, req: Request, attempt: int, server: int) -> None:
        raise NotImplementedError
