"""Retry budget: clients may retry only as a share of the requests they recently started.

Retries are extra load, and they come exactly when the service is failing; if every failure is
retried, a service that fails everything sees its load multiplied by 1 + retries, and may never
recover (a metastable failure: the retries *are* the overload). A budget caps them: over the
last ``retry_budget_window_s`` seconds the clients may retry at most ``retry_budget`` times as
many times as they started requests. While few attempts fail it is never felt; when most fail,
the load can grow by that share at most, and the requests it turns away end with their failure.

Finagle's ``RetryBudget`` works this way (by default 20% of requests over 10 s, plus a minimum
of 10 retries a second for quiet clients, which this lab leaves out); gRPC's retry throttling
is its cousin: a token bucket that failures drain and successes refill, retrying only while it
is more than half full. Here one budget serves all the clients, as a proxy or a shared client
library in front of the service keeps one (Finagle keeps one per client process).

The window is kept as ten slices, so it slides in tenths of its length.
"""
from collections import deque

from webapp.engine.ports import Host, Request

SLICES = 10


class RetryBudget:
    switch = "clients.retry_budget"

    def __init__(self, host: Host) -> None:
        cfg = host.config("clients")
        self.share = cfg.retry_budget
        self.slice_s = cfg.retry_budget_window_s / SLICES
        self.slices: deque[list[int]] = deque()   # [slice number, requests, retries]
        self.requests = 0                         # in the window
        self.retries = 0

    def _slice(self, t: float) -> list[int]:
        """The current slice, after dropping those that have left the window."""
        now = int(t // self.slice_s)
        slices = self.slices
        while slices and slices[0][0] <= now - SLICES:
            _, requests, retries = slices.popleft()
            self.requests -= requests
            self.retries -= retries
        if not slices or slices[-1][0] != now:
            slices.append([now, 0, 0])
        return slices[-1]

    def on_request(self, t: float) -> None:
        self._slice(t)[1] += 1
        self.requests += 1

    def may_retry(self, t: float, req: Request, retry: int) -> bool:
        current = self._slice(t)
        if self.retries + 1 > self.share * self.requests:
            return False                          # spent: this request ends with its failure
        current[2] += 1
        self.retries += 1
        return True
