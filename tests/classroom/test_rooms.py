"""The room model: codes, tokens, caps, join-attempt limits, idle expiry, predictions, tap budgets."""
from __future__ import annotations

import pytest

from webapp.classroom import codes
from webapp.classroom.rooms import (TAPS_PER_MEMBER_PER_RUN, TAPS_PER_SECOND, RoomError, RoomLimits,
                                    RoomRegistry)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock) -> RoomRegistry:
    return RoomRegistry(RoomLimits(max_rooms=3, max_members=4, idle_s=600, join_attempts_per_minute=5), clock)


def refused(reason: str):
    class Match:
        def __init__(self) -> None:
            self.ctx = pytest.raises(RoomError)

        def __enter__(self):
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            assert self.info.value.reason == reason, self.info.value.message
            return handled

    return Match()


def test_codes_use_an_unambiguous_alphabet_and_forgive_typing():
    assert not set("01OIL") & set(codes.ALPHABET)
    code = codes.new_code()
    assert len(code) == codes.CODE_LENGTH and set(code) <= set(codes.ALPHABET)
    assert codes.normalize_code(codes.display_code(code).lower()) == code
    assert codes.normalize_code(" " + code[:4] + " " + code[4:] + " ") == code
    for bad in (None, 42, "", "ABC", "O" * codes.CODE_LENGTH, "x" * 1000, ["A"]):
        assert codes.normalize_code(bad) is None
    assert len(codes.ALPHABET) ** codes.CODE_LENGTH > 5e11


def test_tokens_are_secret_and_compared_safely():
    token = codes.new_token()
    assert len(token) >= 40 and token != codes.new_token()
    assert codes.token_matches(token, token)
    for forged in ("", token[:-1], None, 12, token + "x", ["x"]):
        assert not codes.token_matches(token, forged)


def test_room_lifecycle_create_join_leave_rejoin(registry):
    room = registry.create("10.0.0.1")
    assert registry.get(room.display_code.lower()) is room
    room2, member = registry.join(room.display_code, "s1", "10.0.0.2")
    assert room2 is room and member.following and room.connected_members() == 1
    assert registry.leave("s1") is room and registry.leave("s1") is None
    assert room.connected_members() == 0
    _, again = registry.join(room.code, "s2", "10.0.0.2", member_id=member.member_id)
    assert again is member and again.sid == "s2" and len(room.members) == 1


def test_only_the_token_holder_becomes_a_controller(registry):
    room = registry.create("10.0.0.1")
    with refused("bad_token"):
        registry.claim(room.code, "forged", "student", "10.0.0.9")
    assert not room.is_controller("student")
    registry.claim(room.code, room.token, "console", "10.0.0.1")
    assert room.is_controller("console")


def test_instructor_reconnect_reclaims_with_the_token(registry):
    room = registry.create("10.0.0.1")
    registry.claim(room.code, room.token, "old-sid", "10.0.0.1")
    registry.leave("old-sid")
    assert not room.controllers
    registry.claim(room.code, room.token, "new-sid", "10.0.0.1")
    assert room.controllers == {"new-sid"}


def test_room_cap(registry):
    for _ in range(3):
        registry.create("10.0.0.1")
    with refused("rooms_full"):
        registry.create("10.0.0.1")


def test_member_cap_counts_connected_students(registry):
    room = registry.create("10.0.0.1")
    for i in range(4):
        registry.join(room.code, f"s{i}", f"10.0.0.{i}")
    with refused("room_full"):
        registry.join(room.code, "s9", "10.0.0.9")
    registry.leave("s0")
    registry.join(room.code, "s9", "10.0.0.9")


def test_wrong_codes_are_rate_limited_per_address_and_expire_after_a_minute(registry, clock):
    room = registry.create("10.0.0.1")
    for _ in range(5):
        with refused("no_room"):
            registry.join("2222-2222", "x", "6.6.6.6")
    with refused("rate_limited"):  # even the right code is refused while blocked
        registry.join(room.code, "x", "6.6.6.6")
    registry.join(room.code, "y", "7.7.7.7")  # another address is unaffected
    clock.now += 61
    registry.join(room.code, "x", "6.6.6.6")


def test_a_whole_class_behind_one_address_can_join(registry):
    registry.limits = RoomLimits(max_rooms=3, max_members=300, idle_s=600, join_attempts_per_minute=5)
    room = registry.create("10.0.0.1")
    for i in range(300):
        registry.join(room.code, f"s{i}", "192.0.2.1")
    assert room.connected_members() == 300


def test_idle_rooms_expire_with_an_injected_clock(registry, clock):
    old, busy = registry.create("10.0.0.1"), registry.create("10.0.0.1")
    _, member = registry.join(old.code, "s1", "10.0.0.2")
    clock.now += 500
    registry.touch(busy)
    clock.now += 200
    assert registry.idle() == [old]
    registry.close(old)
    assert registry.get(old.code) is None and registry.room_of("s1") is None
    clock.now += 600
    assert registry.idle() == [busy]


def test_room_creation_is_rate_limited_per_address(registry):
    registry.limits = RoomLimits(max_rooms=50, max_members=4, idle_s=600, join_attempts_per_minute=5)
    for _ in range(5):
        registry.create("6.6.6.6")
    with refused("rate_limited"):
        registry.create("6.6.6.6")
    registry.create("7.7.7.7")


def test_prediction_tallies_one_answer_per_student(registry):
    room = registry.create("10.0.0.1")
    students = [registry.join(room.code, f"s{i}", "10.0.0.1")[1] for i in range(4)]
    room.open_prediction("How many queries?", ("1", "300", "3000"), reveal=("db_queries",), answer=0)
    for member, choice in zip(students, (0, 1, 1, 2)):
        room.answer(member, choice)
    room.answer(students[3], 1)  # changed their mind
    assert room.prediction.tally() == [1, 3, 0]
    assert room.snapshot()["prediction"]["answer"] is None  # not revealed before the run
    for bad in (3, -1, "1", True, None, 1.0):
        with refused("bad_choice"):
            room.answer(students[0], bad)
    room.reveal_result({"db_queries": 1, "errors": 0, "latency_ms": {"p99": 3}})
    public = room.snapshot()["prediction"]
    assert public["result"] == {"db_queries": 1} and public["answer"] == 0 and not public["open"]
    with refused("prediction_closed"):
        room.answer(students[0], 0)


def test_prediction_choice_count_is_bounded(registry):
    room = registry.create("10.0.0.1")
    with refused("bad_prediction"):
        room.open_prediction("?", ("only one",))
    with refused("bad_prediction"):
        room.open_prediction("?", tuple(str(i) for i in range(9)))


def test_taps_are_bounded_per_second_and_per_run(registry, clock):
    room = registry.create("10.0.0.1")
    _, member = registry.join(room.code, "s1", "10.0.0.1")
    with refused("herd_off"):
        room.take_tap(member)
    room.herd = True
    with refused("no_run"):
        room.take_tap(member)
    room.run = {"started": {"run_id": "r1"}}
    for _ in range(TAPS_PER_SECOND):
        room.take_tap(member)
    with refused("tap_rate"):
        room.take_tap(member)
    while member.run_taps < TAPS_PER_MEMBER_PER_RUN:
        clock.now += 1
        room.take_tap(member)
    clock.now += 1
    with refused("tap_budget"):
        room.take_tap(member)
    room.new_run()
    room.run = {"started": {"run_id": "r2"}}
    room.take_tap(member)
