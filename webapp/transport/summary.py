"""``POST /api/run``: one summary-only run, computed by a worker within its budget.

The request handler only waits (cooperatively: ``socketio.sleep`` between looks at the worker's
socket), so a heavy run never holds the event loop; it holds one of the server's run slots, a
step budget, a CPU budget and a wall-clock deadline, past which its worker is killed.
"""
from __future__ import annotations

import pickle
import time
from typing import Any, Sequence

from webapp.engine import Scenario
from webapp.extensions import socketio
from webapp.transport.budget import check_cost
from webapp.transport.slots import RunSlots
from webapp.worker.channel import ChannelClosed

POLL_S = 0.005


class RunRefused(Exception):
    """The run could not be done now; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def run_summary(slots: RunSlots, scenario: Scenario,
                inputs: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    settings = slots.settings
    check_cost(scenario, settings.api_max_steps, inputs=inputs)
    holder = object()
    if not slots.reserve(holder):
        raise RunRefused("The server is running as many experiments as it can; try again in a "
                         "moment.", 503)
    worker = slots.pool.acquire()
    finished = False
    try:
        worker.start({"kind": "summary", "scenarios": [scenario], "inputs": list(inputs),
                      "max_steps": settings.api_max_steps,
                      "cpu_s": settings.api_timeout_s, "memory_mb": settings.worker_memory_mb})
        deadline = time.monotonic() + settings.api_timeout_s
        while time.monotonic() < deadline:
            try:
                bodies = worker.channel.receive()
            except ChannelClosed:
                raise RunRefused("The run stopped unexpectedly.", 500) from None
            for body in bodies:
                message = pickle.loads(body)
                if message[0] == "summary":
                    finished = True
                    return message[1]
                if message[0] == "error":
                    raise RunRefused(str(message[1]), 422)
            socketio.sleep(POLL_S)
        raise RunRefused(f"The run took longer than {settings.api_timeout_s:g} s, this server's "
                         "limit for a summary, and was stopped. Make it smaller, or use the live "
                         "lab or the command line.", 422)
    finally:
        slots.pool.release(worker, kill=not finished)
        slots.release(holder)
