"""Two app processes sharing rooms through a real Redis: a student on one follows an instructor on
the other (the room lives on the instructor's process; events are relayed, replies and frames come
back through Flask-SocketIO's message queue)."""
from __future__ import annotations

import queue
import time
from typing import Any

import pytest
import socketio
from room_helpers import NS, SMALL

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.redis


class Client:
    """A real python-socketio client on /room that queues every event it receives."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client()
        self.sio.on("*", lambda event, data=None: self.events.put((event, data)), namespace=NS)
        self.sio.connect(url, namespaces=[NS], transports=["websocket"], wait_timeout=10)

    def emit(self, event: str, payload: Any = None) -> None:
        self.sio.emit(event, payload, namespace=NS)

    def wait(self, name: str, until=lambda _: True, timeout: float = 30.0) -> Any:
        """The first ``name`` that satisfies ``until``, within ``timeout`` in all (generous: two
        servers and a Redis beside a busy suite relay slowly; once, 10 s was not enough). If none
        comes, the failure lists what did."""
        deadline = time.monotonic() + timeout
        passed: list[tuple[str, Any]] = []
        while True:
            try:
                event, data = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {name!r} within {timeout:g} s; received meanwhile: "
                                     f"{str(passed)[:2000]}") from None
            if event == name and until(data):
                return data
            passed.append((event, data))

    def seen(self) -> list[str]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait()[0])
        return out


@pytest.fixture(scope="module")
def servers(redis_url):
    pair = [LiveServer({"HERDLAB_MESSAGE_QUEUE": redis_url}) for _ in range(2)]
    yield pair
    for server in pair:
        server.stop()


@pytest.fixture
def clients():
    made: list[Client] = []

    def make(url: str) -> Client:
        made.append(Client(url))
        return made[-1]

    yield make
    for c in made:
        c.sio.disconnect()


def a_class(clients, teacher_url: str, student_url: str):
    """An instructor's new room, on one process, and a student who joined it through another."""
    teacher = clients(teacher_url)
    teacher.emit("create", {})
    room = teacher.wait("room")
    student = clients(student_url)
    student.emit("join", {"code": room["display_code"]})
    return teacher, room, student, student.wait("joined")


def test_a_student_on_another_process_follows_the_instructor(servers, clients):
    a, b = servers
    teacher, room, student, joined = a_class(clients, a.url, b.url)
    assert joined["code"] == room["code"]
    assert teacher.wait("members", lambda m: m["members"] == 1)

    teacher.emit("settings", {"preset": "classroom", "scenario": {"strategy": {"coalesce": "promise"}}})
    assert student.wait("settings")["scenario"] == {"strategy": {"coalesce": "promise"}}

    student.emit("start", SMALL)  # a student's control is refused, across processes too
    assert student.wait("room_error")["reason"] == "not_instructor"

    teacher.emit("predict", {"question": "Queries?", "choices": ["1", "30"]})
    student.wait("prediction", lambda p: p["open"])
    student.emit("answer", {"choice": 0})
    assert teacher.wait("prediction", lambda p: p["responses"] == 1)["tally"] == [1, 0]

    teacher.emit("start", {**SMALL, "scenario": {**SMALL["scenario"], "strategy": {"coalesce": "promise"}}})
    started = student.wait("started")
    frame = student.wait("frame")
    assert frame["run_id"] == started["run_id"] and "sent_at" in frame
    done = student.wait("done", timeout=60)
    assert done["summary"]["db_queries"] == done["summary"]["chunks"]  # promise: one per chunk
    assert teacher.wait("prediction", lambda p: p["result"] is not None)["result"]["db_queries"] == done["summary"]["db_queries"]

    student.emit("detach")
    student.wait("detached")
    student.emit("rejoin")
    assert student.wait("snapshot")["run"]["done"]["run_id"] == started["run_id"]


def test_the_instructor_reclaims_the_room_from_the_other_process(servers, clients):
    a, b = servers
    teacher, room, student, _ = a_class(clients, a.url, a.url)
    teacher.sio.disconnect()
    again = clients(b.url)
    again.emit("claim", {"code": room["code"], "token": "forged"})
    assert again.wait("room_error")["reason"] == "bad_token"
    again.emit("claim", {"code": room["code"], "token": room["token"]})
    assert again.wait("room")["role"] == "instructor"
    again.emit("herd", {"on": True})
    assert student.wait("herd") == {"on": True}


def test_a_room_is_seen_and_closed_by_its_token_and_a_student_returns_from_another_process(servers, clients):
    a, b = servers
    teacher, room, student, joined = a_class(clients, a.url, b.url)
    student.sio.disconnect()
    back = clients(a.url)                 # the student's reload lands on the other process
    back.emit("join", {"code": room["code"], "member": joined["member"]})
    assert back.wait("joined")["member_id"] == joined["member_id"]

    tab = clients(b.url)                  # a new console tab, on the other process
    tab.emit("room_status", {"code": room["code"], "token": room["token"]})
    status = tab.wait("room_status")
    assert status["open"] and status["members"] == 1 and status["instructor"]
    tab.emit("close_room", {"code": room["code"], "token": room["token"]})
    assert tab.wait("room_status") == {"code": room["code"], "open": False}
    assert back.wait("room_closed")["message"]
    tab.emit("room_status", {"code": room["code"], "token": room["token"]})
    assert tab.wait("room_status")["open"] is False
