"""The golden set: fixed seeded runs whose events and summaries must not change by accident.

Each case is a full scenario plus how the run is driven (every event from ``events()``, summary
only, or stepped with ``advance`` and injected requests). Its events, one
``json.dumps(ev.to_dict(), sort_keys=True)`` per line, are stored xz-compressed in
``golden/<case>.jsonl.xz``; its summary and scenario in ``golden/manifest.json``. The test re-runs
each case and compares bytes, so a refactor that claims to change nothing proves it.

A change that *means* to change engine output re-records the set in the same commit and says why
in its message:

    PYTHONPATH=. .venv/bin/python tests/engine/test_engine_golden.py --record

A change that adds a feature (off by default, so no recorded run moves) adds its cases and
records only those, leaving every recorded case byte for byte:

    PYTHONPATH=. .venv/bin/python tests/engine/test_engine_golden.py --record-new

The cases cover every preset (scaled down so the whole set runs in a few seconds), every
coalescing mode, each read-path mitigation, each backoff policy, both faults with each mode, the
cache off, many Zipf keys, a bounded queue, a pool timeout, the re-check off (the race it
closes), timeouts with retries, every kind of input (given up
front, and added while stepping), and a spread of the random combination draws (stored here as
plain scenarios, so the generator may change freely).
"""
from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path
from random import Random
from typing import Any

import pytest

from herd_support import merged
from webapp.engine import ScenarioError, Simulation, parse_scenario

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST = GOLDEN / "manifest.json"
MODES = ("none", "lock", "notify", "promise", "distributed")
BACKOFFS = ("none", "fixed", "exponential", "full_jitter")
COMBINATION_DRAWS = 24
MAX_CASE_EVENTS = 25_000

SMALL_DRAKE = {"clients": {"count": 3000, "window_s": 0.1},
               "datastore": {"overload_queue": 100, "crash_after_s": 0.1}}
SMALL_EXPIRY = {"duration_s": 9.0, "clients": {"count": 2400, "rate_per_s": 300.0},
                "cache": {"ttl_s": 3.0}}
SMALL_FLEET = {"clients": {"count": 1500}, "servers": {"count": 8}}
SMALL_RETRY = {"clients": {"count": 300}}
FAULTY = {"duration_s": 3.0, "servers": {"count": 3},
          "clients": {"count": 300, "arrival": "ramp", "window_s": 1.0, "timeout_s": 2.0,
                      "retries": 1},
          "datastore": {"service_ms": 200.0, "service_dist": "constant"},
          "strategy": {"lease_ms": 600.0, "lock_poll_ms": 100.0}}
ZIPF = {"duration_s": 6.0, "sample_interval_s": 0.1,
        "clients": {"count": 4000, "arrival": "poisson", "rate_per_s": 800.0},
        "workload": {"keys": 60, "zipf_s": 1.0},
        "cache": {"ttl_s": 1.5, "ttl_jitter": 0.3},
        "datastore": {"connections": 16, "service_ms": 20.0}}


# Every kind of input, some of which cannot act when their time comes (already down, unchanged).
FLEET_INPUTS = [
    {"t": 0.02, "kind": "kill_server", "server": 3},
    {"t": 0.5, "kind": "set", "key": "strategy.coalesce", "value": "distributed"},
    {"t": 1.5, "kind": "expire_key"},
    {"t": 1.6, "kind": "inject"}, {"t": 1.6, "kind": "inject"}, {"t": 1.6, "kind": "inject"},
    {"t": 1.7, "kind": "slow_db", "factor": 3.0, "for_s": 0.5},
    {"t": 2.0, "kind": "delete_key", "key": "key-0"},
    {"t": 2.05, "kind": "inject"},
    {"t": 2.1, "kind": "kill_server", "server": 3},
    {"t": 2.2, "kind": "set", "key": "strategy.coalesce", "value": "distributed"},
]
EXPIRY_INPUTS = [
    {"t": 2.0, "kind": "set", "key": "strategy.stale_while_revalidate", "value": True},
    {"t": 5.0, "kind": "set", "key": "strategy.stale_while_revalidate", "value": False},
    {"t": 6.5, "kind": "set", "key": "strategy.early_refresh_beta", "value": 1},
    {"t": 7.5, "kind": "expire_key", "key": "key-0"},
]
WAVES_INPUTS = [
    {"t": 1.0, "kind": "set", "key": "clients.backoff", "value": "full_jitter"},
    {"t": 3.0, "kind": "set", "key": "clients.retry_budget", "value": 0.2},
    {"t": 5.0, "kind": "slow_db", "factor": 2.0},
    {"t": 6.0, "kind": "slow_db", "factor": 1.0},
]
CLASSROOM_INPUTS = [
    {"t": 4.1, "kind": "set", "key": "strategy.coalesce", "value": "notify"},
    {"t": 8.5, "kind": "set", "key": "strategy.prewarm", "value": True},
    {"t": 11.0, "kind": "set", "key": "datastore.queue_limit", "value": 50},
]


def _strategy(**values: Any) -> dict[str, Any]:
    return {"strategy": values}


def cases() -> dict[str, tuple[str | None, dict[str, Any], dict[str, Any]]]:
    """name -> (preset, overrides, drive). ``drive`` is {} (every event), {"record": False},
    {"step": s, "inject_at": [t, ...]} (advance by s, injecting once t is reached) or
    {"step": s, "live_inputs": [...]} (advance by s, adding each input just before the run
    reaches it), and may set the Simulation's ``sample_every``, ``max_steps`` and ``inputs``."""
    out: dict[str, tuple[str | None, dict[str, Any], dict[str, Any]]] = {}
    for mode in MODES:
        out[f"classroom-{mode}"] = ("classroom", _strategy(coalesce=mode), {})
        out[f"drake-{mode}"] = ("drake-live", merged(SMALL_DRAKE, _strategy(coalesce=mode)), {})
        out[f"fleet-{mode}"] = ("fleet", merged(SMALL_FLEET, _strategy(coalesce=mode)), {})
        for fault in ("leader_dies", "fail_fetch"):
            out[f"{fault}-{mode}"] = (None, merged(FAULTY, {"strategy": {"coalesce": mode},
                                                           "faults": {fault: True}}), {})
    out["classroom-prewarm"] = ("classroom", _strategy(prewarm=True), {})
    out["classroom-summary-only"] = ("classroom", {}, {"record": False})
    out["classroom-sample-every-7"] = ("classroom", _strategy(coalesce="distributed"),
                                       {"sample_every": 7, "step": 0.5, "inject_at": [3.0]})
    out["drake-truncated"] = ("drake-live", SMALL_DRAKE, {"max_steps": 2500})
    out["classroom-advance-inject"] = ("classroom", _strategy(coalesce="promise"),
                                       {"step": 0.25, "inject_at": [0.0, 2.0, 5.1]})
    out["fleet-inputs"] = ("fleet", SMALL_FLEET, {"inputs": FLEET_INPUTS})
    out["fleet-inputs-live-sampled"] = ("fleet", SMALL_FLEET, {"step": 0.1, "sample_every": 3,
                                                               "live_inputs": FLEET_INPUTS})
    out["expiry-inputs"] = ("expiry-herd", SMALL_EXPIRY, {"inputs": EXPIRY_INPUTS})
    out["retry-waves-inputs"] = ("retry-waves", {}, {"inputs": WAVES_INPUTS, "record": False})
    out["classroom-lock-inputs"] = ("classroom", _strategy(coalesce="lock"),
                                    {"inputs": CLASSROOM_INPUTS})
    out["expiry-plain"] = ("expiry-herd", SMALL_EXPIRY, {})
    out["expiry-swr"] = ("expiry-herd", merged(SMALL_EXPIRY, _strategy(
        stale_while_revalidate=True)), {})
    out["expiry-xfetch"] = ("expiry-herd", merged(SMALL_EXPIRY, _strategy(
        early_refresh_beta=1.0)), {})
    out["expiry-swr-xfetch-promise"] = ("expiry-herd", merged(SMALL_EXPIRY, _strategy(
        stale_while_revalidate=True, stale_ttl_s=0.5, early_refresh_beta=2.0,
        coalesce="promise")), {})
    for backoff in BACKOFFS:
        out[f"retry-storm-{backoff}"] = ("retry-storm", merged(SMALL_RETRY, {
            "clients": {"backoff": backoff}}), {})
    for backoff in ("exponential", "full_jitter"):
        out[f"retry-waves-{backoff}"] = ("retry-waves", {"clients": {"backoff": backoff}}, {})
    out["retry-storm-budget"] = ("retry-storm", merged(SMALL_RETRY, {
        "clients": {"retry_budget": 0.2, "retry_budget_window_s": 2.0}}), {})
    out["retry-storm-promise"] = ("retry-storm", merged(SMALL_RETRY, _strategy(
        coalesce="promise")), {})
    out["metastable"] = ("metastable", {}, {"record": False})
    out["metastable-fixed"] = ("metastable", {"clients": {"retry_budget": 0.1},
                                              "datastore": {"queue_limit": 40}}, {"record": False})
    out["metastable-traced"] = ("metastable", {"duration_s": 16.0, "faults": {"slow_db_at_s": 4.0}},
                                {"sample_every": 10})
    out["queueing"] = ("queueing", {"duration_s": 20.0, "clients": {"count": 1500}}, {})
    out["zipf-jitter"] = (None, ZIPF, {})
    out["zipf-no-jitter-distributed"] = (None, merged(ZIPF, {"cache": {"ttl_jitter": 0.0},
                                                            "servers": {"count": 4},
                                                            "strategy": {"coalesce":
                                                                         "distributed"}}), {})
    out["queue-limit-timeouts"] = (None, {
        "duration_s": 2.0, "clients": {"count": 600, "window_s": 0.5, "timeout_s": 0.3,
                                       "retries": 2, "backoff": "exponential",
                                       "backoff_base_ms": 50.0},
        "cache": {"enabled": False},
        "datastore": {"connections": 4, "service_ms": 40.0, "queue_limit": 30}}, {})
    out.update(_new_herds_cases())
    out["cache-off-promise"] = (None, {
        "duration_s": 2.0, "servers": {"count": 2},
        "clients": {"count": 500, "arrival": "poisson", "rate_per_s": 400.0},
        "cache": {"enabled": False}, "strategy": {"coalesce": "promise"}}, {})
    for mode in ("lock", "promise"):
        out[f"race-no-recheck-{mode}"] = (None, {
            "duration_s": 0.5, "clients": {"count": 400, "arrival": "ramp", "window_s": 0.3},
            "datastore": {"service_dist": "constant"},
            "strategy": {"coalesce": mode, "recheck": False}}, {})
    out["pool-timeout-retries"] = (None, {
        "duration_s": 2.0, "clients": {"count": 600, "window_s": 0.5, "retries": 1},
        "cache": {"enabled": False},
        "datastore": {"connections": 4, "service_ms": 40.0, "pool_timeout_s": 0.3}}, {})
    out.update(_combination_cases())
    return out


SMALL_COLD = {"duration_s": 2.0, "clients": {"count": 1500, "rate_per_s": 750.0},
              "workload": {"keys": 200}}
SMALL_HOT = {"duration_s": 1.5, "clients": {"count": 3600}}


def _new_herds_cases() -> dict[str, tuple[str | None, dict[str, Any], dict[str, Any]]]:
    """Lessons 12-14's features: a cold start and its warming, a lost cache, a cache of limited
    shards and its remedies, "not found", private answers, and a wait timeout."""
    return {
        "cold-start": ("cold-start", SMALL_COLD, {}),
        "cold-start-promise-preload": ("cold-start", merged(SMALL_COLD, _strategy(
            coalesce="promise", preload_keys=20)), {}),
        "cold-start-shift": ("cold-start", merged(SMALL_COLD, _strategy(traffic_shift_s=2.0)),
                             {}),
        "cache-lost": ("cold-start", merged(SMALL_COLD, {
            "workload": {"cold_start": False}, "faults": {"cache_lost_at_s": 0.5},
            "strategy": {"coalesce": "distributed"}, "servers": {"count": 3}}),
            {"inputs": [{"t": 1.5, "kind": "lose_cache"}]}),
        "hot-shard": ("hot-shard", SMALL_HOT, {}),
        "hot-shard-local": ("hot-shard", merged(SMALL_HOT, {"cache": {"local_ttl_ms": 100.0}}),
                            {}),
        "hot-shard-replicas": ("hot-shard", merged(SMALL_HOT, {"cache": {"replicas": 4}}), {}),
        "hot-shard-lock-expiry": ("hot-shard", merged(SMALL_HOT, {
            "cache": {"ttl_s": 0.5}, "strategy": {"coalesce": "lock", "lock_poll_ms": 20.0}}),
            {"sample_every": 5}),
        "not-found": ("not-found", {"duration_s": 8.0}, {}),
        "not-found-negative-promise": ("not-found", {"duration_s": 8.0, "cache": {
            "negative_ttl_ms": 300.0}, "strategy": {"coalesce": "promise"}}, {}),
        "private-notify": ("private", {"duration_s": 3.0, "clients": {"count": 120}}, {}),
        "private-hit-for-pass": ("private", {"strategy": {"hit_for_pass_s": 120.0}}, {}),
        "slow-fetch-wait-timeout": ("slow-fetch", _strategy(wait_timeout_ms=500.0), {}),
        "slow-fetch-lock-wait-timeout": ("slow-fetch", _strategy(
            coalesce="lock", wait_timeout_ms=500.0, lock_poll_ms=100.0), {}),
    }


def _combination_cases() -> dict[str, tuple[None, dict[str, Any], dict[str, Any]]]:
    """A spread of valid random scenarios from the combinations generator (recorded as plain
    dicts in the manifest, so later changes to the generator do not move them)."""
    from test_engine_combinations import draw

    rng = Random("herd-lab/golden")
    out: dict[str, tuple[None, dict[str, Any], dict[str, Any]]] = {}
    while len(out) < COMBINATION_DRAWS:
        raw = draw(rng)
        try:
            steps = Simulation(parse_scenario(raw), record_requests=False).run().steps
        except ScenarioError:
            continue
        if steps <= MAX_CASE_EVENTS // 3:        # keep the set small and quick
            out[f"draw-{len(out):02d}"] = (None, raw, {})
    return out


def run_case(scenario: dict[str, Any], drive: dict[str, Any]) -> tuple[bytes, bytes]:
    """(event lines, summary JSON) of one case, as bytes."""
    sim = Simulation(parse_scenario(scenario), record_requests=drive.get("record", True),
                     sample_every=drive.get("sample_every", 1), max_steps=drive.get("max_steps"),
                     inputs=drive.get("inputs", ()))
    if "step" in drive:
        pending = sorted(drive.get("inject_at", ()))
        live = list(drive.get("live_inputs", ()))
        events, t = [], 0.0
        while not sim.finished:
            while pending and pending[0] <= t:
                sim.inject(pending.pop(0))
            t += drive["step"]
            while live and live[0]["t"] <= t:
                sim.add_input(live.pop(0))
            events += sim.advance(t)
        assert not pending and not live, "the run ended before every input was given"
    else:
        events = list(sim.events())
    lines = "\n".join(json.dumps(ev.to_dict(), sort_keys=True) for ev in events)
    return lines.encode(), json.dumps(sim.summary(), sort_keys=True).encode()


def record(only_new: bool = False) -> None:
    """Re-record every case, or (``only_new``) only the cases not in the manifest yet, leaving
    the others as they are (run from the repository root, see the module docstring)."""
    GOLDEN.mkdir(exist_ok=True)
    manifest: dict[str, Any] = _manifest() if only_new else {}
    if not only_new:
        for old in GOLDEN.glob("*.jsonl.xz"):
            old.unlink()
    for name, (preset, overrides, drive) in cases().items():
        if name in manifest:
            continue
        full = parse_scenario(overrides, preset=preset).to_dict()
        lines, summary = run_case(full, drive)
        n = lines.count(b"\n") + 1
        if n > MAX_CASE_EVENTS:
            raise SystemExit(f"{name}: {n} events; keep each case under {MAX_CASE_EVENTS}")
        (GOLDEN / f"{name}.jsonl.xz").write_bytes(lzma.compress(lines, preset=9))
        manifest[name] = {"scenario": full, "drive": drive, "events": n,
                          "summary": json.loads(summary)}
        print(f"{name:32} {n:>7} events")
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text())


def _names() -> list[str]:
    """The recorded cases (none while recording the first time; the coverage test then fails)."""
    return sorted(_manifest()) if MANIFEST.is_file() else []


@pytest.mark.parametrize("name", _names())
def test_a_golden_run_gives_the_same_bytes(name):
    case = _manifest()[name]
    lines, summary = run_case(case["scenario"], case["drive"])
    expected = lzma.decompress((GOLDEN / f"{name}.jsonl.xz").read_bytes())
    if lines != expected:
        got, want = lines.split(b"\n"), expected.split(b"\n")
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got),
                                                                                  len(want)))
        pytest.fail(f"{name}: events differ from line {at + 1} ({len(got)} vs {len(want)} "
                    f"lines)\n got: {got[at] if at < len(got) else b'(end)'!r}\n"
                    f"want: {want[at] if at < len(want) else b'(end)'!r}")
    assert json.loads(summary) == case["summary"]
    assert summary == json.dumps(case["summary"], sort_keys=True).encode()


def test_the_golden_set_covers_what_it_claims():
    manifest = _manifest()
    scns = [parse_scenario(case["scenario"]) for case in manifest.values()]
    assert {s.strategy.coalesce for s in scns} == set(MODES)
    assert {s.clients.backoff for s in scns if s.clients.retries} == set(BACKOFFS)
    for on in (lambda s: s.strategy.stale_while_revalidate,
               lambda s: s.strategy.early_refresh_beta > 0, lambda s: s.cache.ttl_jitter > 0,
               lambda s: s.strategy.prewarm, lambda s: s.faults.leader_dies,
               lambda s: s.faults.fail_fetch, lambda s: not s.cache.enabled,
               lambda s: s.workload.keys > 1, lambda s: s.datastore.queue_limit > 0,
               lambda s: s.clients.retry_budget > 0, lambda s: s.faults.slow_db_for_s > 0,
               lambda s: not s.strategy.recheck, lambda s: s.datastore.pool_timeout_s > 0,
               # lessons 12-14
               lambda s: s.workload.cold_start, lambda s: s.strategy.preload_keys > 0,
               lambda s: s.strategy.traffic_shift_s > 0, lambda s: s.faults.cache_lost_at_s > 0,
               lambda s: s.cache.shard_ops_per_s > 0, lambda s: s.cache.local_ttl_ms > 0,
               lambda s: s.cache.replicas > 1, lambda s: s.workload.ask_early_s > 0,
               lambda s: s.cache.negative_ttl_ms > 0, lambda s: s.workload.private,
               lambda s: s.strategy.hit_for_pass_s > 0, lambda s: s.strategy.wait_timeout_ms > 0):
        assert any(on(s) for s in scns)
    drives = [case["drive"] for case in manifest.values()]
    assert {"record": False} in drives and any("step" in d for d in drives)
    assert any("sample_every" in d for d in drives)
    assert any(case["summary"]["truncated"] for case in manifest.values())
    assert all((GOLDEN / f"{name}.jsonl.xz").is_file() for name in manifest)


if __name__ == "__main__":
    if sys.argv[1:] not in (["--record"], ["--record-new"]):
        raise SystemExit("usage: python tests/engine/test_engine_golden.py --record|--record-new")
    record(only_new=sys.argv[1] == "--record-new")
