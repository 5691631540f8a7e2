"""The port (webapp/engine/ports.py) is what the simulated host really offers."""
from __future__ import annotations

import inspect

from webapp.engine.cache import Entry as CacheEntry
from webapp.engine.lifecycle import Lifecycle, Request
from webapp.engine.ports import Entry, Host
from webapp.engine.ports import Request as RequestPort


def _methods(cls) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("_")}


def test_the_simulated_host_has_every_call_of_the_port_with_the_same_parameters():
    port = _methods(Host)
    assert set(port) == {"later", "fetch", "join", "settle", "alive", "fresh", "put", "claim",
                         "release", "held", "watch", "notify", "note", "config", "rng", "count"}
    for name, signature in port.items():
        mine = inspect.signature(getattr(Lifecycle, name))
        assert list(mine.parameters) == list(signature.parameters), name


def test_requests_and_entries_carry_what_the_port_promises():
    for fields, cls in ((RequestPort.__annotations__, Request),
                        (Entry.__annotations__, CacheEntry)):
        assert set(fields) <= set(cls.__slots__), cls
