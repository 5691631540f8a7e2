"""Signed tokens: what a browser keeps to be the instructor of a room, or the same student again.

Both are signed with the app's secret key (itsdangerous, the signer Flask's own sessions use), each
kind with its own salt, and each names its room's code, so a token is good for one room only and
nobody can make one up:

- the **control token** is the room's code and a random nonce. The room keeps the exact token it
  issued and compares in constant time (``codes.token_matches``); the signature adds that a token
  of one room can never name another, and that a token this server never issued is refused
  before any comparison. The instructor's browser keeps it (sessionStorage for the tab's room,
  localStorage for "your open rooms"), so a reload, a reconnect, or a new tab finds the room.
- the **member token** is the room's code and the student's ``member_id``. The room keeps nothing
  per token: a valid signature *is* the proof, so a student whose room forgot them (a long
  absence, or a room reopened on another process) comes back as the same student, and a forged or
  altered token (another student's id, another room's code) is worth nothing: its sender joins as
  a new student.

With several processes every process must share ``HERDLAB_SECRET_KEY`` (docs/instructors.md) so a
token signed by one verifies on another.
"""
from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

MAX_TOKEN = 200   # longer than any token issued here; anything longer is refused unread


class Tokens:
    def __init__(self, secret: str) -> None:
        self._control = URLSafeSerializer(secret, salt="herdlab.classroom.control")
        self._member = URLSafeSerializer(secret, salt="herdlab.classroom.member")

    def control(self, code: str) -> str:
        """A new control token for room ``code``."""
        return self._control.dumps([code, secrets.token_urlsafe(24)])

    def controls(self, code: str, token: object) -> bool:
        """Whether ``token`` is a control token this server signed for room ``code``."""
        return _open(self._control, token, code) is not None

    def member(self, code: str, member_id: str) -> str:
        """The token that lets student ``member_id`` come back to room ``code`` as themselves."""
        return self._member.dumps([code, member_id])

    def member_id(self, code: str, token: object) -> str | None:
        """The student a token names in room ``code``; None if it is forged, altered or another
        room's."""
        return _open(self._member, token, code)


def _open(serializer: URLSafeSerializer, token: object, code: str) -> str | None:
    """The second field of a signed ``[code, value]`` pair for ``code``, or None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        return None
    try:
        value: Any = serializer.loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and value[0] == code and isinstance(value[1], str)):
        return None
    return value[1]
