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
from webapp.classroom.history import RunHistory
from webapp.classroom.limits import Clock, SlidingWindow
from webapp.classroom.tokens import Tokens

# Join the herd: a tap is a real request in the instructor's run, so taps are bounded per student
# per second (a held-down key cannot flood the run), per student per run, and per run.
TAPS_PER_SECOND = 5
TAPS_PER_MEMBER_PER_RUN = 40
TAPS_PER_RUN = 3_000
# A student may change their answer, but not without end (20,000 answers stalled the server).
ANSWERS_PER_QUESTION = 20
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
    rooms_per_address: int = 3       # rooms alive at once created from one address
    orphan_grace_s: float = 10 * 60  # a room with no instructor connected closes after this
    in_flight: int = 5000            # requests in flight a room keeps per side for a late page (the lab's animation cap)

    @classmethod
    def from_settings(cls, settings: Any) -> "RoomLimits":
        return cls(settings.max_rooms, settings.max_room_members, settings.room_idle_s,
                   settings.join_attempts_per_minute, settings.rooms_per_address,
                   settings.room_orphan_grace_s, settings.lab_max_animate)


@dataclass
class Member:
    """A student. ``member_id`` names them in the room; their browser keeps it signed (a member
    token, ``tokens.py``) so a reload or a dropped connection brings back the same student, with
    their answer, their requests and their budgets, without counting twice."""

    member_id: str
    sid: str | None
    following: bool = True
    run_taps: int = 0
    answers: int = 0      # answers to the open question (reset with each new question)
    reqs: list[int] = field(default_factory=list)   # their taps' request ids in this run
    token: str | None = None   # their member token, signed once (a join flood signs nothing)


@dataclass
class Prediction:
    """The class's answers to one question: one answer per member, changeable while open."""

    question: str
    choices: tuple[str, ...]
    serial: int = 0            # which question of the room this is (a page resets its choice on a new one)
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
        return {"id": self.serial, "question": self.question, "choices": list(self.choices), "open": self.open,
                "tally": self.tally(), "responses": len(self.answers), "lesson": self.lesson,
                "reveal": list(self.reveal), "result": self.result,
                "answer": self.answer if self.result is not None else None}


@dataclass
class Room:
    code: str
    token: str
    created: float
    last_active: float
    address: str = ""                           # who created it (the per-address cap)
    join_url: str = ""                          # what students open (QR code, console, presenter)
    members: dict[str, Member] = field(default_factory=dict)   # by member_id, departed too
    by_sid: dict[str, Member] = field(default_factory=dict)    # connected members only
    following: set[str] = field(default_factory=set)           # sids of following members
    departed: dict[str, None] = field(default_factory=dict)    # member_ids, oldest first
    controllers: set[str] = field(default_factory=set)
    orphaned_at: float | None = None            # when the last controller left
    lesson: dict[str, Any] | None = None      # {"id", "step"}
    settings: dict[str, Any] | None = None    # {"scenario", "preset", "speed", "compare"}
    run: dict[str, Any] = field(default_factory=dict)  # last "started"/"state"/"done" payloads
    history: RunHistory = field(default_factory=lambda: RunHistory(RoomLimits.in_flight))   # samples, and what is in flight
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
        return len(self.following)

    def set_following(self, member: Member, on: bool) -> None:
        member.following = on
        if member.sid is not None:
            (self.following.add if on else self.following.discard)(member.sid)

    def is_controller(self, sid: str) -> bool:
        return sid in self.controllers

    @property
    def run_status(self) -> str | None:
        """What the room's run is doing: playing, paused, finished, stopped; None before any run."""
        if "done" in self.run:
            return "finished"
        return (self.run.get("state") or {}).get("status") or ("playing" if "started" in self.run else None)

    def summary(self) -> dict[str, Any]:
        """How the room is doing, for the instructor's list of their open rooms."""
        return {"display_code": self.display_code, "members": self.connected_members(),
                "instructor": bool(self.controllers), "lesson": self.lesson["title"] if self.lesson else None,
                "run": self.run_status}

    def you(self, member: Member) -> dict[str, Any]:
        """What is a student's own in the room: their answer, their requests, their tap budget."""
        p = self.prediction
        return {"choice": p.answers.get(member.member_id) if p else None, "taps": list(member.reqs),
                "taps_left": TAPS_PER_MEMBER_PER_RUN - member.run_taps, "tap_budget": TAPS_PER_MEMBER_PER_RUN}

    def tapped(self, sid: str, run_id: str, req: int) -> None:
        """A student's tap became request ``req`` of the room's run: it is theirs (after a reload too)."""
        member = self.by_sid.get(sid)
        if member is not None and (self.run.get("started") or {}).get("run_id") == run_id \
                and len(member.reqs) < TAPS_PER_MEMBER_PER_RUN:
            member.reqs.append(req)

    def snapshot(self) -> dict[str, Any]:
        """Everything a follower needs to show the room's current view, in one JSON object."""
        return {"code": self.code, "display_code": self.display_code, "join_url": self.join_url,
                "lesson": self.lesson,
                "settings": self.settings, "run": dict(self.run), "herd": self.herd,
                "prediction": self.prediction.public() if self.prediction else None,
                "members": self.connected_members(), "following": self.following_count()}

    # -- prediction --------------------------------------------------------------------------
    def open_prediction(self, question: str, choices: tuple[str, ...], *, lesson: str | None = None,
                        reveal: tuple[str, ...] = (), answer: int | None = None) -> Prediction:
        if not 2 <= len(choices) <= MAX_CHOICES:
            raise RoomError("bad_prediction", f"A prediction needs 2 to {MAX_CHOICES} choices.")
        serial = self.prediction.serial + 1 if self.prediction else 1
        self.prediction = Prediction(question, choices, serial, lesson, reveal, answer)
        for m in self.members.values():
            m.answers = 0
        return self.prediction

    def answer(self, member: Member, choice: object) -> Prediction:
        p = self.prediction
        if p is None or not p.open:
            raise RoomError("prediction_closed", "There is no open question to answer right now.")
        if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(p.choices):
            raise RoomError("bad_choice", f"Pick one of the {len(p.choices)} choices.")
        if member.answers >= ANSWERS_PER_QUESTION:
            raise RoomError("answer_budget", "You have changed your answer enough times for this "
                                             "question.")
        member.answers += 1
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
        self.history.clear()
        self.run_taps = 0
        for m in self.members.values():
            m.run_taps = 0
            m.reqs.clear()

    def take_tap(self, member: Member) -> None:
        """Spend one tap of the student's budget or refuse with the reason."""
        if not self.herd:
            raise RoomError("herd_off", "Join the herd is not on: wait for the instructor.")
        if self.run_status not in ("playing", "paused"):
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
    """All rooms of this process, with the caps, the join-attempt limit and expiry.

    Every operation is O(1) in the number of members: a socket has at most one membership
    (``sids``), so a flood of ``join`` from one socket replaces, never accumulates, and departed
    students are remembered (so they can come back) in arrival order, oldest forgotten first.
    """

    def __init__(self, limits: RoomLimits, clock: Clock = time.monotonic,
                 code_taken: Callable[[str], bool] = lambda code: False,
                 tokens: Tokens | None = None) -> None:
        self.limits = limits
        self.clock = clock
        self.code_taken = code_taken  # another process may hold the code (multi-process mode)
        # Signs control and member tokens (the app's secret key; a random one when none is given)
        self.tokens = tokens or Tokens(secrets.token_hex(32))
        self.rooms: dict[str, Room] = {}
        self.sids: dict[str, str] = {}  # connected sid -> room code, members and controllers alike
        # Only *failed* attempts count: a class behind one NAT address joins 300 times in a minute,
        # but guessing codes is nothing but failures.
        self.failures = SlidingWindow(limits.join_attempts_per_minute, 60.0, clock)
        self.creations = SlidingWindow(limits.join_attempts_per_minute, 60.0, clock)

    def create(self, address: str, sid: str, code: str | None = None,
               token: str | None = None) -> Room:
        """A new room whose controller is ``sid``; nothing is registered if it is refused.

        ``code`` and ``token`` re-create a room that was lost with its process (``relay``).
        """
        if sum(1 for r in self.rooms.values() if r.address == address) >= self.limits.rooms_per_address:
            raise RoomError("rooms_per_address", "Your network already has as many rooms open as "
                                                 "it may: close one (or wait for it to expire).")
        if len(self.rooms) >= self.limits.max_rooms:
            raise RoomError("rooms_full", "This server already hosts as many rooms as it allows; "
                                          "try again later or ask the operator to raise HERDLAB_MAX_ROOMS.")
        if not self.creations.allow(address):
            raise RoomError("rate_limited", "Too many new rooms from your network: wait a minute.")
        if code is None:
            code = codes.new_code()
            while code in self.rooms or self.code_taken(code):
                code = codes.new_code()
        now = self.clock()
        room = Room(code, token or self.tokens.control(code), now, now, address=address,
                    history=RunHistory(self.limits.in_flight),
                    tap_window=SlidingWindow(TAPS_PER_SECOND, 1.0, self.clock, self.limits.max_members))
        self.rooms[code] = room
        self._leave_current(sid)
        room.controllers.add(sid)
        self.sids[sid] = code
        return room

    def get(self, raw_code: object) -> Room | None:
        code = codes.normalize_code(raw_code)
        return self.rooms.get(code) if code else None

    def _lookup(self, raw_code: object, address: str) -> Room:
        """The room for a typed code; a wrong code is charged to ``address``.

        A right code always works, even from an address that typed many wrong ones (a classmate
        behind the same NAT, or the instructor's console): guessing is defeated by the size of the
        code space, not by locking people out (docs/instructors.md has the arithmetic).
        """
        room = self.get(raw_code)
        if room is not None:
            return room
        if not self.failures.allow(address):
            raise RoomError("rate_limited", "Too many wrong codes from your network: wait a minute.")
        raise RoomError("no_room", "No room has that code. Check it on the projector.")

    def join(self, raw_code: object, sid: str, address: str, member_token: object = None) -> tuple[Room, Member]:
        """Add a student (or bring one back by their member token), following by default.

        A socket that already belongs to this room keeps its membership (its budgets too); one
        that belongs to another room leaves it first. A token that does not verify for this room
        (forged, altered, another room's) joins a new student: it can never name someone else.
        A valid token whose student the room has forgotten brings them back under the same id.
        """
        room = self._lookup(raw_code, address)
        current = room.by_sid.get(sid)
        if current is not None and (member_token is None or member_token == current.token):
            return room, current                      # the same socket again: nothing to verify
        member_id = self.tokens.member_id(room.code, member_token)
        if current is not None and (member_id is None or member_id == current.member_id):
            return room, current
        member = room.members.get(member_id) if member_id is not None else None
        if member is None:
            if room.connected_members() >= self.limits.max_members:
                raise RoomError("room_full", f"This room is full ({self.limits.max_members} students).")
        self._leave_current(sid)
        if member is None:
            member = Member(member_id or secrets.token_urlsafe(12), None)
            room.members[member.member_id] = member
        if member.sid is not None:   # the same student from a new connection
            self._detach_sid(room, member.sid)
        room.departed.pop(member.member_id, None)
        member.sid = sid
        room.by_sid[sid] = member
        room.set_following(member, True)
        self.sids[sid] = room.code
        room.last_active = self.clock()
        return room, member

    def member_token(self, room: Room, member: Member) -> str:
        if member.token is None:
            member.token = self.tokens.member(room.code, member.member_id)
        return member.token

    def owned(self, raw_code: object, token: object) -> Room | None:
        """The room ``token`` controls, or None: the same answer for a wrong token as for no room,
        so asking tells a guesser nothing."""
        room = self.get(raw_code)
        if room is None or not self.tokens.controls(room.code, token) or not codes.token_matches(room.token, token):
            return None
        return room

    def claim(self, raw_code: object, token: object, sid: str, address: str) -> Room:
        """Make ``sid`` a controller of the room: the instructor's console, its presenter window,
        or the same browser after a reload or reconnect."""
        room = self._lookup(raw_code, address)
        if self.owned(room.code, token) is not room:
            self.failures.allow(address)
            raise RoomError("bad_token", "This browser does not hold the room's control token.")
        if self.sids.get(sid) != room.code:
            self._leave_current(sid)
        room.controllers.add(sid)
        room.orphaned_at = None
        self.sids[sid] = room.code
        room.last_active = self.clock()
        return room

    def room_of(self, sid: str) -> Room | None:
        code = self.sids.get(sid)
        return self.rooms.get(code) if code else None

    def leave(self, sid: str) -> Room | None:
        """Forget a connection; the member record stays so the student can rejoin."""
        return self._leave_current(sid)

    def _leave_current(self, sid: str) -> Room | None:
        room = self.room_of(sid)
        self.sids.pop(sid, None)
        if room is None:
            return None
        self._detach_sid(room, sid)
        if sid in room.controllers:
            room.controllers.discard(sid)
            if not room.controllers:
                room.orphaned_at = self.clock()
        return room

    def _detach_sid(self, room: Room, sid: str) -> None:
        member = room.by_sid.pop(sid, None)
        room.following.discard(sid)
        if member is None:
            return
        member.sid = None
        room.departed[member.member_id] = None
        while len(room.departed) > 2 * self.limits.max_members:   # forget the longest gone
            oldest = next(iter(room.departed))
            del room.departed[oldest]
            room.members.pop(oldest, None)

    def touch(self, room: Room) -> None:
        room.last_active = self.clock()

    def idle(self) -> list[Room]:
        """Rooms nobody has driven or joined for ``idle_s``, or whose instructor has been gone for
        ``orphan_grace_s``: the caller closes them."""
        now = self.clock()
        cutoff = now - self.limits.idle_s
        orphan_cutoff = now - self.limits.orphan_grace_s
        return [room for room in self.rooms.values()
                if room.last_active <= cutoff
                or (room.orphaned_at is not None and room.orphaned_at <= orphan_cutoff)]

    def close(self, room: Room) -> None:
        self.rooms.pop(room.code, None)
        for sid in [*room.by_sid, *room.controllers]:
            if self.sids.get(sid) == room.code:
                self.sids.pop(sid, None)
