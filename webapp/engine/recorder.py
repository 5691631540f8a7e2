"""Where a run's events go: a buffer the simulation hands out in batches.

Per-request events are made only when ``record_requests`` is on (a run without them computes
the same counters, samples and summary, and makes no event tuples on its hot path); system
events (samples, datastore states, chunk publications, server deaths) are always recorded.
"""
from typing import Any

from webapp.engine.events import Event


class Recorder:
    def __init__(self, record_requests: bool) -> None:
        self.requests = record_requests
        self.out: list[Event] = []

    def note(self, kind: str, t: float, req: Any, server: int | None, *fields: Any) -> None:
        """A per-request event about ``req`` (dropped when requests are not recorded)."""
        if self.requests:
            self.out.append(Event((t, kind, req.id, req.viewer, server, req.key) + fields))

    def system(self, event: Event) -> None:
        self.out.append(event)

    def take(self) -> list[Event]:
        """The events recorded since the last take, in time order."""
        batch, self.out = self.out, []
        return batch
