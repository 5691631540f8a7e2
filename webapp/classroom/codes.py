"""Join codes and control tokens: what a room is called in public, and the secret that drives it.

A join code is read aloud and typed on phones, so it uses an alphabet without look-alikes (no 0/O,
1/I/L) and is forgiving about case, spaces and dashes. It is also the only thing standing between a
stranger and a room, so it is long enough that guessing within the join-attempt limit is hopeless:
31 symbols ** 8 characters = 8.5e11 codes (see docs/instructors.md for the arithmetic).
The control token (``tokens.py``) is a separate signed secret that only the instructor's browser
holds; ``token_matches`` compares one.
"""
from __future__ import annotations

import hmac
import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_code() -> str:
    """A fresh random join code (uniqueness is the registry's job)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: object) -> str | None:
    """The canonical code for what a person typed, or None when it cannot be a code at all.

    Accepts any case and separators ("k7mq-4xzp"), so a code copied from the projector works.
    """
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    code = _SEPARATORS.sub("", raw).upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def display_code(code: str) -> str:
    """Two groups of four ("K7MQ-4XZP"): easier to read from the back of a room."""
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def token_matches(expected: str, given: object) -> bool:
    """Constant-time comparison so response timing leaks nothing about the token."""
    return isinstance(given, str) and len(given) < 200 and hmac.compare_digest(
        expected.encode(), given.encode())
