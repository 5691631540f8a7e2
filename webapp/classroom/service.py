"""What a room does with each event, in the process that owns the room.

``Classroom.handle(event, sid, payload, address)`` is the one entry point, whether the event came
from a socket of this process or was relayed from another process (see ``relay``). It never
raises: refusals go back to the sender as ``room_error`` and change nothing. Everything it sends
goes through ``socketio`` (emit, enter/leave room), which reaches a client on any process when a
message queue is configured, so the logic here is the same for one process or many.

Socket.IO rooms per class: ``room:<code>`` (everyone: questions, member counts, closing) and
``follow:<code>`` (followers and controllers: lesson step, settings and the live run).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from webapp.classroom import payloads as p
from webapp.classroom.address import join_url, public_base
from webapp.classroom.codes import normalize_code
from webapp.classroom.live import NAMESPACE, RoomOutlet
from webapp.classroom.rooms import Member, Room, RoomError, RoomRegistry
from webapp.extensions import socketio
from webapp.ops import refused
from webapp.transport.budget import check_start
from webapp.transport.controls import apply_control
from webapp.transport.payloads import CONTROL_KEYS, START_KEYS, PayloadError, parse_control, parse_start
from webapp.transport.runner import Run
from webapp.transport.slots import RunSlots

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25   # tallies and member counts go out at most 4 times a second per room
SWEEP_EVERY = 8           # flushes between expiry sweeps (2 s)
# Animated viewers x followers per room run. Every follower receives every frame, so the room's
# traffic grows with both; this keeps a herd's burst to a few MB per second in total (a classroom's
# Wi-Fi, and the server, can carry it): 30 students see all 300 dots, 300 see one dot per 6 viewers.
# Counters and charts stay exact either way (``sample`` events are never sampled).
ROOM_DOT_BUDGET = 15_000
MIN_ANIMATED = 20


class Directory(Protocol):
    """Where rooms are announced to other processes (``relay``); a no-op with one process."""

    def opened(self, room: Room) -> None: ...
    def closed(self, room: Room) -> None: ...
    def refresh(self, rooms: Iterable[Room]) -> None: ...


def everyone(code: str) -> str:
    return f"room:{code}"


def followers(code: str) -> str:
    return f"follow:{code}"


class Classroom:
    def __init__(self, registry: RoomRegistry, settings: Any, course: Callable[[], Any],
                 directory: "Directory", slots: RunSlots) -> None:
        self.registry = registry
        self.settings = settings
        self.slots = slots
        self.public_base = public_base(settings)[0]
        self.course = course            # the lessons (for steps and predictions), or None
        self.directory = directory      # tells other processes which rooms live here
        self.runs: dict[str, Run] = {}
        self.dirty: set[str] = set()
        self._ticking = False
        self.handlers: dict[str, Callable[..., None]] = {
            "create": self.create, "claim": self.claim, "join": self.join, "leave": self.leave,
            "detach": self.detach, "rejoin": self.rejoin, "answer": self.answer, "tap": self.tap,
            "room_status": self.room_status, "close_room": self.close_room,
        }
        self.controls: dict[str, Callable[[Room, str, Mapping[str, Any]], None]] = {
            "settings": self.set_settings, "lesson": self.set_lesson, "start": self.start,
            "control": self.control, "predict": self.predict, "close_prediction": self.close_prediction,
            "herd": self.set_herd, "close": self.close,
        }

    def handle(self, event: str, sid: str, payload: Any, address: str) -> None:
        try:
            if event in self.handlers:
                self.handlers[event](sid, payload, address)
            elif event in self.controls:
                room = self.registry.room_of(sid)
                if room is None or not room.is_controller(sid):
                    raise RoomError("not_instructor", "Only the instructor can do that: this screen "
                                    "follows the room. Detach to experiment on your own.")
                self.registry.touch(room)
                self.controls[event](room, sid, p.envelope(payload, _keys(event), event))
            else:
                raise RoomError("unknown_event", f"'{str(event)[:40]}' is not a room event.")
        except RoomError as exc:
            self.refuse(sid, event, exc.reason, exc.message)
        except PayloadError as exc:
            self.refuse(sid, event, "bad_payload", str(exc), exc.field)
        except Exception:
            log.exception("/room %s failed", event)
            self.refuse(sid, event, "server_error", "Something went wrong on the server; nothing was changed.")

    # -- anyone --------------------------------------------------------------------------------
    def create(self, sid: str, payload: Any, address: str) -> None:
        p.envelope(payload, (), "create")
        before = self.registry.room_of(sid)
        room = self.registry.create(address, sid)
        room.join_url = join_url(self.public_base, room.code)
        self._left(sid, before, room)
        self.directory.opened(room)
        self._ensure_ticker()
        self._enter(sid, room)
        self._send("room", {"token": room.token, "role": "instructor", **room.snapshot()}, sid)

    def reopen(self, sid: str, code: str, token: str, address: str) -> None:
        """The instructor reclaims a room whose process died: it opens again here, same code and
        token, empty; its students join again (they were told, see ``lost``)."""
        try:
            before = self.registry.room_of(sid)
            room = self.registry.create(address, sid, code=code, token=token)
        except RoomError as exc:
            self.refuse(sid, "claim", exc.reason, exc.message)
            return
        room.join_url = join_url(self.public_base, room.code)
        self._left(sid, before, room)
        self.directory.opened(room)
        self._ensure_ticker()
        self._enter(sid, room)
        self._send("room", {"role": "instructor", "reopened": True, **room.snapshot()}, sid)

    def lost(self, sid: str, code: str) -> None:
        """Tell ``sid`` that the process holding its room ``code`` stopped."""
        self._send("room_closed", {"reason": "owner_lost", "code": code, "message":
                                   "The server process that held this room stopped. Your "
                                   "instructor can reopen it with the same code; then join "
                                   "again."}, sid)

    def claim(self, sid: str, payload: Any, address: str) -> None:
        """A console (reloaded, reconnected) or its presenter takes the room back: the snapshot
        carries the run so far (``history``: its charts and what is in flight) so it resumes at the
        class's instant, with control."""
        body = p.envelope(payload, ("code", "token"), "claim")
        before = self.registry.room_of(sid)
        room = self.registry.claim(body.get("code"), body.get("token"), sid, address)
        self._left(sid, before, room)
        self._enter(sid, room)
        self._send("room", {"role": "instructor", **_caught_up(room, samples=True)}, sid)

    def room_status(self, sid: str, payload: Any, address: str) -> None:
        """Whether a room whose token this browser keeps is still open, and how it is doing: the
        console lists the instructor's open rooms with it (to resume or close them)."""
        body = p.envelope(payload, ("code", "token"), "room_status")
        self._send_status(sid, body, self.registry.owned(body.get("code"), body.get("token")))

    def close_room(self, sid: str, payload: Any, address: str) -> None:
        """End a room by its token, from any tab: a console closed without "End class" no longer
        holds its address's room cap until the room expires."""
        body = p.envelope(payload, ("code", "token"), "close_room")
        room = self.registry.owned(body.get("code"), body.get("token"))
        if room is not None:
            self._close(room, "The instructor ended the class.")
        self._send_status(sid, body, None)

    def _send_status(self, sid: str, body: Mapping[str, Any], room: Room | None) -> None:
        code = normalize_code(body.get("code"))
        self._send("room_status", {"code": code, "open": room is not None,
                                   **(room.summary() if room is not None else {})}, sid)

    def join(self, sid: str, payload: Any, address: str) -> None:
        body = p.envelope(payload, ("code", "member"), "join")
        before = self.registry.room_of(sid)
        try:
            room, member = self.registry.join(body.get("code"), sid, address, body.get("member"))
        except RoomError as exc:
            if exc.reason == "rate_limited":   # a guesser: make it reconnect for every try
                self.refuse(sid, "join", exc.reason, exc.message)
                socketio.server.disconnect(sid, namespace=NAMESPACE)
                return
            raise
        self._left(sid, before, room)
        self._enter(sid, room)
        self._send("joined", {"member_id": member.member_id, "member": self.registry.member_token(room, member),
                              "you": room.you(member), **_caught_up(room, samples=False)}, sid)
        self._mark(room)

    def leave(self, sid: str, payload: Any, address: str) -> None:
        self.slots.forget(sid)
        room = self.registry.leave(sid)
        if room is not None:
            self._mark(room)

    # -- students --------------------------------------------------------------------------------
    def _member(self, sid: str) -> tuple[Room, Member]:
        room = self.registry.room_of(sid)
        member = room.member_by_sid(sid) if room else None
        if room is None or member is None:
            raise RoomError("not_joined", "Join a room first.")
        return room, member

    def detach(self, sid: str, payload: Any, address: str) -> None:
        p.envelope(payload, (), "detach")
        room, member = self._member(sid)
        room.set_following(member, False)
        socketio.server.leave_room(sid, followers(room.code), namespace=NAMESPACE)
        self._send("detached", {"following": False}, sid)
        self._mark(room)

    def rejoin(self, sid: str, payload: Any, address: str) -> None:
        """Back to the live view; the snapshot lets the page catch up with what it missed."""
        p.envelope(payload, (), "rejoin")
        room, member = self._member(sid)
        room.set_following(member, True)
        socketio.server.enter_room(sid, followers(room.code), namespace=NAMESPACE)
        self._send("snapshot", {"you": room.you(member), **_caught_up(room, samples=False)}, sid)
        self._mark(room)

    def answer(self, sid: str, payload: Any, address: str) -> None:
        body = p.envelope(payload, ("choice",), "answer")
        room, member = self._member(sid)
        room.answer(member, body.get("choice"))
        self._send("answered", {"choice": body["choice"]}, sid)
        self._mark(room)

    def tap(self, sid: str, payload: Any, address: str) -> None:
        p.envelope(payload, (), "tap")
        room, member = self._member(sid)
        run = self.runs.get(room.code)
        if run is None or not run.running:
            raise RoomError("no_run", "Wait for the instructor to start the run, then tap.")
        room.take_tap(member)
        try:
            run.tap(sid)
        except OverflowError:
            raise RoomError("tap_rate", "The class is tapping faster than the run can take: slow down.") from None

    # -- the instructor --------------------------------------------------------------------------
    def set_settings(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        """The instructor's switches and sliders, shown on every follower's lab."""
        parse_start({"scenario": {}, **body}, max_animate=self.settings.lab_max_animate)
        room.settings = dict(body)
        socketio.emit("settings", room.settings, to=followers(room.code), skip_sid=sid, namespace=NAMESPACE)

    def set_lesson(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        lesson = self._lesson(p.text(body, "id"))
        step_id = p.text(body, "step")
        step = next((s for s in lesson.steps if s.id == step_id), None)
        if step is None:
            raise PayloadError(f"Lesson '{lesson.id}' has no step '{step_id}'.", "step")
        room.lesson = {"id": lesson.id, "title": lesson.title, "step": step.id, "step_title": step.title,
                       "steps": [s.id for s in lesson.steps]}
        socketio.emit("lesson", room.lesson, to=followers(room.code), namespace=NAMESPACE)

    def start(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        """One run per room: a new start replaces the room's run; an open question closes."""
        req = parse_start(dict(body), max_animate=self.settings.lab_max_animate)
        check_start(req, self.settings.run_max_steps)
        budget = max(MIN_ANIMATED, ROOM_DOT_BUDGET // max(1, room.following_count()))
        self._launch(room, req.scenario, req.compare, req.speed, min(req.animate_limit, budget),
                     req.inputs)

    def _launch(self, room: Room, scenario: Any, compare: Any, speed: float, animate_limit: int,
                inputs: Sequence[dict[str, Any]] = ()) -> None:
        self._stop_run(room)
        outlet = RoomOutlet(followers(room.code), lambda e, d: self._observe(room, e, d))
        run = Run(slots=self.slots, outlet=outlet, scenario=scenario, compare=compare, speed=speed,
                  animate_limit=animate_limit, inputs=inputs)
        if not self.slots.reserve(run):
            raise RoomError("server_busy", "The server is running as many experiments as it can; try again.")
        room.new_run()
        if room.prediction is not None and room.prediction.open:
            room.close_prediction()
            self._mark(room)
        self.runs[room.code] = run
        run.start(None)

    def control(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        run = self.runs.get(room.code)
        if run is None:
            raise PayloadError("There is no run to control: start one first.", "run_id")
        ctl = parse_control({"run_id": run.run_id, **body})
        if ctl.run_id != run.run_id:
            raise PayloadError("That run is no longer the room's run.", "run_id")

        def revive(t: float, pause: bool) -> None:
            if not self.slots.reserve(run):
                raise RoomError("server_busy", "The server is running as many experiments as it can.")
            run.start(t, pause)

        # A restart is a fresh herd (students tap again) with the instructor's inputs.
        apply_control(run, ctl, revive=revive,
                      restart=lambda: self._launch(room, run.scenario, run.compare, run.speed,
                                                   run.animate_limit, run.given_inputs),
                      admit_input=lambda: self.slots.admit_input(sid))

    def predict(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        """Open the lesson's prediction (by lesson id) or an ad-hoc question with choices."""
        lesson_id = p.text(body, "lesson", required=False)
        if lesson_id is not None:
            lesson = self._lesson(lesson_id)
            pr = lesson.prediction
            if pr is None:
                raise PayloadError(f"Lesson '{lesson_id}' has no prediction.", "lesson")
            room.open_prediction(pr.question, tuple(c.text for c in pr.choices), lesson=lesson.id,
                                 reveal=pr.reveal, answer=pr.answer)
        else:
            room.open_prediction(p.text(body, "question", limit=p.MAX_QUESTION), p.choices(body))
        self._send_prediction(room)

    def close_prediction(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        room.close_prediction()
        self._send_prediction(room)

    def set_herd(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        room.herd = p.flag(body, "on")
        socketio.emit("herd", {"on": room.herd}, to=everyone(room.code), namespace=NAMESPACE)

    def close(self, room: Room, sid: str, body: Mapping[str, Any]) -> None:
        self._close(room, "The instructor ended the class.")

    # -- shared ----------------------------------------------------------------------------------
    def _lesson(self, lesson_id: str | None) -> Any:
        course = self.course()
        lesson = course.lesson(lesson_id) if course is not None else None
        if lesson is None:
            raise PayloadError(f"There is no lesson '{lesson_id}'.", "id" if course else "lesson")
        return lesson

    def _observe(self, room: Room, event: str, data: dict[str, Any]) -> None:
        """Keep the run's last word and its samples for late joiners; remember whose tap is whose;
        put the result beside the class's guesses."""
        if event == "frame":
            room.history.frame(data)
            return
        if event == "tapped":
            room.tapped(data["sid"], data["run_id"], data["req"])
            return
        if event == "state":
            room.history.state(data)
        if event in ("started", "state", "done"):
            room.run[event] = data
        if event == "state" and data["action"] in ("inputs", "moments") and "started" in room.run:
            # A late joiner's ``started`` has the run's inputs and moments as they are now.
            room.run["started"] = {**room.run["started"], **{
                key: data[key] for key in ("inputs", "moments", "moments_b", "end_s") if key in data}}
        if event == "done" and room.prediction is not None and room.prediction.result is None:
            room.reveal_result(data["summary"])
            self._send_prediction(room)

    def _send_prediction(self, room: Room) -> None:
        socketio.emit("prediction", room.prediction.public() if room.prediction else None,
                      to=everyone(room.code), namespace=NAMESPACE)
        self.dirty.discard(room.code)

    def _left(self, sid: str, before: Room | None, now: Room) -> None:
        """``sid`` moved from ``before`` to ``now``: it no longer hears the old room."""
        if before is None or before is now:
            return
        for name in (everyone(before.code), followers(before.code)):
            socketio.server.leave_room(sid, name, namespace=NAMESPACE)
        self._mark(before)

    def _enter(self, sid: str, room: Room) -> None:
        for name in (everyone(room.code), followers(room.code)):
            socketio.server.enter_room(sid, name, namespace=NAMESPACE)

    def _mark(self, room: Room) -> None:
        self.dirty.add(room.code)

    def _send(self, event: str, data: Any, sid: str) -> None:
        socketio.emit(event, data, to=sid, namespace=NAMESPACE)

    def refuse(self, sid: str, event: str, reason: str, message: str, field: str | None = None) -> None:
        refused(reason)
        self._send("room_error", {"event": str(event)[:40], "reason": reason, "message": message,
                                  "field": field}, sid)

    def _stop_run(self, room: Room) -> None:
        run = self.runs.pop(room.code, None)
        if run is not None:
            run.stop()

    def _close(self, room: Room, why: str) -> None:
        self._stop_run(room)
        socketio.emit("room_closed", {"message": why}, to=everyone(room.code), namespace=NAMESPACE)
        for name in (everyone(room.code), followers(room.code)):
            socketio.server.close_room(name, namespace=NAMESPACE)
        self.registry.close(room)
        self.dirty.discard(room.code)
        self.directory.closed(room)

    # -- the ticker: throttled broadcasts and idle expiry -------------------------------------------
    def flush(self) -> None:
        """Send member counts and tallies of rooms that changed (bounded: one message per room)."""
        for code in list(self.dirty):
            self.dirty.discard(code)
            room = self.registry.rooms.get(code)
            if room is None:
                continue
            socketio.emit("members", {"members": room.connected_members(), "following": room.following_count()},
                          to=everyone(code), namespace=NAMESPACE)
            if room.prediction is not None:
                socketio.emit("prediction", room.prediction.public(), to=everyone(code), namespace=NAMESPACE)

    def sweep(self) -> None:
        for room in self.registry.idle():
            self._close(room, "The instructor left and did not come back, so this room closed."
                        if room.orphaned_at is not None else
                        "This room expired after a long idle period.")

    def _ensure_ticker(self) -> None:
        if not self._ticking:
            self._ticking = True
            socketio.start_background_task(self._tick)

    def _tick(self) -> None:
        """Runs while this process owns rooms, so an idle server (or a test) leaves no task behind."""
        n = 0
        try:
            while self.registry.rooms:
                socketio.sleep(FLUSH_INTERVAL_S)
                self.flush()
                n += 1
                if n % SWEEP_EVERY == 0:
                    self.sweep()
                    self.directory.refresh(list(self.registry.rooms.values()))
        except Exception:
            log.exception("classroom ticker failed")
        finally:
            self._ticking = False
            if self.registry.rooms:  # a room was created as the loop was ending
                self._ensure_ticker()


def _caught_up(room: Room, samples: bool) -> dict[str, Any]:
    """The room's snapshot, its run with ``history``: the requests in flight now (the stage agrees
    with the run at once, not only from the next arrivals) and, with ``samples``, the run's charts
    from the start. Students get no samples: a class of hundreds rejoining at once (a Wi-Fi blip)
    would each pull the whole history; their charts start when they join, their counters are exact
    at once either way."""
    snap = room.snapshot()
    started = room.run.get("started")
    if started is not None:
        snap["run"]["history"] = room.history.catch_up(started["run_id"], samples)
    return snap


def _keys(event: str) -> tuple[str, ...]:
    """The keys each instructor-only event may carry."""
    return {"settings": START_KEYS, "lesson": ("id", "step"), "start": START_KEYS,
            "control": CONTROL_KEYS, "predict": ("lesson", "question", "choices"),
            "close_prediction": (), "herd": ("on",), "close": ()}[event]
