"""Rooms: who is in a class, who controls it, and what every student should be seeing.

Plain Python with an injected clock (no Flask, no Socket.IO), so lifecycle, limits and expiry are
tested without a server or real time. The Socket.IO layer maps connections (sids) onto members and
controllers; this module decides what is allowed.

A room's *view* (lesson step, scenario switches, the last run's ``started``/``state``/``done``) is kept
here so a student who joins late or rejoins after detaching catches up from one snapshot.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from webapp.classroom import codes
from webapp.classroom.limits import Clock, SlidingWindow

# Join the herd: a tap is a real request in the instructor's run, so taps are bounded per student
# per second (a held-down key cannot flood the run), per student per run, and per run.
TAPS_PER_SECOND = 5
TAPS_PER_MEMBER_PER_RUN = 40
TAPS_PER_RUN = 3_000
MAX_CHOICES = 8
# What an ad-hoc question's reveal shows when the instructor names no summary keys.
DEFAULT_REVEAL = ("db_queries", "errors", "coalesced")


class RoomError(Exception):
    """A refused room action. ``reason`` is stable for code and tests; the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class RoomLimits:
    max_rooms: int = 50
    max_members: int = 400
    idle_s: float = 2 * 60 * 60
    join_attempts_per_minute: int = 20

    @classmethod
    def from_settings(cls, settings: Any) -> "RoomLimits":
        return cls(settings.max_rooms, settings.max_room_members, settings.room_idle_s,
                   settings.join_attempts_per_minute)


@dataclass
class Member:
    """A student. ``member_id`` is a server-issued secret that lets the same student rejoin after a
    reload or a dropped connection without counting twice."""

    member_id: str
    sid: str | None
    following: bool = True
    run_taps: int = 0


@dataclass
class Prediction:
    """The class's answers to one question: one answer per member, changeable while open."""

    question: str
    choices: tuple[str, ...]
    lesson: str | None = None
    reveal: tuple[str, ...] = ()
    answer: int | None = None  # the right choice, shown only after the run reveals it
    open: bool = True
    answers: dict[str, int] = field(default_factory=dict)
    result: dict[str, Any] | None = None  # summary values of the run that answered it

    def tally(self) -> list[int]:
        counts = [0] * len(self.choices)
        for choice in self.answers.values():
            counts[choice] += 1
        return counts

    def public(self) -> dict[str, Any]:
        """What students and the presenter see: the right answer only once the result is in."""
        return {"question": self.question, "choices": list(self.choices), "open": self.open,
                "tally": self.tally(), "responses": len(self.answers), "lesson": self.lesson,
                "reveal": list(self.reveal), "result": self.result,
                "answer": self.answer if self.result is not None else None}


@dataclass
class Room:
    code: str
    token: str
    created: float
    last_active: float
    members: dict[str, Member] = field(default_factory=dict)
    by_sid: dict[str, Member] = field(default_factory=dict)  # connected members only
    controllers: set[str] = field(default_factory=set)
    lesson: dict[str, Any] | None = None      # {"id", "step"}
    settings: dict[str, Any] | None = None    # {"scenario", "preset", "speed", "compare"}
    run: dict[str, Any] = field(default_factory=dict)  # last "started"/"state"/"done" payloads
    prediction: Prediction | None = None
    herd: bool = False
    run_taps: int = 0
    tap_window: SlidingWindow | None = None

    @property
    def display_code(self) -> str:
        return codes.display_code(self.code)

    def member_by_sid(self, sid: str) -> Member | None:
        return self.by_sid.get(sid)

    def connected_members(self) -> int:
        return len(self.by_sid)

    def following_count(self) -> int:
        return sum(1 for m in self.by_sid.values() if m.following)

    def is_controller(self, sid: str) -> bool:
        return sid in self.controllers

    def snapshot(self) -> dict[str, Any]:
        """Everything a follower needs to show the room's current view, in one JSON object."""
        return {"code": self.code, "display_code": self.display_code, "lesson": self.lesson,
                "settings": self.settings, "run": dict(self.run), "herd": self.herd,
                "prediction": self.prediction.public() if self.prediction else None,
                "members": self.connected_members(), "following": self.following_count()}

    # -- prediction --------------------------------------------------------------------------
    def open_prediction(self, question: str, choices: tuple[str, ...], *, lesson: str | None = None,
                        reveal: tuple[str, ...] = (), answer: int | None = None) -> Prediction:
        if not 2 <= len(choices) <= MAX_CHOICES:
            raise RoomError("bad_prediction", f"A prediction needs 2 to {MAX_CHOICES} choices.")
        self.prediction = Prediction(question, choices, lesson, reveal, answer)
        return self.prediction

    def answer(self, member: Member, choice: object) -> Prediction:
        p = self.prediction
        if p is None or not p.open:
            raise RoomError("prediction_closed", "There is no open question to answer right now.")
        if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(p.choices):
            raise RoomError("bad_choice", f"Pick one of the {len(p.choices)} choices.")
        p.answers[member.member_id] = choice
        return p

    def close_prediction(self) -> Prediction:
        if self.prediction is None:
            raise RoomError("no_prediction", "No question has been asked yet.")
        self.prediction.open = False
        return self.prediction

    def reveal_result(self, summary: dict[str, Any]) -> None:
        """Put the run's answer beside the class's guesses (the keys the lesson names, or all)."""
        p = self.prediction
        if p is None:
            return
        keys = p.reveal or DEFAULT_REVEAL
        p.result = {k: summary[k] for k in keys if k in summary}
        p.open = False

    # -- join the herd -------------------------------------------------------------------------
    def new_run(self) -> None:
        """A new run resets the per-run tap budgets (the run is a fresh herd)."""
        self.run = {}
        self.run_taps = 0
        for m in self.members.values():
            m.run_taps = 0

    def take_tap(self, member: Member) -> None:
        """Spend one tap of the student's budget or refuse with the reason."""
        if not self.herd:
            raise RoomError("herd_off", "Join the herd is not on: wait for the instructor.")
        status = (self.run.get("state") or {}).get("status") or ("playing" if "started" in self.run else None)
        if status not in ("playing", "paused"):
            raise RoomError("no_run", "Wait for the instructor to start the run, then tap.")
        if self.tap_window is not None and not self.tap_window.allow(member.member_id):
            raise RoomError("tap_rate", f"At most {TAPS_PER_SECOND} taps a second.")
        if member.run_taps >= TAPS_PER_MEMBER_PER_RUN:
            raise RoomError("tap_budget", f"You have used your {TAPS_PER_MEMBER_PER_RUN} taps for this run.")
        if self.run_taps >= TAPS_PER_RUN:
            raise RoomError("tap_budget", "The class has used every tap this run allows.")
        member.run_taps += 1
        self.run_taps += 1


class RoomRegistry:
    """All rooms of this process, with the caps, the join-attempt limit and idle expiry."""

    def __init__(self, limits: RoomLimits, clock: Clock = time.monotonic,
                 code_taken: Callable[[str], bool] = lambda code: False) -> None:
        self.limits = limits
        self.clock = clock
        self.code_taken = code_taken  # another process may hold the code (multi-process mode)
        self.rooms: dict[str, Room] = {}
        self.sids: dict[str, str] = {}  # connected sid -> room code, members and controllers alike
        # Only *failed* attempts count: a class behind one NAT address joins 300 times in a minute,
        # but guessing codes is nothing but failures.
        self.failures = SlidingWindow(limits.join_attempts_per_minute, 60.0, clock)
        self.creations = SlidingWindow(limits.join_attempts_per_minute, 60.0, clock)

    def create(self, address: str) -> Room:
        if not self.creations.allow(address):
            raise RoomError("rate_limited", "Too many new rooms from your network: wait a minute.")
        if len(self.rooms) >= self.limits.max_rooms:
            raise RoomError("rooms_full", "This server already hosts as many rooms as it allows; "
                                          "try again later or ask the operator to raise HERDLAB_MAX_ROOMS.")
        code = codes.new_code()
        while code in self.rooms or self.code_taken(code):
            code = codes.new_code()
        now = self.clock()
        room = Room(code, codes.new_token(), now, now,
                    tap_window=SlidingWindow(TAPS_PER_SECOND, 1.0, self.clock, self.limits.max_members))
        self.rooms[code] = room
        return room

    def get(self, raw_code: object) -> Room | None:
        code = codes.normalize_code(raw_code)
        return self.rooms.get(code) if code else None

    def _lookup(self, raw_code: object, address: str) -> Room:
        """The room for a typed code, charging a failure to ``address`` when there is none."""
        if self.failures.blocked(address):
            raise RoomError("rate_limited", "Too many wrong codes from your network: wait a minute.")
        room = self.get(raw_code)
        if room is None:
            self.failures.allow(address)
            raise RoomError("no_room", "No room has that code. Check it on the projector.")
        return room

    def join(self, raw_code: object, sid: str, address: str, member_id: object = None) -> tuple[Room, Member]:
        """Add a student (or bring one back by ``member_id``), following by default."""
        room = self._lookup(raw_code, address)
        member = room.members.get(member_id) if isinstance(member_id, str) else None
        if member is None:
            if room.connected_members() >= self.limits.max_members:
                raise RoomError("room_full", f"This room is full ({self.limits.max_members} students).")
            member = Member(secrets.token_urlsafe(12), sid)
            room.members[member.member_id] = member
            self._forget_departed(room)
        if member.sid is not None:
            room.by_sid.pop(member.sid, None)  # the same student from a new connection
        member.sid = sid
        member.following = True
        room.by_sid[sid] = member
        self.sids[sid] = room.code
        room.last_active = self.clock()
        return room, member

    def _forget_departed(self, room: Room) -> None:
        """Keep departed students (they may come back) but never more than the cap of them."""
        departed = [m for m in room.members.values() if m.sid is None]
        for m in departed[: max(0, len(room.members) - 2 * self.limits.max_members)]:
            del room.members[m.member_id]

    def claim(self, raw_code: object, token: object, sid: str, address: str) -> Room:
        """Make ``sid`` a controller of the room: the instructor's console, its presenter window,
        or the same browser after a reload or reconnect."""
        room = self._lookup(raw_code, address)
        if not codes.token_matches(room.token, token):
            self.failures.allow(address)
            raise RoomError("bad_token", "This browser does not hold the room's control token.")
        room.controllers.add(sid)
        self.sids[sid] = room.code
        room.last_active = self.clock()
        return room

    def room_of(self, sid: str) -> Room | None:
        code = self.sids.get(sid)
        return self.rooms.get(code) if code else None

    def leave(self, sid: str) -> Room | None:
        """Forget a closed connection; the member record stays so the student can rejoin."""
        room = self.room_of(sid)
        self.sids.pop(sid, None)
        if room is None:
            return None
        member = room.by_sid.pop(sid, None)
        if member is not None:
            member.sid = None
        room.controllers.discard(sid)
        return room

    def touch(self, room: Room) -> None:
        room.last_active = self.clock()

    def idle(self) -> list[Room]:
        """Rooms nobody has driven or joined for ``idle_s``: the caller closes them."""
        cutoff = self.clock() - self.limits.idle_s
        return [room for room in self.rooms.values() if room.last_active <= cutoff]

    def close(self, room: Room) -> None:
        self.rooms.pop(room.code, None)
        for sid in [*room.by_sid, *room.controllers]:
            self.sids.pop(sid, None)
