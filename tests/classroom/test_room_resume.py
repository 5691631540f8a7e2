"""A class that survives reloads (issue 20, item 11), through the /room namespace: the console
reclaims the run at the class's instant, any page that joins or comes back mid-run gets the requests
in flight, a student comes back as themselves with their member token, and the instructor sees and
closes their own rooms by token (freeing the address's cap)."""
from __future__ import annotations

import pytest
from room_helpers import NS, SMALL, received, wait_for

pytestmark = pytest.mark.parametrize("async_mode", ["eventlet", "threading"])

LONG = {**SMALL, "scenario": {**SMALL["scenario"], "duration_s": 60.0}, "speed": 4}


def test_a_reclaimed_console_gets_the_run_so_far_at_the_class_instant(instructor, sio_client):
    instructor.emit("start", LONG, namespace=NS)
    started = wait_for(instructor, "started")
    wait_for(instructor, "frame", lambda f: f["t"] > 1.0)
    instructor.emit("control", {"action": "pause"}, namespace=NS)
    paused = wait_for(instructor, "state", lambda s: s["status"] == "paused")
    room = instructor.room
    instructor.disconnect(namespace=NS)                       # the console reloads

    again = sio_client(NS)
    again.emit("claim", {"code": room["code"], "token": room["token"]}, namespace=NS)
    run = wait_for(again, "room")["run"]
    assert run["started"]["run_id"] == started["run_id"] and run["state"]["status"] == "paused"
    history = run["history"]
    assert history["run_id"] == started["run_id"] and history["t"] == paused["t"]
    ts = [ev[0] for ev in history["events"] if ev[1] == "sample"]
    assert ts[0] < 0.5 and paused["t"] - 0.5 < ts[-1] <= paused["t"]   # the whole run so far
    assert history["resume"] is True
    # Full control: the reloaded console seeks and plays the class's run.
    again.emit("control", {"run_id": started["run_id"], "action": "seek", "value": 0.5, "pause": True},
               namespace=NS)
    assert wait_for(again, "state", lambda s: s["action"] == "seek")["t"] == 0.5
    again.emit("control", {"run_id": started["run_id"], "action": "resume"}, namespace=NS)
    assert wait_for(again, "state", lambda s: s["status"] == "playing")["t"] == 0.5
    again.emit("control", {"action": "stop"}, namespace=NS)


def test_a_page_that_joins_or_comes_back_mid_run_gets_the_requests_in_flight(instructor, student):
    """Exactly the requests the class's run has open at its instant, with their events so far, and
    the latest sample (a student gets no history of samples: their charts start when they join)."""
    slow = {**LONG, "scenario": {**LONG["scenario"], "datastore": {"service_ms": 3000}}}
    seen: list = []
    instructor.emit("start", slow, namespace=NS)
    wait_for(instructor, "frame", lambda f: f["t"] > 1.0, keep=seen)
    instructor.emit("control", {"action": "pause"}, namespace=NS)
    # Paused, then the numbers of the paused instant (a peek frame): the room's last frame.
    wait_for(instructor, "frame", lambda f: f.get("peek"), keep=seen)
    assert any(event == "state" and p["status"] == "paused" for event, p in seen)
    frames = [payload for event, payload in seen if event == "frame"]
    open_: dict[int, list[str]] = {}                           # what the room's frames left open
    for ev in (ev for f in frames for ev in f["events"] if ev[2] is not None and ev[3] is not None):
        if ev[1] == "respond":
            open_.pop(ev[2], None)
        else:
            open_.setdefault(ev[2], []).append(ev[1])
    assert open_, "a datastore that takes 3 s a query: the first herd is still in flight"

    history = student().joined["run"]["history"]
    assert history["resume"] is True and history["t"] == frames[-1]["t"]
    caught: dict[int, list[str]] = {}
    for ev in history["events"]:
        if ev[2] is not None and ev[3] is not None:
            caught.setdefault(ev[2], []).append(ev[1])
    assert caught == open_
    latest = [ev for ev in history["events"] if ev[1] == "sample"]
    assert latest == [next(ev for f in reversed(frames) for ev in reversed(f["events"]) if ev[1] == "sample")]
    instructor.emit("control", {"action": "stop"}, namespace=NS)


def test_a_student_comes_back_with_their_token_as_the_same_student(instructor, student, sio_client,
                                                                  classroom):
    s = student()
    instructor.emit("predict", {"question": "?", "choices": ["a", "b", "c"]}, namespace=NS)
    wait_for(s, "prediction")
    s.emit("answer", {"choice": 2}, namespace=NS)
    wait_for(s, "answered")
    token, member_id = s.joined["member"], s.joined["member_id"]
    assert s.joined["you"]["choice"] is None and token != member_id
    s.disconnect(namespace=NS)                               # the phone reloads

    back = sio_client(NS)
    back.emit("join", {"code": instructor.room["code"], "member": token}, namespace=NS)
    joined = wait_for(back, "joined")
    assert joined["member_id"] == member_id and joined["you"]["choice"] == 2
    assert joined["prediction"]["tally"] == [0, 0, 1]
    back.emit("answer", {"choice": 0}, namespace=NS)          # still their one answer, changed
    wait_for(back, "answered")
    room = classroom.registry.get(instructor.room["code"])
    assert room.prediction.tally() == [1, 0, 0] and len(room.members) == 1

    thief = sio_client(NS)                                     # someone else's id is worth nothing
    thief.emit("join", {"code": instructor.room["code"], "member": member_id}, namespace=NS)
    assert wait_for(thief, "joined")["member_id"] != member_id
    assert len(room.members) == 2 and room.members[member_id].sid is not None   # still theirs


def test_the_instructor_sees_and_closes_a_forgotten_room_which_frees_the_cap(sio_client, classroom):
    cap = classroom.registry.limits.rooms_per_address
    rooms, students = [], []
    for _ in range(cap):                                       # console tabs closed without "End class"
        console = sio_client(NS)
        console.emit("create", {}, namespace=NS)
        rooms.append(wait_for(console, "room"))
        console.disconnect(namespace=NS)
    pupil = sio_client(NS)
    pupil.emit("join", {"code": rooms[0]["code"]}, namespace=NS)
    wait_for(pupil, "joined")
    students.append(pupil)

    tab = sio_client(NS)
    tab.emit("create", {}, namespace=NS)
    assert wait_for(tab, "room_error")["reason"] == "rooms_per_address"
    for r in rooms:
        tab.emit("room_status", {"code": r["code"], "token": r["token"]}, namespace=NS)
    seen: list = []
    wait_for(tab, "room_status", lambda _: sum(e == "room_status" for e, _p in seen) == cap, keep=seen)
    by_code = {p["code"]: p for e, p in seen if e == "room_status"}
    statuses = [by_code[r["code"]] for r in rooms]
    assert all(s["open"] and not s["instructor"] for s in statuses) and statuses[0]["members"] == 1
    # Another room's token, or a made-up one, says nothing about the room.
    tab.emit("room_status", {"code": rooms[0]["code"], "token": rooms[1]["token"]}, namespace=NS)
    assert wait_for(tab, "room_status") == {"code": rooms[0]["code"], "open": False}
    tab.emit("close_room", {"code": rooms[0]["code"], "token": "forged"}, namespace=NS)
    assert wait_for(tab, "room_status")["open"] is False
    assert rooms[0]["code"] in classroom.registry.rooms

    tab.emit("close_room", {"code": rooms[0]["code"], "token": rooms[0]["token"]}, namespace=NS)
    assert wait_for(tab, "room_status") == {"code": rooms[0]["code"], "open": False}
    assert "ended" in wait_for(pupil, "room_closed")["message"]
    assert rooms[0]["code"] not in classroom.registry.rooms
    tab.emit("create", {}, namespace=NS)                        # the cap is free at once
    assert wait_for(tab, "room")["token"]
    assert not [p for _, p in received(tab, "room_error")]
