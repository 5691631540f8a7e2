"""Helpers for the /room Socket.IO tests: receiving and waiting for events without real sleeps."""
from __future__ import annotations

import time
from typing import Any, Callable

from webapp.extensions import socketio

NS = "/room"
# A short, small run so tests stay fast: 30 viewers, 4 s of virtual time, played at 20x.
SMALL = {"preset": "classroom", "scenario": {"duration_s": 4.0, "clients": {"count": 30}}, "speed": 20}


def received(client, name: str | None = None) -> list[tuple[str, Any]]:
    out = [(m["name"], m["args"][0] if m["args"] else None) for m in client.get_received(NS)]
    return [m for m in out if name is None or m[0] == name]


def wait_for(client, name: str, until: Callable[[Any], bool] = lambda _: True,
             timeout: float = 10.0, keep: list | None = None) -> Any:
    """Poll the test client until an event ``name`` whose payload satisfies ``until`` arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event, payload in received(client):
            if keep is not None:
                keep.append((event, payload))
            if event == name and until(payload):
                return payload
        socketio.sleep(0.02)
    raise AssertionError(f"no {name!r} within {timeout}s")


