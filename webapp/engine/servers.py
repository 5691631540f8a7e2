"""App servers: a load balancer spreading requests, and which servers are still alive.

Each server has its own process memory, which is why an in-process promise table coalesces per
server only. A server that dies stays dead for the rest of the run; the balancer skips it.
"""


class Servers:
    def __init__(self, count: int) -> None:
        self.count = count
        self.alive = [True] * count

    def route(self, viewer: int, attempt: int) -> int:
        """Spread viewers evenly; a retry goes to the next server (as a fresh connection would)."""
        server = (viewer + attempt) % self.count
        while not self.alive[server]:
            server = (server + 1) % self.count
        return server

    def kill(self, server: int) -> None:
        self.alive[server] = False
