"""Many small random valid scenarios, across every enum and switch, each run to the end.

Each draw picks every key independently (coalescing mode, arrivals, workload, keys, backoff,
retries, timeouts, retry budget, cache, SWR, XFetch, jitter, prewarm, contention, crash, faults
and a slowdown, servers, queue limit). Draws are nudged towards sense (prewarm with live video,
warm start with hot_key, ...) but not always, so ``parse_scenario`` rejects some as impossible combinations: those are
skipped by design, counted, and must stay a minority. Everything is seeded: the same draws every
run. On a failure the scenario is in the message; paste it into ``parse_scenario`` to replay.

Every run is finite (arrivals, retries and samples are bounded, and every lock or marker has a
lease), but not every run is small: lock coalescing with a TTL shorter than a fetch makes each
waiter poll until it fetches for itself, which is quadratic (8,000 draws of this generator peak
near 700,000 steps). These draws stay below 150,000, so ``MAX_STEPS`` catches a run that never
ends without flagging that corner.

Half the draws also get a few random inputs (engine/inputs.py: a server killed, the key expired or
deleted, the datastore slowed, a mitigation switched, requests injected), drawn from their own
stream so the scenarios themselves stay the same; every fourth of those is also run stepped,
each input added while it runs, and must give the same bytes.
"""
from __future__ import annotations

import json
from collections import Counter
from random import Random
from typing import Any

import pytest

from webapp.engine import ScenarioError, Simulation, estimate_steps, parse_scenario, schema
from webapp.engine.events import FIELDS
from webapp.engine.inputs import KINDS, check_input

DRAWS = 400
MAX_STEPS = 500_000
# Kinds about one attempt at one server: they must name that server.
AT_A_SERVER = {"arrive", "cache_hit", "cache_miss", "stale_served", "promise_wait", "lock_wait",
               "lock_poll", "marker_wait", "marker_expired", "fetch_start"}


def draw(rng: Random) -> dict[str, Any]:
    """One random scenario as nested overrides; usually coherent, sometimes not."""
    c = rng.choice
    sensible = rng.random() < 0.9
    duration = c([0.5, 1.0, 2.0, 4.0])
    live = rng.random() < 0.5
    segment = c([duration / 4, duration / 2, duration])
    arrival = c(["burst", "ramp", "poisson"])
    window = rng.uniform(0.0, segment if live else duration)
    retries = c([0, 0, 1, 2, 3])
    cache_on = rng.random() < 0.85 or not sensible
    base_ms = c([0.0, 10.0, 100.0])
    scn: dict[str, Any] = {
        "seed": rng.randrange(1 << 30),
        "duration_s": duration,
        "sample_interval_s": c([0.05, 0.1, 0.25]),
        "clients": {"count": rng.randint(1, 300), "arrival": arrival, "window_s": window,
                    "rate_per_s": c([20.0, 200.0, 2000.0]),
                    "timeout_s": c([0.0, 0.0, 0.0005, 0.05, 0.3, 1.0]),
                    "retries": retries, "backoff": c(["none", "fixed", "exponential",
                                                      "full_jitter"]),
                    "backoff_base_ms": base_ms, "backoff_cap_ms": base_ms * c([1, 4]),
                    "retry_budget": c([0.0, 0.0, 0.1, 1.0]),
                    "retry_budget_window_s": c([0.5, 10.0])},
        "servers": {"count": rng.randint(1, 8)},
        "workload": {"kind": "live_video" if live else "hot_key", "segment_s": segment,
                     "keys": 1 if live and sensible else c([1, 1, 3, 40]),
                     "zipf_s": c([0.0, 1.0]),
                     "warm_start": (not live or not sensible) and rng.random() < 0.3},
        "cache": {"enabled": cache_on, "lookup_ms": c([0.0, 1.0, 5.0]),
                  "ttl_s": c([0.05, 0.5, 60.0]), "ttl_jitter": c([0.0, 0.3])},
        "datastore": {"connections": c([1, 2, 4, 16]), "service_ms": c([1.0, 20.0, 100.0, 300.0]),
                      "service_dist": c(["constant", "exponential", "lognormal"]),
                      "queue_limit": c([0, 0, 5, 50]), "contention": c([0.0, 0.0, 1.0, 5.0]),
                      "crash": rng.random() < 0.4, "overload_queue": c([3, 20]),
                      "crash_after_s": c([0.05, 0.3]), "recovery_s": c([0.1, 1.0])},
        "strategy": {"coalesce": c(["none", "lock", "notify", "promise", "distributed"]),
                     "stale_while_revalidate": rng.random() < 0.3,
                     "stale_ttl_s": c([0.0, 1.0, 30.0]),
                     "early_refresh_beta": c([0.0, 0.0, 1.0, 3.0]),
                     "prewarm": (live or not sensible) and rng.random() < 0.3,
                     "lock_poll_ms": c([20.0, 100.0, 500.0]), "marker_poll_ms": c([5.0, 50.0]),
                     "lease_ms": c([100.0, 1000.0, 2000.0])},
        "faults": {"leader_dies": rng.random() < 0.3, "fail_fetch": rng.random() < 0.3,
                   "slow_db_at_s": rng.uniform(0.0, duration / 2),
                   "slow_db_for_s": c([0.0, 0.0, duration / 4]), "slow_factor": c([2.0, 10.0])},
    }
    if sensible:
        d, st = scn["datastore"], scn["strategy"]
        if d["crash"] and d["queue_limit"]:
            d["overload_queue"] = min(d["overload_queue"], d["queue_limit"])
        if scn["faults"]["leader_dies"]:
            scn["servers"]["count"] = max(2, scn["servers"]["count"])
        if not cache_on:
            st.update(stale_while_revalidate=False, early_refresh_beta=0.0, prewarm=False)
            scn["cache"]["ttl_jitter"] = 0.0
            scn["workload"]["warm_start"] = False
            if st["coalesce"] in ("lock", "notify", "distributed"):
                st["coalesce"] = "promise"
    return scn


def draw_new_herds(rng: Random) -> dict[str, Any]:
    """``draw``, with lessons 12-14's keys drawn on top (a separate generator, so that ``draw``
    -- whose first draws the golden set keeps -- stays the same)."""
    scn = draw(rng)
    c = rng.choice
    live = scn["workload"]["kind"] == "live_video"
    duration, segment = scn["duration_s"], scn["workload"]["segment_s"]
    shards = c([1, 2, 4, 8])
    scn["workload"].update(cold_start=not live and rng.random() < 0.5,
                           ask_early_s=c([0.0, 0.0, segment / 2]) if live else 0.0,
                           private=rng.random() < 0.25)
    scn["cache"].update(shards=shards, shard_ops_per_s=c([0.0, 0.0, 300.0, 5000.0]),
                        local_ttl_ms=c([0.0, 0.0, 50.0]), negative_ttl_ms=c([0.0, 0.0, 100.0]))
    scn["cache"]["replicas"] = rng.randint(1, shards) if scn["cache"]["shard_ops_per_s"] else 1
    scn["strategy"].update(wait_timeout_ms=c([0.0, 0.0, 20.0, 300.0]),
                           hit_for_pass_s=c([0.0, 0.0, 1.0]),
                           traffic_shift_s=c([0.0, 0.0, duration / 2]),
                           preload_keys=0 if live else c([0, 0, 2]))
    scn["faults"]["cache_lost_at_s"] = c([0.0, 0.0, duration / 2])
    if scn["workload"]["private"]:
        st = scn["strategy"]
        if st["coalesce"] in ("promise", "distributed"):
            st["coalesce"] = c(["none", "lock", "notify"])
        st.update(prewarm=False, preload_keys=0)
        scn["workload"].update(warm_start=False, cold_start=not live)
        # Nothing is cached, so every lock waiter fetches in turn, each polling meanwhile (as
        # with a TTL shorter than a fetch, above): quadratic. Keep those draws small.
        if st["coalesce"] in ("lock", "notify"):
            st["lock_poll_ms"] = 500.0
            scn["clients"]["count"] = min(scn["clients"]["count"], 100)
    if not scn["cache"]["enabled"]:
        scn["cache"].update(shard_ops_per_s=0.0, replicas=1, local_ttl_ms=0.0,
                            negative_ttl_ms=0.0)
        scn["strategy"].update(hit_for_pass_s=0.0, preload_keys=0)
        scn["faults"]["cache_lost_at_s"] = 0.0
    return scn


SWITCH_VALUES = {"strategy.early_refresh_beta": [0.0, 1.0], "cache.ttl_jitter": [0.0, 0.3],
                 "clients.retry_budget": [0.0, 0.2], "datastore.queue_limit": [0, 5, 50],
                 "strategy.traffic_shift_s": [0.0, 1.0], "strategy.preload_keys": [0, 5],
                 "cache.local_ttl_ms": [0.0, 50.0], "cache.replicas": [1, 2],
                 "cache.negative_ttl_ms": [0.0, 100.0], "strategy.hit_for_pass_s": [0.0, 1.0],
                 "strategy.wait_timeout_ms": [0.0, 100.0]}


def draw_inputs(index: int, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """A few random valid inputs for draw ``index`` (none for half the draws)."""
    rng = Random(f"herd-lab/inputs/{index}")
    if rng.random() < 0.5:
        return []
    scn = parse_scenario(raw)
    rows = {row["key"]: row for row in schema() if row["off"] is not None}
    out = []
    for _ in range(rng.randint(1, 6)):
        record: dict[str, Any] = {"t": round(rng.uniform(0.0, scn.duration_s * 1.2), 3),
                                  "kind": rng.choice(sorted(KINDS))}
        if record["kind"] == "kill_server":
            record["server"] = rng.randrange(scn.servers.count)
        elif record["kind"] == "slow_db":
            record["factor"] = rng.choice([1.0, 3.0, 10.0])
            if rng.random() < 0.5:
                record["for_s"] = rng.choice([0.05, 0.5])
        elif record["kind"] == "set":
            key = rng.choice(sorted(rows))
            row = rows[key]
            record["key"] = key
            record["value"] = rng.choice(SWITCH_VALUES.get(key) or row["choices"]
                                         or [True, False])
        try:
            out.append(check_input(scn, record))
        except ScenarioError:
            continue                               # not for this scenario (one server, ...)
    return sorted(out, key=lambda record: record["t"])


def _draws(generator=draw, seed: str = "herd-lab/combinations",
           count: int = DRAWS) -> tuple[list[tuple[int, dict[str, Any]]], Counter]:
    rng = Random(seed)
    valid, rejected = [], Counter()
    for i in range(count):
        raw = generator(rng)
        try:
            parse_scenario(raw)
        except ScenarioError as exc:
            rejected[exc.key] += 1
            continue
        valid.append((i, raw))
    return valid, rejected


VALID, REJECTED = _draws()
NEW_DRAWS = 160
# Numbered after the first set, so each draw's inputs (drawn from its number) are its own.
NEW_VALID, NEW_REJECTED = _draws(draw_new_herds, "herd-lab/combinations/new-herds", NEW_DRAWS)
NEW_VALID = [(DRAWS + i, raw) for i, raw in NEW_VALID]


def test_most_draws_are_valid_and_they_cover_every_enum_and_switch():
    assert len(VALID) >= 0.75 * DRAWS, REJECTED
    assert sum(REJECTED.values()) > 0          # the nudging does not hide every rejection
    scns = [parse_scenario(raw) for _, raw in VALID]
    seen = Counter()
    for s in scns:
        seen.update({("coalesce", s.strategy.coalesce), ("arrival", s.clients.arrival),
                     ("backoff", s.clients.backoff), ("kind", s.workload.kind),
                     ("dist", s.datastore.service_dist), ("servers", s.servers.count)})
        for name, on in (("cache", s.cache.enabled), ("swr", s.strategy.stale_while_revalidate),
                         ("xfetch", s.strategy.early_refresh_beta > 0),
                         ("jitter", s.cache.ttl_jitter > 0), ("prewarm", s.strategy.prewarm),
                         ("warm_start", s.workload.warm_start), ("keys", s.workload.keys > 1),
                         ("contention", s.datastore.contention > 0),
                         ("crash", s.datastore.crash), ("queue_limit", s.datastore.queue_limit > 0),
                         ("retries", s.clients.retries > 0), ("timeout", s.clients.timeout_s > 0),
                         ("budget", s.clients.retry_budget > 0),
                         ("slow_db", s.faults.slow_db_for_s > 0),
                         ("leader_dies", s.faults.leader_dies),
                         ("fail_fetch", s.faults.fail_fetch)):
            seen[(name, on)] += 1
        seen[("dies+coalesce", s.strategy.coalesce)] += s.faults.leader_dies
        seen[("dies_no_retry+coalesce", s.strategy.coalesce)] += (
            s.faults.leader_dies and s.clients.retries == 0)
    expected = ([("coalesce", m) for m in ("none", "lock", "notify", "promise", "distributed")]
                + [("arrival", a) for a in ("burst", "ramp", "poisson")]
                + [("backoff", b) for b in ("none", "fixed", "exponential", "full_jitter")]
                + [("kind", k) for k in ("hot_key", "live_video")]
                + [("dist", d) for d in ("constant", "exponential", "lognormal")]
                + [("servers", n) for n in range(1, 9)]
                + [(name, on) for name in ("cache", "swr", "xfetch", "jitter", "prewarm",
                                           "warm_start", "keys", "contention", "crash",
                                           "queue_limit", "retries", "timeout", "budget",
                                           "slow_db", "leader_dies",
                                           "fail_fetch") for on in (False, True)]
                + [(pair, m) for pair in ("dies+coalesce", "dies_no_retry+coalesce")
                   for m in ("none", "lock", "notify", "promise", "distributed")])
    missing = [e for e in expected if not seen[e]]
    assert not missing


def _run(raw: dict[str, Any], inputs: list[dict[str, Any]]) -> tuple[Simulation, list]:
    sim = Simulation(parse_scenario(raw), inputs=inputs)
    events = []
    for ev in sim.events():
        events.append(ev)
        assert sim.steps <= MAX_STEPS, "the run does not end"
    return sim, events


def _stepped(scn, inputs: list[dict[str, Any]]) -> list | None:
    """The run stepped, each input added as it comes; None if the run was over before the
    last one (adding it is then refused)."""
    sim = Simulation(scn)
    pending, events, t = list(inputs), [], 0.0
    while not sim.finished:
        t += 0.05
        while pending and pending[0]["t"] <= t:
            sim.add_input(pending.pop(0))
        events += sim.advance(t)
    return None if pending else events


def test_the_new_herds_draws_are_mostly_valid_and_cover_each_feature():
    assert len(NEW_VALID) >= 0.6 * NEW_DRAWS, NEW_REJECTED
    scns = [parse_scenario(raw) for _, raw in NEW_VALID]
    for on in (lambda s: s.workload.cold_start, lambda s: s.workload.ask_early_s > 0,
               lambda s: s.workload.private, lambda s: s.cache.shard_ops_per_s > 0,
               lambda s: s.cache.replicas > 1, lambda s: s.cache.local_ttl_ms > 0,
               lambda s: s.cache.negative_ttl_ms > 0, lambda s: s.strategy.wait_timeout_ms > 0,
               lambda s: s.strategy.hit_for_pass_s > 0, lambda s: s.strategy.traffic_shift_s > 0,
               lambda s: s.strategy.preload_keys > 0, lambda s: s.faults.cache_lost_at_s > 0,
               lambda s: s.workload.private and s.strategy.coalesce == "notify",
               lambda s: s.cache.shard_ops_per_s > 0 and s.strategy.coalesce == "lock"):
        assert sum(map(on, scns)) >= 3


# The heaviest draw (453: 200 waiters polling every 5 ms, 98,500 steps, run three times) takes 7.6 s
# alone, 30-44 s in the quiet suite on this slow VM and 70 s beside a busy core (run 54): CPU only,
# bounded by MAX_STEPS. Its timeout leaves room for a busier machine than that.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("index, raw", VALID + NEW_VALID,
                         ids=[f"draw{i}" for i, _ in VALID + NEW_VALID])
def test_a_random_valid_scenario_runs_to_the_end_with_its_invariants(index, raw):
    inputs = draw_inputs(index, raw)
    where = f"draw {index}: {json.dumps(raw, sort_keys=True)} inputs={json.dumps(inputs)}"
    try:
        sim, events = _run(raw, inputs)
    except Exception as exc:                          # show the scenario that broke the engine
        raise AssertionError(f"{type(exc).__name__}: {exc}\n{where}") from exc
    s = sim.summary()
    assert sim.finished and s["finished"] and s["in_flight"] == 0, where
    assert sim.steps <= MAX_STEPS, where
    assert sim.steps <= estimate_steps(sim.scenario, inputs), where      # an upper bound
    assert s["truncated"] is False, where
    # What is recorded never changes what happens (the engine takes shortcuts when it can).
    quiet = Simulation(sim.scenario, record_requests=False, inputs=inputs).run()
    assert quiet.summary() == s, where
    sampled = Simulation(sim.scenario, sample_every=3, inputs=inputs)
    assert [ev for ev in sampled.events() if ev.kind == "sample"] == [
        ev for ev in events if ev.kind == "sample"] and sampled.summary() == s, where
    # Inputs added while it runs make the same run (a seek or a share link replays it).
    if inputs and index % 4 == 0:
        assert _stepped(sim.scenario, inputs) in (None, events), where

    times = [ev.t for ev in events]
    assert times == sorted(times), where
    assert all(len(ev) == 6 + len(FIELDS[ev.kind]) for ev in events), where
    bad = [ev for ev in events if ev.kind in AT_A_SERVER and ev.server is None]
    assert not bad, f"{bad[:3]}\n{where}"

    ends = [ev for ev in events if ev.kind == "respond"]
    per_req = Counter(ev.req for ev in ends)
    arrived = {ev.req for ev in events if ev.kind == "arrive"}
    assert set(per_req) == arrived and len(arrived) == s["requests"], where
    assert max(per_req.values(), default=1) == 1, where
    status = Counter(ev.status for ev in ends)
    assert (status["ok"], status["error"], status["timeout"]) == (
        s["completed"], s["errors"], s["timeouts"]), where
    assert s["completed"] + s["errors"] + s["timeouts"] == s["requests"], where
    assert s["attempts"] == s["requests"] + s["retries"], where
    assert s["attempts"] == sum(ev.kind == "arrive" for ev in events), where
    assert s["coalesced"] <= s["completed"] <= s["requests"], where
    assert s["db_rejected"] + s["db_failed"] + s["db_cancelled"] <= s["db_queries"], where
    # Every query ends once in the datastore: served, failed, rejected, or cancelled unserved.
    sent = [ev.query for ev in events if ev.kind == "fetch_start"]
    terminal = Counter(ev.query for ev in events if ev.kind in (
        "db_finished", "db_failed", "db_rejected", "db_cancelled"))
    assert len(sent) == s["db_queries"] and all(terminal[q] == 1 for q in sent), where
    cancelled = {ev.query for ev in events if ev.kind == "db_cancelled"}
    assert len(cancelled) == s["db_cancelled"], where
    assert not cancelled & {ev.query for ev in events if ev.kind == "db_started"}, where
    assert s["cache_hits"] + s["cache_misses"] + s["stale_served"] <= s["attempts"], where
    kills = sum(r["kind"] == "kill_server" for r in inputs)
    assert s["servers_down"] <= (1 if raw["faults"]["leader_dies"] else 0) + kills, where
    assert s["inputs_applied"] == sum(ev.kind == "input" and ev.applied for ev in events), where
    assert len([ev for ev in events if ev.kind == "input"]) == len(inputs), where

    last = [ev for ev in events if ev.kind == "sample"][-1]
    assert (last.completed, last.errors, last.timeouts, last.inflight_requests) == (
        s["completed"], s["errors"], s["timeouts"], 0), where
