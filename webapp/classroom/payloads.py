"""Validation of what browsers send on ``/room``.

Every payload may come from an untrusted student, so it is checked for shape, size and known keys
first (the transport's ``envelope``, shared with ``/lab``), then field by field. Run payloads (``start``,
``control``) reuse the transport's parsers so the room accepts exactly what the lab accepts.
"""
from __future__ import annotations

from typing import Any, Mapping

from webapp.transport import payloads as transport
from webapp.transport.payloads import MAX_STRING, PayloadError

MAX_QUESTION = 300
MAX_CHOICE = 120


def envelope(payload: Any, keys: tuple[str, ...], event: str) -> Mapping[str, Any]:
    """The lab's envelope check (``/lab`` and ``/room`` accept the same shapes), except that
    ``None`` counts as ``{}``: most room events carry no data."""
    return {} if payload is None else transport.envelope(payload, keys, event)


def text(body: Mapping[str, Any], key: str, *, limit: int = MAX_STRING, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise PayloadError(f"'{key}' must be text of 1 to {limit} characters.", key)
    return value


def flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise PayloadError(f"'{key}' must be true or false.", key)
    return value


def choices(body: Mapping[str, Any]) -> tuple[str, ...]:
    raw = body.get("choices")
    if not isinstance(raw, list) or not all(isinstance(c, str) and 0 < len(c) <= MAX_CHOICE for c in raw):
        raise PayloadError(f"'choices' must be a list of texts of up to {MAX_CHOICE} characters.", "choices")
    return tuple(raw)
