"""The compact wire format of streamed events (see docs/protocol.md, "Events on the wire").

An event goes out as a JSON array in the engine's own tuple order, ``[t, kind, req, viewer, server,
key, *fields]`` with ``fields`` named by ``FIELDS[kind]``, and floats rounded to microseconds. The
names are sent once per run, in ``started`` (``event_fields``), and the page turns each array back
into the same object ``Event.to_dict()`` gives (``static/js/lab/store.js``, ``decodeEvent``).

Why: a dict per event repeats every field name in every event. Arrays are less than half the bytes,
cost a fraction of ``to_dict()`` to build and of the JSON encoding to write, and are much cheaper for
the browser to parse. ``Event.to_dict()`` stays the format of logs and the CLI.
"""
from __future__ import annotations

from typing import Any, Iterable

from webapp.engine.events import COMMON, FIELDS


def event_fields() -> dict[str, list[str]]:
    """The schema for ``started``: the common columns, then each kind's extra fields in order."""
    return {"common": list(COMMON), **{kind: list(names) for kind, names in FIELDS.items()}}


def encode(events: Iterable[Any]) -> list[Any]:
    """Events as JSON-able arrays (tuples encode as arrays), floats rounded to 6 decimals.

    Hot path: most events have one extra field that is not a float (``arrive``, ``cache_hit``: the
    attempt), and for them only ``t`` needs rounding.
    """
    r = round
    out: list[Any] = []
    append = out.append
    for ev in events:
        if len(ev) == 7 and type(ev[6]) is not float:
            append((r(ev[0], 6),) + ev[1:])
        else:
            append([r(x, 6) if type(x) is float else x for x in ev])
    return out
