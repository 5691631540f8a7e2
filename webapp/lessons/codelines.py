"""A strategy module's source and the lines that make each event: what lights the code up.

The lesson page shows a strategy beside the run and lights up the branch the selected request is
taking as its events arrive. Which lines make which event is read from the module's own source by
the engine (``webapp.strategies.lines``), never written a second time; this serves it. Only the
names ``lines.modules()`` lists are served, so a request can name nothing else on disk. Modules do
not change while the server runs, so each answer is computed once.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from webapp.lessons.render import strategy_file
from webapp.strategies import lines

MAX_NAME = 64  # longer than any module name; a longer one is refused before any lookup


@lru_cache(maxsize=1)
def strategy_names() -> frozenset[str]:
    """The strategy modules the pages may show (``lines.modules()``): nothing else is served."""
    return frozenset(lines.modules())


def code_of(name: str) -> dict[str, Any] | None:
    """``{"module", "source", "lines"}`` for a strategy module, or None for any other name.

    ``lines`` maps an event key (``promise_wait``, ``fetch_start:leader``, ...) to its places in
    ``source`` (1-based line numbers; see ``webapp.strategies.lines``). The name is vetted before
    the cache, so unknown names cannot push the real answers out of it. Callers must not mutate
    the cached answer (Flask's ``jsonify`` only reads it).
    """
    if len(name) > MAX_NAME or name not in strategy_names():
        return None
    return _code(name)


@lru_cache(maxsize=None)  # bounded: one entry per strategy module
def _code(name: str) -> dict[str, Any] | None:
    path = strategy_file(name)
    if path is None:
        return None
    return {"module": name, "source": path.read_text(encoding="utf-8"),
            "lines": lines.event_lines(name)}
