"""Lessons 12 to 14's engine features: a cold or lost cache and its warming, a cache tier of
limited shards and its remedies, and the answers coalescing cannot share ("not found", private
answers, a slow fetch its waiters give up on). Each is off by default (the golden set proves no
old run moved); here each is shown to do what its docs say, on several seeds."""
from __future__ import annotations

from collections import Counter

import pytest

from herd_support import merged, run_events, scenario
from webapp.engine import ScenarioError, Simulation, parse_scenario, run_summary
from webapp.engine.shards import Shards

SEEDS = (1, 2, 3)
SMALL_COLD = {"duration_s": 4.0, "clients": {"count": 4000, "rate_per_s": 1000.0},
              "workload": {"keys": 300}}
SMALL_HOT = {"duration_s": 2.0, "clients": {"count": 4800}}


def _run(preset: str, *layers: dict, seed: int = 1) -> dict:
    overrides: dict = {"seed": seed}
    for layer in layers:
        overrides = merged(overrides, layer)
    return run_summary(parse_scenario(overrides, preset=preset))


# ----------------------------------------------------------------- a cold or lost cache
@pytest.mark.parametrize("seed", SEEDS)
def test_a_cold_start_misses_every_keys_first_readers_and_a_warm_one_none(seed):
    warm = _run("cold-start", SMALL_COLD, {"workload": {"cold_start": False}}, seed=seed)
    cold = _run("cold-start", SMALL_COLD, seed=seed)
    assert warm["cache_misses"] == warm["db_queries"] == 0
    assert cold["cache_misses"] > 300 and cold["db_queries"] > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_coalescing_on_every_key_fetches_each_key_once(seed):
    # One server, nothing fails, nothing expires: one query per key that was asked for.
    scn = scenario("cold-start", **merged(SMALL_COLD, {
        "seed": seed, "datastore": {"crash": False, "connections": 64},
        "strategy": {"coalesce": "promise"}}))
    _, events = run_events(scn)
    fetched = Counter(ev.key for ev in events if ev.kind == "fetch_start")
    asked = {ev.key for ev in events if ev.kind == "arrive"}
    assert set(fetched) == asked and set(fetched.values()) == {1}


@pytest.mark.parametrize("seed", SEEDS)
def test_preloaded_keys_are_never_fetched_and_the_rest_are(seed):
    scn = scenario("cold-start", **merged(SMALL_COLD, {"seed": seed,
                                                       "strategy": {"preload_keys": 50}}))
    _, events = run_events(scn)
    fetched = {ev.key for ev in events if ev.kind == "fetch_start"}
    assert not fetched & {f"key-{i}" for i in range(50)}
    assert fetched
    assert sum(ev.kind == "cache_set" and ev.role == "preload" and ev.t == 0.0
               for ev in events) == 50


@pytest.mark.parametrize("seed", SEEDS)
def test_a_traffic_shift_sends_a_growing_share_to_the_new_cluster(seed):
    s = _run("cold-start", SMALL_COLD, {"strategy": {"traffic_shift_s": 4.0}}, seed=seed)
    plain = _run("cold-start", SMALL_COLD, seed=seed)
    assert s["requests"] + s["sent_elsewhere"] == plain["requests"]
    assert 0.4 * plain["requests"] < s["requests"] < 0.6 * plain["requests"]   # a linear ramp
    _, events = run_events(parse_scenario(merged(SMALL_COLD, {
        "seed": seed, "strategy": {"traffic_shift_s": 4.0}}), preset="cold-start"))
    first = sum(ev.kind == "arrive" and ev.t < 2.0 for ev in events)
    second = sum(ev.kind == "arrive" and ev.t >= 2.0 for ev in events)
    assert 2 * first < second                      # a quarter of the ramp's area, then 3/4


@pytest.mark.parametrize("seed", SEEDS)
def test_losing_the_cache_mid_run_is_a_cold_start_then(seed):
    lose = {"workload": {"cold_start": False}, "datastore": {"crash": False}}
    by_fault = scenario("cold-start", **merged(SMALL_COLD, merged(lose, {
        "seed": seed, "faults": {"cache_lost_at_s": 2.0}})))
    sim, events = run_events(by_fault)
    (lost,) = [ev for ev in events if ev.kind == "cache_lost"]
    assert lost.t == 2.0 and lost.values == 300
    assert all(ev.t >= 2.0 for ev in events if ev.kind == "cache_miss")
    assert sim.summary()["cache_misses"] > 0
    # An input does the same (it acts after the sample of its instant, the fault before it).
    by_input = Simulation(scenario("cold-start", **merged(SMALL_COLD, merged(lose, {
        "seed": seed}))), inputs=[{"t": 2.0, "kind": "lose_cache"}])
    mine = [ev for ev in by_input.events() if ev.kind not in ("input", "sample")]
    assert mine == [ev for ev in events if ev.kind != "sample"]
    assert by_input.summary()["inputs_applied"] == 1


# ----------------------------------------------------------------- the cache tier's shards
def test_a_shard_is_a_fifo_server_of_fixed_service_time():
    shards = Shards(4, 100.0)                         # 10 ms an operation
    s = shards.shard("key-0")
    assert shards.take(0.0, s) == pytest.approx(0.01)
    assert shards.take(0.0, s) == pytest.approx(0.02)      # queued behind the first
    assert shards.take(0.5, s) == pytest.approx(0.51)      # idle again by then
    other = (s + 1) % 4
    assert shards.take(0.0, other) == pytest.approx(0.01)  # another shard, its own queue
    assert shards.shard("key-0", copy=1) == other


@pytest.mark.parametrize("seed", SEEDS)
def test_a_saturated_shard_queues_and_the_other_shards_do_not(seed):
    s = _run("hot-shard", SMALL_HOT, seed=seed)
    tier = s["cache_tier"]
    assert tier["busiest_shard_busy"] > 0.99
    assert tier["lookup_wait_ms"]["max"] > 100.0
    assert 0.25 < tier["busiest_shard_share"] < 0.4
    # The same reads with no limit: answered in the round trip.
    free = _run("hot-shard", SMALL_HOT, {"cache": {"shard_ops_per_s": 0.0}}, seed=seed)
    assert free["latency_everyone_ms"]["max"] == 0.5 and "cache_tier" not in free
    # Reads of keys on an idle shard are not slowed by the busy one.
    scn = scenario("hot-shard", **merged(SMALL_HOT, {"seed": seed}))
    _, events = run_events(scn)
    shards = Shards(8, 500.0)
    hot = shards.shard("key-0")
    cold = [ev.latency_ms for ev in events if ev.kind == "respond" and ev.status == "ok"
            and shards.shard(ev.key) != hot]
    assert max(cold) < 50.0


@pytest.mark.parametrize("seed", SEEDS)
def test_a_local_cache_answers_before_the_shared_one_and_unloads_it(seed):
    s = _run("hot-shard", {"cache": {"local_ttl_ms": 100.0}}, seed=seed)
    plain = _run("hot-shard", seed=seed)
    assert s["local_hits"] > 0.5 * s["requests"]
    assert s["cache_tier"]["ops"] == s["requests"] - s["local_hits"]
    assert s["timeouts"] == 0 < plain["timeouts"]
    sim, events = run_events(scenario("hot-shard", **merged(SMALL_HOT, {
        "seed": seed, "cache": {"local_ttl_ms": 100.0}})))
    local = [ev for ev in events if ev.kind == "respond" and ev.source == "local"]
    assert len(local) == sim.summary()["local_hits"] > 0
    assert all(ev.latency_ms == 0.0 for ev in local)


@pytest.mark.parametrize("seed", SEEDS)
def test_replicas_spread_a_hot_keys_reads_and_cost_a_write_each(seed):
    s = _run("hot-shard", SMALL_HOT, {"cache": {"replicas": 4}}, seed=seed)
    plain = _run("hot-shard", SMALL_HOT, seed=seed)
    assert s["cache_tier"]["busiest_shard_share"] < plain["cache_tier"]["busiest_shard_share"] / 1.6
    assert s["timeouts"] == 0
    # A cold key written once goes to every copy: 4 writes beside the lookups.
    cold = _run("hot-shard", SMALL_HOT, {"workload": {"keys": 1, "warm_start": False},
                                         "cache": {"replicas": 4}}, seed=seed)
    assert cold["cache_tier"]["ops"] == cold["attempts"] + 4 * cold["db_queries"]


def test_lock_polls_take_their_turn_at_the_shard():
    base = {"duration_s": 1.0, "workload": {"keys": 1},
            "clients": {"count": 200, "arrival": "burst", "window_s": 0.1},
            "cache": {"shards": 4, "shard_ops_per_s": 100_000.0},
            "datastore": {"service_ms": 200.0, "service_dist": "constant"}}
    polling = run_summary(parse_scenario(merged(base, {
        "strategy": {"coalesce": "lock", "lock_poll_ms": 10.0}})))
    woken = run_summary(parse_scenario(merged(base, {"strategy": {"coalesce": "promise"}})))
    # The lookups, the leader's re-check (strategy.recheck) and one write.
    assert woken["cache_tier"]["ops"] == woken["attempts"] + 2
    assert polling["cache_tier"]["ops"] > 10 * woken["cache_tier"]["ops"]


# ----------------------------------------------------------------- answers that cannot be shared
@pytest.mark.parametrize("seed", SEEDS)
def test_a_chunk_asked_for_early_is_not_found_until_it_is_published(seed):
    sim, events = run_events(scenario("not-found", seed=seed))
    published = {ev.key: ev.t for ev in events if ev.kind == "chunk_published"}
    assert published == {f"chunk-{n}": n * 4.0 + 0.5 for n in range(4)}
    answered = {ev.query: ev.t for ev in events if ev.kind in ("db_finished",)}
    missing = [ev for ev in events if ev.kind == "not_found"]
    assert missing and all(ev.t < published[ev.key] for ev in missing)
    assert all(ev.query in answered for ev in missing)
    assert sim.summary()["not_found"] == len(missing)
    assert all(ev.t >= published[ev.key] for ev in events if ev.kind == "cache_set")


@pytest.mark.parametrize("seed", SEEDS)
def test_a_remembered_not_found_spares_the_datastore(seed):
    plain = _run("not-found", seed=seed)
    neg = _run("not-found", {"cache": {"negative_ttl_ms": 500.0}}, seed=seed)
    assert neg["negative_hits"] > 0 and neg["db_down_s"] == 0 < plain["db_down_s"]
    # Only the early requests that missed before the first "not found" came back query.
    assert neg["db_queries"] < plain["db_queries"] / 5


@pytest.mark.parametrize("seed", SEEDS)
def test_private_answers_are_never_cached_and_a_waiting_list_serves_one_at_a_time(seed):
    sim, events = run_events(scenario("private", seed=seed))
    s = sim.summary()
    assert not [ev for ev in events if ev.kind == "cache_set"]
    assert s["peak_db_inflight"] == 1 and s["coalesced"] == 0
    assert s["timeouts"] > s["completed"]
    hfp = _run("private", {"strategy": {"hit_for_pass_s": 120.0}}, seed=seed)
    # Only those that came while the first fetch ran, before the key was marked, waited.
    assert hfp["requests"] - 10 < hfp["passed"] < hfp["requests"] == hfp["db_queries"]
    assert hfp["timeouts"] == 0 and hfp["peak_db_inflight"] > 1
    free = _run("private", {"strategy": {"coalesce": "none"}}, seed=seed)
    assert free["timeouts"] == 0


def test_private_answers_may_not_be_shared_by_a_promise():
    for mode in ("promise", "distributed"):
        with pytest.raises(ScenarioError) as err:
            parse_scenario({"workload": {"private": True}, "strategy": {"coalesce": mode}})
        assert err.value.key == "strategy.coalesce"
    with pytest.raises(ScenarioError) as err:
        parse_scenario({"workload": {"private": True, "keys": 5}})
    assert err.value.key == "workload.cold_start"


@pytest.mark.parametrize("seed", SEEDS)
def test_waiters_that_give_up_on_a_slow_fetch_bring_the_herd_back(seed):
    patient = _run("slow-fetch", seed=seed)
    assert patient["db_queries"] == 1 and patient["completed"] == 300
    assert "wait_timeouts" not in patient          # the feature is off: no key for it
    hasty = _run("slow-fetch", {"strategy": {"wait_timeout_ms": 500.0}}, seed=seed)
    assert hasty["wait_timeouts"] > 200 and hasty["db_queries"] == hasty["wait_timeouts"] + 1
    assert hasty["db_down_s"] > 0 and hasty["errors"] == 300
    long = _run("slow-fetch", {"strategy": {"wait_timeout_ms": 5000.0}}, seed=seed)
    assert long["wait_timeouts"] == 0 and long["db_queries"] == 1


def test_the_new_combinations_that_mean_nothing_are_refused():
    bad = [({"workload": {"kind": "live_video", "cold_start": True}}, "workload.cold_start"),
           ({"workload": {"ask_early_s": 1.0}}, "workload.ask_early_s"),
           ({"workload": {"kind": "live_video", "ask_early_s": 4.0}}, "workload.ask_early_s"),
           ({"workload": {"kind": "live_video"}, "strategy": {"preload_keys": 3}},
            "strategy.preload_keys"),
           ({"cache": {"shards": 2, "replicas": 3, "shard_ops_per_s": 10.0}}, "cache.replicas"),
           ({"cache": {"shards": 4, "replicas": 2}}, "cache.replicas"),
           ({"cache": {"enabled": False, "local_ttl_ms": 5.0}}, "cache.local_ttl_ms"),
           ({"faults": {"cache_lost_at_s": 30.0}}, "faults.cache_lost_at_s")]
    for overrides, key in bad:
        with pytest.raises(ScenarioError) as err:
            parse_scenario(overrides)
        assert err.value.key == key, overrides
