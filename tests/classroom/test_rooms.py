"""The room model: codes, tokens, caps, join-attempt limits, idle expiry, predictions, tap budgets."""
from __future__ import annotations

import pytest

from webapp.classroom import codes
from webapp.classroom.rooms import (ANSWERS_PER_QUESTION, TAPS_PER_MEMBER_PER_RUN, TAPS_PER_SECOND,
                                    RoomError, RoomLimits, RoomRegistry)
from webapp.classroom.tokens import Tokens


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
    return RoomRegistry(RoomLimits(max_rooms=3, max_members=4, idle_s=600, join_attempts_per_minute=5,
                                   rooms_per_address=3, orphan_grace_s=300), clock)


_consoles = iter(range(1_000_000))


def create(registry: RoomRegistry, address: str = "10.0.0.1", sid: str | None = None):
    """A room created by a console of its own (each create comes from a new connection)."""
    return registry.create(address, sid or f"console-{next(_consoles)}")


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


def test_control_tokens_are_secret_signed_for_their_room_and_compared_safely():
    tokens = Tokens("secret")
    token = tokens.control("ABCDEFGH")
    assert len(token) >= 40 and token != tokens.control("ABCDEFGH")
    assert codes.token_matches(token, token) and tokens.controls("ABCDEFGH", token)
    for forged in ("", token[:-1], None, 12, token + "x", ["x"]):
        assert not codes.token_matches(token, forged) and not tokens.controls("ABCDEFGH", forged)
    assert not tokens.controls("ABCDEFGJ", token)                       # another room's
    assert not Tokens("another secret").controls("ABCDEFGH", token)     # another server's


def test_member_tokens_name_one_student_of_one_room_and_cannot_be_made_up():
    tokens = Tokens("secret")
    token = tokens.member("ABCDEFGH", "m1")
    assert tokens.member_id("ABCDEFGH", token) == "m1"
    assert tokens.member_id("ABCDEFGJ", token) is None                          # another room
    assert tokens.member_id("ABCDEFGH", Tokens("guess").member("ABCDEFGH", "m1")) is None
    assert tokens.member_id("ABCDEFGH", tokens.control("ABCDEFGH")) is None     # a control token is no member
    payload, signature = token.rsplit(".", 1)
    altered = tokens.member("ABCDEFGH", "m2").rsplit(".", 1)[0] + "." + signature
    for forged in (altered, token[:-2], "m1", None, 7, "x" * 1000):
        assert tokens.member_id("ABCDEFGH", forged) is None


def test_room_lifecycle_create_join_leave_rejoin(registry):
    room = create(registry, "10.0.0.1")
    assert registry.get(room.display_code.lower()) is room
    room2, member = registry.join(room.display_code, "s1", "10.0.0.2")
    assert room2 is room and member.following and room.connected_members() == 1
    assert registry.leave("s1") is room and registry.leave("s1") is None
    assert room.connected_members() == 0
    _, again = registry.join(room.code, "s2", "10.0.0.2", registry.member_token(room, member))
    assert again is member and again.sid == "s2" and len(room.members) == 1


def test_a_forged_or_foreign_member_token_joins_a_new_student_never_another(registry):
    room, other = create(registry, "10.0.0.1"), create(registry, "10.0.0.2")
    _, victim = registry.join(room.code, "victim", "10.0.0.3")
    room.open_prediction("?", ("a", "b"))
    room.answer(victim, 1)
    _, elsewhere = registry.join(other.code, "x", "10.0.0.3")
    token = registry.member_token(room, victim)
    forged = [victim.member_id, token[:-1], registry.member_token(other, elsewhere),
              Tokens("not the server's").member(room.code, victim.member_id)]
    for i, bad in enumerate(forged):
        _, member = registry.join(room.code, f"attacker{i}", "6.6.6.6", bad)
        assert member is not victim and member.member_id != victim.member_id
        registry.leave(f"attacker{i}")
    assert victim.sid == "victim" and room.prediction.answers == {victim.member_id: 1}
    assert room.you(victim)["choice"] == 1


def test_a_student_the_room_forgot_comes_back_with_a_valid_token_under_the_same_id(registry):
    room = create(registry, "10.0.0.1")
    _, member = registry.join(room.code, "s1", "10.0.0.2")
    token = registry.member_token(room, member)
    registry.leave("s1")
    del room.members[member.member_id]          # forgotten (a long absence, a reopened room)
    _, again = registry.join(room.code, "s2", "10.0.0.2", token)
    assert again.member_id == member.member_id and len(room.members) == 1


def test_owned_needs_the_rooms_own_token_and_says_nothing_otherwise(registry):
    room, other = create(registry, "10.0.0.1"), create(registry, "10.0.0.1")
    assert registry.owned(room.display_code, room.token) is room
    for code, token in ((room.code, other.token), (room.code, "forged"), ("ZZZZZZZZ", room.token),
                        (None, None)):
        assert registry.owned(code, token) is None
    assert not registry.failures.blocked("10.0.0.1")


def test_only_the_token_holder_becomes_a_controller(registry):
    room = create(registry, "10.0.0.1")
    with refused("bad_token"):
        registry.claim(room.code, "forged", "student", "10.0.0.9")
    assert not room.is_controller("student")
    registry.claim(room.code, room.token, "console", "10.0.0.1")
    assert room.is_controller("console")


def test_instructor_reconnect_reclaims_with_the_token(registry):
    room = create(registry, "10.0.0.1", sid="old-sid")
    assert room.controllers == {"old-sid"}
    registry.leave("old-sid")
    assert not room.controllers
    registry.claim(room.code, room.token, "new-sid", "10.0.0.1")
    assert room.controllers == {"new-sid"}


def test_room_cap(registry):
    for i in range(3):
        create(registry, f"10.0.0.{i}")
    with refused("rooms_full"):
        create(registry, "10.0.0.9")


def test_member_cap_counts_connected_students(registry):
    room = create(registry, "10.0.0.1")
    for i in range(4):
        registry.join(room.code, f"s{i}", f"10.0.0.{i}")
    with refused("room_full"):
        registry.join(room.code, "s9", "10.0.0.9")
    registry.leave("s0")
    registry.join(room.code, "s9", "10.0.0.9")


def test_wrong_codes_are_rate_limited_per_address_and_expire_after_a_minute(registry, clock):
    room = create(registry, "10.0.0.1")
    for _ in range(5):
        with refused("no_room"):
            registry.join("2222-2222", "x", "6.6.6.6")
    with refused("rate_limited"):
        registry.join("3333-3333", "x", "6.6.6.6")
    registry.join(room.code, "y", "7.7.7.7")  # another address: unaffected
    clock.now += 61
    with refused("no_room"):
        registry.join("3333-3333", "x", "6.6.6.6")


def test_a_right_code_and_the_instructors_token_work_from_a_blocked_address(registry):
    room = create(registry, "10.0.0.1", sid="console")
    for _ in range(20):   # a prankster behind the class's NAT
        with pytest.raises(RoomError):
            registry.join("2222-2222", "prankster", "192.0.2.1")
    assert registry.join(room.display_code, "classmate", "192.0.2.1")[0] is room
    registry.leave("console")
    assert registry.claim(room.code, room.token, "console-reloaded", "192.0.2.1") is room
    assert room.controllers == {"console-reloaded"}


def test_a_whole_class_behind_one_address_can_join(registry):
    registry.limits = RoomLimits(max_rooms=3, max_members=300, idle_s=600, join_attempts_per_minute=5)
    room = create(registry, "10.0.0.1")
    for i in range(300):
        registry.join(room.code, f"s{i}", "192.0.2.1")
    assert room.connected_members() == 300


def test_idle_rooms_expire_with_an_injected_clock(registry, clock):
    old, busy = create(registry, "10.0.0.1"), create(registry, "10.0.0.1")
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
    registry.limits = RoomLimits(max_rooms=50, max_members=4, idle_s=600, join_attempts_per_minute=5,
                                 rooms_per_address=50)
    for _ in range(5):
        create(registry, "6.6.6.6")
    with refused("rate_limited"):
        create(registry, "6.6.6.6")
    create(registry, "7.7.7.7")


def test_prediction_tallies_one_answer_per_student(registry):
    room = create(registry, "10.0.0.1")
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
    room = create(registry, "10.0.0.1")
    with refused("bad_prediction"):
        room.open_prediction("?", ("only one",))
    with refused("bad_prediction"):
        room.open_prediction("?", tuple(str(i) for i in range(9)))


def test_taps_are_bounded_per_second_and_per_run(registry, clock):
    room = create(registry, "10.0.0.1")
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


def test_one_address_cannot_hold_more_than_its_rooms_and_a_refused_create_leaves_nothing(registry):
    registry.limits = RoomLimits(max_rooms=50, rooms_per_address=2, join_attempts_per_minute=50)
    create(registry, "6.6.6.6"), create(registry, "6.6.6.6")
    with refused("rooms_per_address"):
        create(registry, "6.6.6.6", sid="third")
    assert len(registry.rooms) == 2 and registry.room_of("third") is None
    create(registry, "10.0.0.1")   # everyone else still can


def test_a_socket_has_one_membership_repeat_joins_keep_it_and_moving_leaves_the_old_room(registry):
    a, b = create(registry, "10.0.0.1"), create(registry, "10.0.0.2")
    _, member = registry.join(a.code, "s", "10.0.0.3")
    member.run_taps = 7
    for _ in range(1000):
        assert registry.join(a.code, "s", "10.0.0.3")[1] is member   # same student, same budget
    assert len(a.members) == 1 and member.run_taps == 7
    registry.join(b.code, "s", "10.0.0.3")
    assert a.connected_members() == 0 and a.following_count() == 0
    assert b.connected_members() == 1 and registry.room_of("s") is b
    registry.leave("s")
    assert b.connected_members() == 0 and registry.room_of("s") is None


def test_departed_students_are_remembered_up_to_a_bound_oldest_forgotten_first(registry):
    room = create(registry, "10.0.0.1")
    first = registry.join(room.code, "s0", "10.0.0.2")[1]
    registry.leave("s0")
    for i in range(1, 20):
        registry.join(room.code, f"s{i}", "10.0.0.2")
        registry.leave(f"s{i}")
    assert len(room.members) == 2 * registry.limits.max_members
    assert first.member_id not in room.members
    assert room.connected_members() == 0


def test_a_room_whose_instructor_is_gone_closes_after_the_grace_period(registry, clock):
    kept, left = create(registry, "10.0.0.1", sid="c1"), create(registry, "10.0.0.2", sid="c2")
    registry.join(left.code, "student", "10.0.0.3")
    registry.leave("c1")
    registry.leave("c2")
    clock.now += 200
    registry.claim(kept.code, kept.token, "c1-again", "10.0.0.1")   # back in time
    clock.now += 101
    assert registry.idle() == [left]


def test_answers_per_question_are_bounded_per_student(registry):
    room = create(registry, "10.0.0.1")
    _, member = registry.join(room.code, "s", "10.0.0.2")
    room.open_prediction("?", ("a", "b"))
    for i in range(ANSWERS_PER_QUESTION):
        room.answer(member, i % 2)
    with refused("answer_budget"):
        room.answer(member, 0)
    registry.join(room.code, "s", "10.0.0.2")       # joining again does not reset it
    with refused("answer_budget"):
        room.answer(member, 1)
    room.open_prediction("next?", ("a", "b"))        # a new question does
    room.answer(member, 1)


def test_a_students_own_answer_requests_and_budget_are_kept_for_their_return(registry):
    room = create(registry, "10.0.0.1")
    _, member = registry.join(room.code, "s1", "10.0.0.2")
    _, other = registry.join(room.code, "s2", "10.0.0.3")
    room.open_prediction("?", ("a", "b", "c"))
    room.answer(member, 2)
    room.herd = True
    room.run = {"started": {"run_id": "r1"}}
    room.take_tap(member)
    room.tapped("s1", "r1", 17)
    room.tapped("s1", "old-run", 3)             # another run's answer: not theirs in this one
    room.tapped("nobody", "r1", 4)
    registry.leave("s1")
    _, back = registry.join(room.code, "s1-reloaded", "10.0.0.2", registry.member_token(room, member))
    assert room.you(back) == {"choice": 2, "taps": [17], "taps_left": TAPS_PER_MEMBER_PER_RUN - 1,
                              "tap_budget": TAPS_PER_MEMBER_PER_RUN}
    assert room.you(other)["choice"] is None and room.you(other)["taps"] == []
    first = room.prediction.public()["id"]
    room.open_prediction("next?", ("a", "b"))
    assert room.prediction.public()["id"] == first + 1 and room.you(back)["choice"] is None
    room.new_run()
    assert room.you(back)["taps"] == [] and room.you(back)["taps_left"] == TAPS_PER_MEMBER_PER_RUN


def test_a_rooms_summary_says_what_its_run_is_doing(registry):
    room = create(registry, "10.0.0.1", sid="console")
    registry.join(room.code, "s1", "10.0.0.2")
    assert room.summary() == {"display_code": room.display_code, "members": 1, "instructor": True,
                              "lesson": None, "run": None}
    room.run = {"started": {"run_id": "r"}}
    assert room.summary()["run"] == "playing"
    room.run["state"] = {"status": "paused"}
    assert room.summary()["run"] == "paused"
    room.run["done"] = {"summary": {}}
    registry.leave("console")
    assert room.summary()["run"] == "finished" and room.summary()["instructor"] is False
