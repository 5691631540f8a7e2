"""Helpers for the /lab protocol tests: a Socket.IO test client that can acknowledge frames.

Flask-SocketIO's test client records what the server emits but never answers an ack request, which
is exactly a browser that stopped acknowledging. ``LabClient`` can play both: with ``ack=True`` it
answers every pending ack the way socket.io-client does when the page's callback returns.
Waiting is done with ``socketio.sleep`` so eventlet's green threads get to run.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from webapp.config import ASYNC_MODES
from webapp.extensions import socketio
from webapp.transport.slots import RUNS_KEY

NS = "/lab"
SMALL = {"clients": {"count": 200}, "duration_s": 2.0}
FAST = 20.0
# How long a test waits for a state before it fails: generous, so that a busy machine (a CPU-bound
# process beside the suite, a worker that takes seconds to start) slows a test but never fails it.
DEADLINE_S = 60.0


def decode_event(ev: list, schema: dict[str, list[str]]) -> dict:
    """One wire event (an array) as the dict ``Event.to_dict()`` gives."""
    names = schema["common"] + schema[ev[1]]
    assert len(ev) == len(names), (ev, names)
    return dict(zip(names, ev))


def decode_frame(frame: dict, schema: dict[str, list[str]]) -> dict:
    out = dict(frame)
    for key in ("events", "events_b"):
        if key in frame:
            out[key] = [decode_event(ev, schema) for ev in frame[key]]
    return out


class LabClient:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.received: list[tuple[str, dict]] = []
        self.raw_frames: list[dict] = []
        self.schemas: dict[str, dict[str, list[str]]] = {}
        self.ack = True

    @property
    def sid(self) -> str:
        return socketio.server.manager.sid_from_eio_sid(self.client.eio_sid, NS)

    def emit(self, event: str, *args: Any) -> None:
        self.client.emit(event, *args, namespace=NS)

    def start(self, scenario: dict | None = None, **fields: Any) -> str:
        """Send ``start`` and return the new run_id (fails the test on ``error``)."""
        before = len(self.of("started"))
        errors = len(self.of("error"))
        self.emit("start", {"scenario": SMALL if scenario is None else scenario,
                            "speed": FAST, **fields})
        deadline = time.monotonic() + DEADLINE_S
        while len(self.of("started")) == before:
            assert len(self.of("error")) == errors, self.of("error")[-1]
            assert time.monotonic() < deadline, f"no 'started' within {DEADLINE_S:g} s"
            socketio.sleep(0.005)
            self.pump()
        return self.of("started")[-1]["run_id"]

    def control(self, run_id: str, action: str, value: Any = None) -> None:
        body = {"run_id": run_id, "action": action}
        if value is not None:
            body["value"] = value
        self.emit("control", body)

    def pump(self) -> None:
        """Move what the server sent into ``received`` (pop: safe against a concurrent append).

        Frames carry events as arrays named by ``started["event_fields"]``; they are decoded here
        into the engine's dicts (as the page's store does), and the frame as sent is kept in
        ``raw_frames``.
        """
        queue = self.client.queue
        while queue:
            item = queue.pop(0)
            if item["namespace"] == NS:
                name, payload = item["name"], item["args"][0]
                if name == "started":
                    self.schemas[payload["run_id"]] = payload["event_fields"]
                elif name == "frame":
                    self.raw_frames.append(payload)
                    payload = decode_frame(payload, self.schemas[payload["run_id"]])
                self.received.append((name, payload))
        if self.ack and self.client.is_connected(NS):
            manager = socketio.server.manager
            sid = self.sid
            for ack_id in [k for k in list(manager.callbacks.get(sid, {})) if k != 0]:
                manager.trigger_callback(sid, ack_id, [])

    def of(self, name: str, run_id: str | None = None) -> list[dict]:
        return [p for n, p in self.received
                if n == name and (run_id is None or p.get("run_id") == run_id)]

    def wait_for(self, name: str, run_id: str | None = None, timeout: float = DEADLINE_S,
                 where: Callable[[dict], bool] = lambda p: True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            found = [p for p in self.of(name, run_id) if where(p)]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no {name!r} within {timeout}s: {self.received[-3:]}"
            socketio.sleep(0.01)

    def wait_for_all(self, name: str, run_id: str, count: int,
                     timeout: float = DEADLINE_S) -> list[dict]:
        """Wait until ``count`` events ``name`` of ``run_id`` have arrived; return them."""
        deadline = time.monotonic() + timeout
        while len(self.of(name, run_id)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} {name!r} within {timeout}s"
            socketio.sleep(0.01)
            self.pump()
        return self.of(name, run_id)

    def wait_finished(self, run_id: str) -> dict:
        """The run's ``done``, once the ``state`` finished sent just after it is in too (under
        threading the run's thread may be between the two when ``done`` is seen)."""
        self.wait_for("state", run_id, where=lambda s: s["status"] == "finished")
        return self.wait_for("done", run_id)

    def events(self, run_id: str) -> list[dict]:
        """Every per-request event of ``run_id`` received, in order (frames merged or not)."""
        return [e for f in self.of("frame", run_id) for e in f["events"]]

    def last_error(self) -> dict:
        errors = self.of("error")
        assert errors, "expected an error event"
        return errors[-1]


def settle(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Let background tasks run until ``predicate`` holds (or give up and say so)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        socketio.sleep(0.01)
    return True


def pytest_generate_tests(metafunc) -> None:
    """Every transport test that talks Socket.IO runs under each supported async mode (eventlet,
    gevent, threading); the others (HTTP, the pacer, the worker pool) do not depend on it. A test
    that names its modes itself (``@pytest.mark.parametrize("async_mode", ...)``) keeps them."""
    named = any("async_mode" in (m.args[0].replace(" ", "").split(",") if isinstance(m.args[0], str)
                                 else m.args[0])
                for m in metafunc.definition.iter_markers("parametrize"))
    if "sio_client" in metafunc.fixturenames and not named:
        metafunc.parametrize("async_mode", ASYNC_MODES)


@pytest.fixture
def runs(app):
    """The app's run slots: tasks, reservations, connections and the worker pool."""
    return app.extensions[RUNS_KEY]


@pytest.fixture
def lab(sio_client, runs) -> Callable[[], LabClient]:
    """Factory: ``lab()`` connects a new /lab client; afterwards no run task may be left over."""
    made: list[LabClient] = []

    def make() -> LabClient:
        c = LabClient(sio_client(NS))
        assert c.client.is_connected(NS)
        made.append(c)
        return c

    yield make
    for c in made:
        if c.client.is_connected(NS):
            c.client.disconnect(namespace=NS)
    mine = {p["run_id"] for c in made for p in c.of("started")}
    assert settle(lambda: not mine & runs.running_run_ids()), "a run task outlived its connection"
