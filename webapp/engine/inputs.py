"""Inputs at virtual time: what a user does to a run while it runs (story mode, issue 11).

An input is a plain-data record ``{"t": seconds, "kind": ..., ...}``. It comes from a browser, so
it is checked like untrusted scenario input: ``check_input`` / ``check_inputs`` return the
normalised record (floats as floats, only known fields) or raise ``ScenarioError`` naming the
field (``inputs[2].server``) and what is allowed. The kinds:

    {"t", "kind": "inject"}                       one more viewer asks for the newest chunk (the
                                                  hottest key): viewer clients.count + n for the
                                                  n-th injected one
    {"t", "kind": "kill_server", "server": i}     that app server dies, as with
                                                  faults.leader_dies (needs 2 servers or more)
    {"t", "kind": "expire_key", "key"?: k}        the cached value of k (default: the newest
                                                  chunk, or the hottest key) expires now: reads
                                                  miss, stale-while-revalidate may still serve it
    {"t", "kind": "delete_key", "key"?: k}        the value is deleted: not even stale is left
    {"t", "kind": "slow_db", "factor": f,         queries that start from now take f times as
     "for_s"?: s}                                 long, for s seconds or until the next slow_db
                                                  (f = 1 ends a slowdown)
    {"t", "kind": "set", "key": switch,           a mitigation switch (a schema row whose "off"
     "value": v}                                  is not null, strategy.coalesce included) takes
                                                  value v from now on
    {"t", "kind": "lose_cache"}                   the whole cache tier is lost and restarts
                                                  empty, as with faults.cache_lost_at_s

Rules. ``t`` is a finite number from 0 to ``duration_s + MAX_AFTER_S``; a run takes at most
``MAX_INPUTS`` inputs. An input acts at exactly its ``t``, after everything else due at that
instant (the loop's INPUTS lane, the last rank), and inputs at one instant act in the order they
were given. So a run given the same scenario and the same list of inputs (``Simulation.inputs``)
is the same run, event for event, whether the list was given up front
(``Simulation(scenario, inputs=[...])``) or each input was added while it ran
(``Simulation.add_input``: at ``t >= now``, while the run is not over). Each input makes an
``input`` event when it acts; one that cannot act then (the server is already down or is the
last one up, the key is not cached, the switch already has that value) says so with
``applied`` False and a ``reason``, and changes nothing. Two sides of a comparison take the
same list; ``check_inputs`` tells whether it fits each side's scenario.

Switching a mitigation: the host switches to a scenario differing in that one key
(``Lifecycle.use``). Work in flight goes on under the rule it began with -- a promise's waiters
are answered by its leader's fetch, lock pollers poll on (and may take the lock), a marker's
holder still releases it -- and misses from then on follow the new rule. A mitigation switched
on acts from its next hook call (a retry budget starts counting then); one switched off stops
(a refresh already sent still lands). Switching back finds the same instances, with their state.
"""
import math
import re
from dataclasses import replace
from typing import Any, Callable, Collection, Mapping, Sequence

from webapp.engine.events import INPUT, Event
from webapp.engine.scenario import (OFF, Scenario, ScenarioError, _check_combinations,
                                    _check_value, _show)

MAX_INPUTS = 10_000
MAX_AFTER_S = 60.0       # an input may come this long after duration_s (while the run drains)
KINDS: dict[str, tuple[str, ...]] = {           # each kind's fields besides t and kind
    "inject": (),
    "kill_server": ("server",),
    "expire_key": ("key",),
    "delete_key": ("key",),
    "slow_db": ("factor", "for_s"),
    "set": ("key", "value"),
    "lose_cache": (),
}
_OPTIONAL = {"key", "for_s"}
_KEY = re.compile(r"(key|chunk)-(0|[1-9][0-9]{0,8})")


def check_inputs(scenario: Scenario, records: Any,
                 keys: Collection[str] = ()) -> list[dict[str, Any]]:
    """Every record of ``records`` checked (``check_input``), in the order given."""
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
        raise ScenarioError("inputs", "a list of input records", "must be a list")
    if len(records) > MAX_INPUTS:
        raise ScenarioError("inputs", f"at most {MAX_INPUTS:,} inputs per run",
                            f"has {len(records):,}")
    return [check_input(scenario, record, f"inputs[{i}]", keys)
            for i, record in enumerate(records)]


def check_input(scenario: Scenario, record: Any, where: str = "input",
                keys: Collection[str] = ()) -> dict[str, Any]:
    """One record, normalised, or ``ScenarioError`` naming ``where.field``. ``keys``: cache
    keys allowed besides the workload's own (a trace's)."""
    kinds = ", ".join(KINDS)
    if not isinstance(record, Mapping):
        raise ScenarioError(where, "an object {t, kind, ...} with kind one of: " + kinds,
                            "must be an object")
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ScenarioError(f"{where}.kind", "one of: " + kinds, f"cannot be {_show(kind)}")
    fields = ("t", "kind") + KINDS[kind]
    for name in record:
        if name not in fields:
            raise ScenarioError(f"{where}.{str(name)[:64]}", f"one of: {', '.join(fields)} "
                                f"for {kind}", "is not a known field")
    for name in fields:
        if name not in record and name not in _OPTIONAL:
            raise ScenarioError(f"{where}.{name}", f"a value for {kind}", "is missing")
    last = scenario.duration_s + MAX_AFTER_S
    out: dict[str, Any] = {"t": _number(record["t"], f"{where}.t", 0.0, last), "kind": kind}
    if kind == "kill_server":
        n = scenario.servers.count
        if n < 2:
            raise ScenarioError(f"{where}.kind", "a run with 2 servers or more (someone must "
                                "survive)", "cannot be kill_server here")
        out["server"] = int(_number(record["server"], f"{where}.server", 0, n - 1, whole=True))
    elif kind == "lose_cache" and not scenario.cache.enabled:
        raise ScenarioError(f"{where}.kind", "a run with a cache (cache.enabled)",
                            "cannot be lose_cache here")
    elif kind in ("expire_key", "delete_key") and "key" in record:
        out["key"] = _cache_key(scenario, record["key"], f"{where}.key", keys)
    elif kind == "slow_db":
        out["factor"] = _number(record["factor"], f"{where}.factor", 1.0, 100.0)
        if "for_s" in record:
            out["for_s"] = _number(record["for_s"], f"{where}.for_s", 0.0, 600.0, above=True)
    elif kind == "set":
        switch, value = record["key"], record["value"]
        if not isinstance(switch, str) or switch not in OFF:
            raise ScenarioError(f"{where}.key", "one of: " + ", ".join(OFF),
                                f"cannot be {_show(switch)}")
        try:
            out["value"] = with_switch(scenario, switch, value).get(switch)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}.value", exc.allowed, f"cannot be {_show(value)} "
                                f"for {switch} in this scenario") from None
        out["key"] = switch
    return out


def with_switch(scenario: Scenario, key: str, value: Any) -> Scenario:
    """``scenario`` with one key changed, checked (value and combinations)."""
    value = _check_value(key, value)
    section, leaf = key.split(".")
    changed = replace(scenario, **{section: replace(getattr(scenario, section), **{leaf: value})})
    _check_combinations(changed)
    return changed


def slowdown_end(t: float, factor: float, for_s: float | None) -> float | None:
    """When a slowdown by ``factor`` from ``t`` for ``for_s`` ends (None: when changed; a
    factor of 1 is no slowdown, so it has no end)."""
    return None if for_s is None or factor == 1.0 else t + for_s


def _number(value: Any, where: str, lo: float, hi: float, whole: bool = False,
            above: bool = False) -> float:
    noun = "an integer" if whole else "a number"
    allowed = f"{noun} from {lo:g} to {hi:g}" if not above else f"{noun} above {lo:g}, to {hi:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(where, allowed, f"must be {noun}, not {_show(value)}")
    if whole and value != int(value):
        raise ScenarioError(where, allowed, f"must be a whole number, not {_show(value)}")
    if not (lo < value if above else lo <= value) or value > hi:
        raise ScenarioError(where, allowed, f"is out of range: {_show(value)}")
    return float(value)


def _cache_key(scenario: Scenario, key: Any, where: str, extra: Collection[str]) -> str:
    w = scenario.workload
    live = w.kind == "live_video"
    count = math.ceil(scenario.duration_s / w.segment_s - 1e-9) if live else w.keys
    allowed = (f"chunk-0 to chunk-{count - 1}" if live else f"key-0 to key-{count - 1}")
    if isinstance(key, str) and key in extra:
        return key
    match = _KEY.fullmatch(key) if isinstance(key, str) else None
    if (match is None or match.group(1) != ("chunk" if live else "key")
            or int(match.group(2)) >= count):
        raise ScenarioError(where, allowed, f"cannot be {_show(key)}")
    return key


class Inputs:
    """A run's inputs and how each acts. ``add`` queues a checked record on the loop;
    ``requests`` maps an inject's place in ``records`` to the request it made."""

    def __init__(self, lifecycle: Any, loop: Any, newest_key: Callable[[], str],
                 slow_db: Callable[[float, float, float | None], None]) -> None:
        self.life = lifecycle
        self.loop = loop
        self.newest_key = newest_key
        self.slow_db = slow_db
        self.records: list[dict[str, Any]] = []
        self.requests: dict[int, int] = {}
        self.applied = 0
        self._injected = 0

    def add(self, record: dict[str, Any]) -> int:
        seq = len(self.records)
        self.records.append(record)
        self.loop.input(record["t"], seq, self.act, seq)
        return seq

    def act(self, t: float, seq: int) -> None:
        record = self.records[seq]
        getattr(self, "_" + record["kind"])(t, seq, record)

    def _event(self, t: float, seq: int, kind: str, reason: str | None = None,
               server: int | None = None, key: str | None = None, name: str | None = None,
               value: Any = None, until: float | None = None) -> None:
        """The input's event. It belongs to no request (``req`` None: an injected request's
        own events begin with its ``arrive``; its id is the event's ``value``)."""
        if reason is None:
            self.applied += 1
        self.life.recorder.system(Event((t, INPUT, None, None, server, key, kind, seq,
                                         reason is None, reason, name, value, until)))

    def _inject(self, t: float, seq: int, record: dict[str, Any]) -> None:
        life = self.life
        viewer = life.scenario.clients.count + self._injected
        self._injected += 1
        key = self.newest_key()
        req = life.new_request(t, viewer, key)
        self.requests[seq] = req.id
        self._event(t, seq, "inject", key=key, value=req.id)
        life.arrive(t, viewer, key, req)

    def _kill_server(self, t: float, seq: int, record: dict[str, Any]) -> None:
        server, alive = record["server"], self.life.servers.alive
        reason = ("already down" if not alive[server]
                  else "the last server up" if alive.count(True) == 1 else None)
        self._event(t, seq, "kill_server", reason, server=server)
        if reason is None:
            self.life.kill_server(t, server)

    def _expire_key(self, t: float, seq: int, record: dict[str, Any]) -> None:
        key = record.get("key") or self.newest_key()
        entry = self.life.cache.values.get(key)
        reason = ("not cached" if entry is None
                  else "already expired" if entry.expires <= t else None)
        if reason is None:
            entry.expires = t
        self._event(t, seq, "expire_key", reason, key=key)

    def _delete_key(self, t: float, seq: int, record: dict[str, Any]) -> None:
        key = record.get("key") or self.newest_key()
        found = self.life.cache.values.pop(key, None) is not None
        self._event(t, seq, "delete_key", None if found else "not cached", key=key)

    def _lose_cache(self, t: float, seq: int, record: dict[str, Any]) -> None:
        self._event(t, seq, "lose_cache")
        self.life.lose_cache(t)

    def _slow_db(self, t: float, seq: int, record: dict[str, Any]) -> None:
        factor, for_s = record["factor"], record.get("for_s")
        self._event(t, seq, "slow_db", value=factor, until=slowdown_end(t, factor, for_s))
        self.slow_db(t, factor, for_s)

    def _set(self, t: float, seq: int, record: dict[str, Any]) -> None:
        life, key, value = self.life, record["key"], record["value"]
        unchanged = life.scenario.get(key) == value
        self._event(t, seq, "set", "unchanged" if unchanged else None, name=key, value=value)
        if not unchanged:
            life.use(with_switch(life.scenario, key, value))
