"""The code lights up: the map from event kinds to strategy source lines, read from each
module's own AST, is checked against the lines that really make those events in runs."""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import pytest

import webapp.strategies as strategies
from webapp.engine import Simulation, parse_scenario
from webapp.engine.events import FIELDS
from webapp.engine.lifecycle import Lifecycle
from webapp.strategies.lines import HOOKS, event_lines, every_module, modules

STRATEGIES = Path(strategies.__file__).parent
# Every module with its expected keys: each event a strategy makes through its host.
EXPECTED = {
    "backoff": {"retry"}, "retry_budget": {"retry", "retry_denied"}, "singleflight": set(),
    "ttl_jitter": set(),
    "notify": set(),
    "none": {"fetch_start", "fetch_start:direct", "respond", "respond:db"},
    "lock": {"fetch_start", "fetch_start:leader", "lock_wait", "lock_poll", "respond",
             "respond:lock", "respond:db", "respond:recheck"},
    "promise": {"promise_wait", "fetch_start", "fetch_start:leader", "promise_resolved",
                "respond", "respond:promise"},
    "distributed": {"marker_expired", "fetch_start", "fetch_start:leader", "marker_wait"},
    "stale_while_revalidate": {"stale_served", "respond", "respond:stale", "fetch_start",
                               "fetch_start:refresh"},
    "early_refresh": {"fetch_start", "fetch_start:early_refresh", "respond", "respond:db"},
    "prewarm": {"cache_set", "cache_set:prewarm"},
    "traffic_shift": set(), "replicate": set(), "answer_mark": set(),
    "preload": {"cache_set", "cache_set:preload"},
    "local_cache": {"local_hit", "respond", "respond:local"},
    "negative_cache": {"negative_hit", "respond", "respond:not_found"},
    "hit_for_pass": {"pass", "fetch_start", "fetch_start:pass", "respond", "respond:db"},
    "wait_timeout": {"wait_timeout", "fetch_start", "fetch_start:pass", "respond", "respond:db"},
}


def test_every_strategy_module_is_mapped():
    assert modules() == sorted(EXPECTED)
    assert {name: set(found) for name, found in every_module().items()} == EXPECTED
    json.dumps(every_module())                                   # JSON-able


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_place_is_the_host_call_and_sits_in_its_branch(name):
    source = (STRATEGIES / f"{name}.py").read_text().splitlines()
    for key, places in event_lines(name).items():
        assert key.split(":")[0] in FIELDS
        for place in places:
            first, last = place["branch"]
            assert first <= place["line"] <= place["end_line"] <= last
            text = " ".join(source[place["line"] - 1:place["end_line"]])
            if key in ("retry", "retry_denied"):           # a hook's return decides them
                assert text.lstrip().startswith("return"), (key, text)
            else:
                method = {"fetch_start": "fetch(", "respond": "settle(",
                          "cache_set": "put("}.get(key.split(":")[0], "note(")
                assert "host" in text and method in text, (key, text)
            if place["condition"] is not None:
                assert source[place["condition"] - 1].lstrip().startswith(
                    ("if ", "elif ", "while ", "except")), place
            function = place["function"].split(".")[-1]
            assert any(text.lstrip().startswith(f"def {function}(")
                       for text in source[:place["line"]]), place


def test_promise_lights_the_leader_and_the_waiter_differently():
    lines = event_lines("promise")
    (leader,) = lines["fetch_start:leader"]
    (waiter,) = lines["promise_wait"]
    assert leader["function"] == "PromiseCoalescing.fetch"
    assert waiter["function"] == "PromiseCoalescing.on_miss"
    src = inspect.getsource(sys.modules["webapp.strategies.promise"]).splitlines()
    assert src[waiter["condition"] - 1].strip().startswith("if call is not None:")
    assert lines["respond:promise"][0]["branch"][0] != leader["branch"][0]


def test_what_follows_an_if_that_returns_is_its_else():
    lines = event_lines("lock")
    (take,) = lines["fetch_start:leader"]
    (wait,) = lines["lock_wait"]
    assert take["condition"] == wait["condition"]          # "if won:" chose both branches
    assert take["branch"][1] < wait["branch"][0]


def test_a_name_that_is_not_a_strategy_is_refused():
    for bad in ("webapp.engine.loop", "webapp.strategies.lines", "nope"):
        with pytest.raises((ValueError, ModuleNotFoundError)):
            event_lines(bad)


RUNS = [
    ("classroom", {"strategy": {"coalesce": mode}, "servers": {"count": 3},
                   "clients": {"retries": 1}, "faults": {"leader_dies": True}})
    for mode in ("none", "lock", "notify", "promise", "distributed")
] + [
    ("classroom", {"strategy": {"prewarm": True}}),
    ("expiry-herd", {"clients": {"count": 15_000}, "strategy": {"stale_while_revalidate": True}}),
    ("expiry-herd", {"clients": {"count": 15_000}, "strategy": {"early_refresh_beta": 1.0}}),
    ("retry-waves", {"strategy": {"coalesce": "promise"}, "cache": {"enabled": True},
                     "clients": {"count": 300}}),
    ("cold-start", {"clients": {"count": 4000}, "strategy": {"preload_keys": 50}}),
    ("hot-shard", {"clients": {"count": 2000}, "cache": {"local_ttl_ms": 100.0}}),
    ("not-found", {"cache": {"negative_ttl_ms": 200.0}}),
    ("private", {"strategy": {"hit_for_pass_s": 120.0}}),
    ("slow-fetch", {"strategy": {"wait_timeout_ms": 500.0}}),
]


def test_the_lines_that_make_events_in_real_runs_are_the_mapped_ones(monkeypatch):
    seen: set[tuple[str, str, int]] = set()

    def spy(method, key_of):
        original = getattr(Lifecycle, method)

        def wrapper(self, *args, **kwargs):
            frame = sys._getframe(1)
            path = Path(frame.f_code.co_filename)
            if path.parent == STRATEGIES:
                seen.add((path.stem, key_of(args, kwargs), frame.f_lineno))
            return original(self, *args, **kwargs)
        monkeypatch.setattr(Lifecycle, method, wrapper)

    spy("note", lambda a, k: a[0])
    spy("fetch", lambda a, k: "fetch_start:" + (a[4] if len(a) > 4 else k["role"]))
    spy("settle", lambda a, k: "respond:" + (a[4] if len(a) > 4 else k["source"]))
    spy("put", lambda a, k: "cache_set:" + a[2])
    for preset, overrides in RUNS:
        Simulation(parse_scenario(overrides, preset=preset), record_requests=False).run()
    lines = every_module()
    for module, key, line in seen:
        places = lines[module].get(key) or lines[module][key.split(":")[0]]
        assert any(p["line"] <= line <= p["end_line"] for p in places), (module, key, line)
    # And every mapped place was reached by some run (none is dead code or a wrong guess).
    reached = {(module, line) for module, _, line in seen}
    for module, found in lines.items():
        for key, places in found.items():
            if key in ("retry", "retry_denied"):
                continue                                   # a hook's return: the test below
            for p in places:
                assert any((module, n) in reached for n in range(p["line"], p["end_line"] + 1)
                           ), (module, key, p)


def test_a_hooks_returns_are_the_places_of_the_retries_they_decide():
    """backoff's ``retry_delay`` and retry_budget's ``may_retry`` make no host call; the retry
    (or its refusal) the lifecycle makes from their answer lights their ``return``s."""
    returned: set[tuple[str, int, object]] = set()

    def tracer(frame, event, arg):
        path = Path(frame.f_code.co_filename)
        if path.parent != STRATEGIES or frame.f_code.co_name not in HOOKS:
            return None
        if event == "return":
            returned.add((path.stem, frame.f_lineno, arg if isinstance(arg, bool) else None))
        return tracer

    sys.settrace(tracer)
    try:
        sim = Simulation(parse_scenario({"clients": {"retry_budget": 0.2}}, preset="retry-waves"),
                         record_requests=False).run()
    finally:
        sys.settrace(None)
    assert sim.summary()["retries"] and sim.summary()["retries_denied"]
    for module in ("backoff", "retry_budget"):
        for key, places in event_lines(module).items():
            (place,) = places
            want = {"retry_denied": False, "retry": True}[key] if module == "retry_budget" else None
            assert (module, place["line"], want) in returned, (module, key, returned)
