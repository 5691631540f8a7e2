"""The /room namespace end to end through Socket.IO test clients, under eventlet and threading."""
from __future__ import annotations

import time

import pytest

from room_helpers import NS, SMALL, received, wait_for
from webapp.extensions import socketio

pytestmark = pytest.mark.parametrize("async_mode", ["eventlet", "threading"])


def test_create_gives_code_and_token_and_students_join_following(instructor, student, classroom):
    room = instructor.room
    assert room["role"] == "instructor" and len(room["token"]) >= 40 and len(room["code"]) == 8
    s = student(room["display_code"].lower())
    assert s.joined["member_id"] and s.joined["code"] == room["code"]
    classroom.flush()
    assert wait_for(instructor, "members")["members"] == 1


def test_a_students_control_is_refused_and_changes_nothing(instructor, student, classroom):
    s = student()
    forged = [("settings", {"scenario": {"strategy": {"coalesce": "promise"}}}), ("start", SMALL),
              ("control", {"action": "pause"}), ("predict", {"question": "?", "choices": ["a", "b"]}),
              ("herd", {"on": True}), ("lesson", {"id": "x", "step": "y"}), ("close", {})]
    for event, payload in forged:
        s.emit(event, payload, namespace=NS)
        (_, err), = received(s, "room_error")
        assert err["reason"] == "not_instructor" and "instructor" in err["message"]
    s.emit("claim", {"code": instructor.room["code"], "token": "forged-token"}, namespace=NS)
    assert received(s, "room_error")[0][1]["reason"] == "bad_token"
    room = classroom.registry.get(instructor.room["code"])
    assert room.settings is None and room.prediction is None and not room.herd
    assert room.code not in classroom.runs and room.code in classroom.registry.rooms


def test_instructor_reconnect_reclaims_the_room(instructor, sio_client, classroom):
    code, token = instructor.room["code"], instructor.room["token"]
    instructor.disconnect(namespace=NS)
    again = sio_client(NS)
    again.emit("claim", {"code": code, "token": token}, namespace=NS)
    (_, room), = received(again, "room")
    assert room["role"] == "instructor" and "token" not in room
    again.emit("herd", {"on": True}, namespace=NS)
    assert received(again, "herd") == [("herd", {"on": True})]


def test_followers_see_settings_and_the_run_detached_do_not_and_rejoin_catches_up(instructor, student):
    a, b = student(), student()
    instructor.emit("settings", {"preset": "classroom", "scenario": {"strategy": {"coalesce": "promise"}}},
                    namespace=NS)
    for s in (a, b):
        assert wait_for(s, "settings")["scenario"]["strategy"]["coalesce"] == "promise"
    b.emit("detach", namespace=NS)
    wait_for(b, "detached")
    instructor.emit("start", SMALL, namespace=NS)
    started = wait_for(a, "started")
    done = wait_for(a, "done", timeout=15)
    assert done["run_id"] == started["run_id"] and done["summary"]["requests"] > 0
    assert not [e for e, _ in received(b) if e in ("started", "frame", "done")]
    b.emit("rejoin", namespace=NS)
    snap = wait_for(b, "snapshot")
    assert snap["run"]["started"]["run_id"] == started["run_id"]
    assert snap["run"]["done"]["summary"] == done["summary"]
    assert snap["settings"]["scenario"]["strategy"]["coalesce"] == "promise"


def test_frames_carry_the_emit_wall_time(instructor, student):
    import time

    s = student()
    instructor.emit("start", SMALL, namespace=NS)
    frame = wait_for(s, "frame")
    assert abs(frame["sent_at"] - time.time()) < 5


def test_class_prediction_tallies_then_reveals_beside_the_run(instructor, student, classroom):
    students = [student() for _ in range(3)]
    instructor.emit("predict", {"question": "How many datastore queries?", "choices": ["1", "4", "30"]},
                    namespace=NS)
    for s in students:
        assert wait_for(s, "prediction")["open"]
    for s, choice in zip(students, (0, 2, 2)):
        s.emit("answer", {"choice": choice}, namespace=NS)
        wait_for(s, "answered")
    students[0].emit("answer", {"choice": 9}, namespace=NS)
    assert wait_for(students[0], "room_error")["reason"] == "bad_choice"
    classroom.flush()
    assert wait_for(instructor, "prediction", lambda p: p["responses"] == 3)["tally"] == [1, 0, 2]
    instructor.emit("start", {**SMALL, "scenario": {**SMALL["scenario"], "strategy": {"coalesce": "promise"}}},
                    namespace=NS)
    shown = wait_for(instructor, "prediction", lambda p: p["result"] is not None, timeout=15)
    assert shown["tally"] == [1, 0, 2] and not shown["open"] and "db_queries" in shown["result"]
    students[1].emit("answer", {"choice": 0}, namespace=NS)
    assert wait_for(students[1], "room_error")["reason"] == "prediction_closed"


HERD = {"preset": "classroom", "speed": 1, "scenario": {
    "duration_s": 30.0, "clients": {"count": 1, "arrival": "poisson", "rate_per_s": 0.01, "timeout_s": 0},
    "workload": {"kind": "hot_key"}, "cache": {"ttl_s": 0.5}, "strategy": {"coalesce": "promise"},
    "datastore": {"service_ms": 1500, "crash": False, "connections": 4}}}


def test_join_the_herd_taps_become_requests_that_wait_on_one_promise(instructor, student):
    students = [student() for _ in range(3)]
    students[0].emit("tap", namespace=NS)
    assert wait_for(students[0], "room_error")["reason"] == "no_run"
    instructor.emit("herd", {"on": True}, namespace=NS)
    instructor.emit("start", HERD, namespace=NS)
    wait_for(students[0], "started")
    reqs, seen = [], []
    for s in students:
        s.emit("tap", namespace=NS)
        reqs.append(wait_for(s, "tapped", keep=seen if s is students[0] else None)["req"])
    assert len(set(reqs)) == 3
    # Events on the wire are arrays [t, kind, req, viewer, server, key, ...] (docs/protocol.md).
    wait_for(students[0], "frame", lambda f: any(e[1] == "respond" and e[2] in reqs for e in f["events"]),
             keep=seen, timeout=10)
    kinds = {(e[2], e[1]) for _, f in seen if _ == "frame" for e in f["events"] if e[2] in reqs}
    assert sum(1 for r in reqs if (r, "promise_wait") in kinds) >= 2  # one leads, the others wait on it
    instructor.emit("control", {"action": "stop"}, namespace=NS)


def test_the_instructors_intervention_reaches_every_student_and_taps_are_inputs(instructor,
                                                                                student):
    s = student()
    instructor.emit("herd", {"on": True}, namespace=NS)
    slow = {"t": 0.05, "kind": "slow_db", "factor": 3.0}
    instructor.emit("start", {**HERD, "inputs": [slow]}, namespace=NS)
    assert wait_for(s, "started")["inputs"] == [slow]
    s.emit("tap", namespace=NS)
    tapped = wait_for(s, "tapped")
    instructor.emit("control", {"action": "input", "input": {"kind": "slow_db", "factor": 1}},
                    namespace=NS)
    reply = wait_for(s, "state", lambda p: p["action"] == "inputs")
    first, tap, mine = reply["inputs"]
    assert first == slow and tap == {"t": tapped["t"], "kind": "inject"}
    assert mine == {"t": mine["t"], "kind": "slow_db", "factor": 1.0} and mine["t"] > 0.05
    assert reply["moments"] is None or isinstance(reply["moments"], list)
    late = student()      # a late joiner's run is the run as it is now, its inputs included
    assert late.joined["run"]["started"]["inputs"] == reply["inputs"]
    instructor.emit("control", {"action": "input", "input": {"kind": "kill_server", "server": 0}},
                    namespace=NS)
    error = wait_for(instructor, "room_error")
    assert error["field"] == "input.kind" and "2 servers" in error["message"]
    instructor.emit("control", {"action": "stop"}, namespace=NS)


def test_taps_are_rate_limited(instructor, student):
    s = student()
    instructor.emit("herd", {"on": True}, namespace=NS)
    instructor.emit("start", HERD, namespace=NS)
    wait_for(s, "started")
    for _ in range(8):
        s.emit("tap", namespace=NS)
    errors = [p for e, p in received(s, "room_error")]
    assert errors and all(p["reason"] == "tap_rate" for p in errors)
    instructor.emit("control", {"action": "stop"}, namespace=NS)


def test_idle_rooms_expire_and_everyone_is_told(instructor, student, classroom):
    s = student()
    now = classroom.registry.clock()
    classroom.registry.clock = lambda: now + classroom.registry.limits.idle_s + 1
    classroom.sweep()
    assert wait_for(s, "room_closed")["message"]
    assert not classroom.registry.rooms
    s.emit("answer", {"choice": 0}, namespace=NS)
    assert wait_for(s, "room_error")["reason"] == "not_joined"


@pytest.mark.parametrize("event, payload", [
    ("join", "ABCD"), ("join", {"code": 12}), ("join", {"code": "x" * 10_000}), ("join", {"nope": 1}),
    ("answer", [1, 2]), ("tap", {"x": 1}), ("claim", {"code": None, "token": None}), ("create", 7),
    ("bogus", {}),
])
def test_bad_payloads_are_refused_and_the_server_stays_healthy(instructor, student, sio_client, event, payload):
    s = student()
    bad = sio_client(NS)
    bad.emit(event, payload, namespace=NS)
    bad.emit("join", {"code": instructor.room["code"]}, "extra-arg", namespace=NS)
    if event != "bogus":  # unknown events have no handler at all
        assert received(bad, "room_error")
    instructor.emit("herd", {"on": True}, namespace=NS)
    assert wait_for(s, "herd") == {"on": True}


def test_settings_are_validated_like_a_lab_start(instructor):
    instructor.emit("settings", {"scenario": {"clients": {"count": -5}}}, namespace=NS)
    err = wait_for(instructor, "room_error")
    assert err["reason"] == "bad_payload" and err["field"] == "scenario.clients.count"


def test_lesson_steps_and_the_lessons_prediction_reach_the_class(instructor, student, app):
    course = app.extensions["herdlab.course"]
    lesson = next(lesson for lesson in course.lessons if lesson.prediction is not None)
    s = student()
    instructor.emit("lesson", {"id": lesson.id, "step": lesson.steps[1].id}, namespace=NS)
    shown = wait_for(s, "lesson")
    assert shown["step"] == lesson.steps[1].id and shown["steps"] == [st.id for st in lesson.steps]
    instructor.emit("lesson", {"id": lesson.id, "step": "no-such-step"}, namespace=NS)
    assert wait_for(instructor, "room_error")["field"] == "step"
    instructor.emit("predict", {"lesson": lesson.id}, namespace=NS)
    asked = wait_for(s, "prediction")
    assert asked["question"] == lesson.prediction.question and asked["answer"] is None
    assert asked["reveal"] == list(lesson.prediction.reveal)


def test_a_tapped_request_reaches_the_room_even_when_dots_are_sampled(instructor, student):
    """The runner animates one viewer in ``dot_scale``; a student's own request is never sampled out."""
    s = student()
    instructor.emit("herd", {"on": True}, namespace=NS)
    # 41 viewers animated 20 at most: every 3rd viewer is drawn, and the first injected viewer (41)
    # is not one of them (41 % 3 == 2).
    herd = {**HERD, "animate_limit": 20, "scenario": {**HERD["scenario"], "clients": {**HERD["scenario"]["clients"], "count": 41}}}
    instructor.emit("start", herd, namespace=NS)
    started = wait_for(s, "started")
    assert started["dot_scale"] == 3
    s.emit("tap", namespace=NS)

    def events_of(frame):
        # Wire events are arrays [t, kind, req, viewer, ...] (docs/protocol.md); older servers sent dicts.
        return [(e[1], e[2], e[3]) if isinstance(e, list) else (e["kind"], e["req"], e["viewer"]) for e in frame["events"]]

    seen: list = []   # everything the student receives (the tap's first events may share a batch with `tapped`)
    deadline = time.monotonic() + 10
    mine: list = []
    while not (mine and mine[-1][0] == "respond"):
        assert time.monotonic() < deadline, seen
        seen += received(s)
        tapped = [p for name, p in seen if name == "tapped"]
        if tapped:
            mine = [(k, v) for name, f in seen if name == "frame" for k, r, v in events_of(f) if r == tapped[0]["req"]]
        socketio.sleep(0.02)
    assert mine[0] == ("arrive", 41) and mine[-1][0] == "respond"
    instructor.emit("control", {"action": "stop"}, namespace=NS)
