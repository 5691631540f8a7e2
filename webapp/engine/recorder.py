"""Where a run's events go: a buffer the simulation hands out in batches.

System events (samples, datastore states, chunk publications, server deaths) are always
recorded. Per-request events only when ``record_requests`` is on, and then only for the viewers
that will be drawn: with ``every = k`` those with ``viewer % k == 0`` and every injected viewer
(``viewer >= clients.count``); a request's ``traced`` flag says so, and events about a request
that is not traced are never even made. Counters, samples and the summary do not depend on it.
"""
from typing import Any

from webapp.engine.events import Event


class Recorder:
    def __init__(self, record_requests: bool, every: int = 1) -> None:
        self.requests = record_requests
        self.every = every if record_requests else 0        # 0: trace no request
        self.out: list[Event] = []

    def note(self, kind: str, t: float, req: Any, server: int | None, *fields: Any) -> None:
        """A per-request event about ``req`` (dropped unless the request is traced)."""
        if req.traced:
            self.out.append(Event((t, kind, req.id, req.viewer, server, req.key) + fields))

    def system(self, event: Event) -> None:
        self.out.append(event)

    def take(self) -> list[Event]:
        """The events recorded since the last take, in time order. (``out`` itself is kept, so
        hot paths may hold on to ``out.append``.)"""
        batch = self.out.copy()
        self.out.clear()
        return batch
