"""The one interface a coalescing strategy implements.

The engine calls ``on_miss`` when a request did not find a fresh value in the cache (or there
is no cache); ``server`` is the app server handling that attempt. The strategy decides who
fetches and who waits, using a handful of engine calls:

- ``sim.fetch(t, req, attempt, server, role, on_done)``: send a query; ``on_done(t, ok)`` later;
- ``sim.settle(t, req, attempt, ok, source)``: answer one request (a value, or an error);
- ``sim.later(t, fn, *args)``: call ``fn(t, *args)`` at virtual time ``t``;
- ``sim.note(kind, t, req, server, *fields)``: record an event (free when recording is off);
- ``sim.cache``: ``fresh(key, t)``, ``claim(name, owner, t, lease_s)``, ``release(name, owner)``;
- ``sim.alive(server)``: False once a server has died (its process memory is gone).
"""
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webapp.engine.experiment import Request, Simulation


class Coalescing:
    name = "base"

    def __init__(self, sim: "Simulation") -> None:
        self.sim = sim

    def on_miss(self, t: float, req: "Request", attempt: int, server: int) -> None:
        raise NotImplementedError

    def on_server_down(self, t: float, server: int) -> None:
        """A server died: forget whatever this strategy kept in its memory (default: nothing)."""
