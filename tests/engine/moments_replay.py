"""Every moment of a run recomputed from its raw event stream, by rules written again here.

``expected(scenario, events)`` reads a fully recorded run (every request traced) the way a person
with the event log and docs/events.md would, and says which moments it must have made: a herd's
peak from the misses and the attempts that ended, a retry wave from the retries that arrived,
an overload's end from the datastore's states and the samples, and so on. It shares no code with
``webapp/engine/moments.py``: a test compares the two lists.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from webapp.engine.moments import CALM_S, WAVE_MIN, WAVE_S

ENDS = ("respond", "retry", "retry_denied", "timeout")     # an attempt in flight is over
WAITS = ("promise_wait", "lock_wait", "marker_wait")


def expected(scn: Any, events: list) -> dict[str, list[tuple]]:
    """``{what: [(t, ...its fields...)]}`` in the order they must be made."""
    out: dict[str, list[tuple]] = defaultdict(list)
    herds = _Herds(out)
    waves = _Waves(out)
    db = _Datastore(scn, out)
    waits: dict[int, tuple[str, int]] = {}        # req -> (key, server) it waits at
    missed: dict[int, str] = {}                   # req -> the key its attempt in flight missed
    mode = scn.strategy.coalesce                  # (a ``set`` input may switch it)
    for i, ev in enumerate(events):
        kind, t = ev.kind, ev.t
        waves.until(t, ev)
        if kind == "cache_miss":
            herds.miss(t, ev.key)
            missed[ev.req] = ev.key
        elif kind in ENDS and ev.req in missed:
            herds.end(t, missed.pop(ev.req))
        if kind in ENDS or kind == "fetch_start" and ev.role == "leader":
            waits.pop(ev.req, None)
        elif kind in WAITS and ev.req not in waits:
            waits[ev.req] = (ev.key, ev.server)
        if kind == "cache_set":
            herds.written(ev.key)
            if ev.role == "leader" and ev.req is not None:
                mine = [w for w in waits.values() if w[0] == ev.key
                        and (mode != "promise" or w[1] == ev.server)]
                if mine:
                    nxt = "answered" if mode in ("promise", "notify") else "next_poll"
                    out["resolved"].append((t, ev.key, ev.server, len(mine), nxt))
        elif kind == "arrive" and ev.attempt > 0:
            waves.arrive(t)
        elif kind == "db_state":
            db.state(t, ev, events, i)
        elif kind == "sample":
            db.sample(t)
        elif kind == "db_slow":
            out["slow_start" if ev.factor != 1.0 else "slow_end"].append((t,))
        elif kind == "server_down":
            out["server_down"].append((t, ev.server))
        elif kind == "input" and ev.applied and ev.name == "strategy.coalesce":
            mode = ev.value
    waves.until(float("inf"), None)
    return out


class _Herds:
    """A herd per key: from a miss with none under way, until the key is written and every
    attempt that missed it has ended. Its peak: the most waiting, told once it has drained to half
    (or the next herd of the key begins), if at least 2 and more than twice the last told."""

    def __init__(self, out: dict) -> None:
        self.out = out
        self.herds: dict[str, dict] = {}

    def miss(self, t: float, key: str) -> None:
        h = self.herds.get(key)
        if h is not None and not h["written"]:
            h["n"] += 1
            if h["n"] > h["most"]:
                h["most"], h["at"] = h["n"], t
            return
        n = 1
        if h is not None:
            self.peak(t, key, h)
            n += h["n"]
        self.herds[key] = {"n": n, "told": 0, "written": False, "most": n, "at": t}
        self.out["first_miss"].append((t, key))

    def end(self, t: float, key: str) -> None:
        h = self.herds.get(key)
        if h is None:
            return
        h["n"] -= 1
        if 2 * h["n"] <= h["most"]:
            self.peak(t, key, h)
        if h["n"] == 0 and h["written"]:
            del self.herds[key]

    def written(self, key: str) -> None:
        h = self.herds.get(key)
        if h is not None:
            h["written"] = True
            if h["n"] == 0:
                del self.herds[key]

    def peak(self, t: float, key: str, h: dict) -> None:
        if h["most"] >= 2 and h["most"] > 2 * h["told"]:
            h["told"] = h["most"]
            self.out["herd_peak"].append((t, key, h["most"], h["at"]))
        h["most"], h["at"] = h["n"], t


class _Waves:
    """WAVE_MIN retries arriving within WAVE_S begin a wave at the first of them; it goes on window
    by window of WAVE_S while each brings WAVE_MIN, and is told when a window brings fewer."""

    def __init__(self, out: dict) -> None:
        self.out = out
        self.arrivals: list[float] = []
        self.wave: dict | None = None

    def until(self, t: float, ev: Any) -> None:
        """Windows that end before this event (or at its instant, before a retry's arrival)."""
        while self.wave is not None and (self.wave["end"] < t or self.wave["end"] == t and (
                ev is not None and ev.kind == "arrive" and ev.attempt > 0)):
            w = self.wave
            if w["in_window"] >= WAVE_MIN:
                w["in_window"], w["end"] = 0, w["end"] + WAVE_S
            else:
                self.out["retry_wave"].append((w["end"], w["n"], w["start"], w["last"]))
                self.wave = None

    def arrive(self, t: float) -> None:
        self.arrivals.append(t)
        if self.wave is not None:
            self.wave["n"] += 1
            self.wave["in_window"] += 1
            self.wave["last"] = t
        elif len(self.arrivals) >= WAVE_MIN and t - self.arrivals[-WAVE_MIN] < WAVE_S:
            start = self.arrivals[-WAVE_MIN]
            self.wave = {"start": start, "n": WAVE_MIN, "in_window": WAVE_MIN, "last": t,
                         "end": start + WAVE_S}


class _Datastore:
    """Overloaded after healthy; down; back up after a crash, or after an overload once below
    the line for CALM_S (at the first sample then)."""

    def __init__(self, scn: Any, out: dict) -> None:
        self.cfg = scn.datastore
        self.out = out
        self.health = "healthy"
        self.calm_since: float | None = None

    def state(self, t: float, ev: Any, events: list, i: int) -> None:
        if ev.state == "overloaded":
            self.calm_since = None
            if self.health == "healthy":
                self.health = "overloaded"
                queued = next(e.queued for e in reversed(events[:i]) if e.kind == "db_queued")
                until = t + self.cfg.crash_after_s if self.cfg.crash else None
                self.out["db_overloaded"].append((t, queued, until))
        elif ev.state == "down":
            self.health, self.calm_since = "down", None
            failed = sum(1 for e in events[i + 1:] if e.t == t and e.kind == "db_failed")
            self.out["db_down"].append((t, failed, ev.recover_at))
        elif self.health == "down":
            self.health = "healthy"
            self.out["db_recovered"].append((t,))
        elif self.health == "overloaded":
            self.calm_since = t

    def sample(self, t: float) -> None:
        if self.calm_since is not None and t - self.calm_since >= CALM_S:
            self.calm_since = None
            self.health = "healthy"
            self.out["db_recovered"].append((t,))


def made(moments: list) -> dict[str, list[tuple]]:
    """The engine's moments in the shape ``expected`` gives."""
    fields = {"first_miss": ("key",), "herd_peak": ("key", "number", "at"),
              "resolved": ("key", "server", "number", "next"),
              "retry_wave": ("number", "at", "until"), "db_overloaded": ("number", "until"),
              "db_down": ("number", "until"), "db_recovered": (), "slow_start": (),
              "slow_end": (), "server_down": ("server",)}
    out: dict[str, list[tuple]] = defaultdict(list)
    for m in moments:
        if m.what in fields and not (m.what == "resolved" and not m.ok):
            out[m.what].append((m.t, *(getattr(m, f) for f in fields[m.what])))
    return out
