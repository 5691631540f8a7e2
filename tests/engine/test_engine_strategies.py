"""Each mitigation does what it claims, measured on the same cold or expiring herds."""
from __future__ import annotations

import math
from random import Random

import pytest

from herd_support import run_events, scenario
from webapp.engine import Simulation, parse_scenario, run_summary
from webapp.strategies import COALESCING
from webapp.strategies.backoff import retry_delay_s
from webapp.strategies.early_refresh import wants_early_refresh


def test_no_mitigation_sends_the_whole_herd_to_the_datastore(cold_burst):
    s = run_summary(cold_burst())
    assert s["db_queries"] == s["requests"] == 400
    assert s["peak_db_inflight"] == 400
    assert s["completed"] == 400 and s["coalesced"] == 0


def test_promise_on_one_server_sends_exactly_one_query(cold_burst):
    s = run_summary(cold_burst(strategy={"coalesce": "promise"}))
    assert s["db_queries"] == 1
    assert s["completed"] == 400 and s["coalesced"] == 399


@pytest.mark.parametrize("servers", [2, 5, 16])
def test_promise_on_several_servers_sends_one_query_per_server(cold_burst, servers):
    s = run_summary(cold_burst(servers={"count": servers}, strategy={"coalesce": "promise"}))
    assert s["db_queries"] == servers
    assert s["completed"] == 400


@pytest.mark.parametrize("servers", [1, 5, 16])
def test_distributed_sends_exactly_one_query_across_servers(cold_burst, servers):
    s = run_summary(cold_burst(servers={"count": servers},
                               strategy={"coalesce": "distributed"}))
    assert s["db_queries"] == 1
    assert s["completed"] == 400 and s["coalesced"] == 399


def test_lock_sends_one_query_but_waiters_are_slower_than_with_a_promise(cold_burst):
    lock = run_summary(cold_burst(servers={"count": 4}, strategy={"coalesce": "lock"}))
    promise = run_summary(cold_burst(servers={"count": 1}, strategy={"coalesce": "promise"}))
    assert lock["db_queries"] == 1 and lock["completed"] == 400
    assert lock["latency_answered_ms"]["mean"] > promise["latency_answered_ms"]["mean"] * 1.5
    # Waiters learn of the value only at a poll: 500 ms after they started waiting.
    assert lock["latency_answered_ms"]["max"] >= 500


def test_a_failed_leaders_error_reaches_its_waiters_and_the_next_request_fetches_again():
    scn = scenario(duration_s=5.0, clients={"count": 300, "arrival": "ramp", "window_s": 1.0},
                   datastore={"service_ms": 200.0, "service_dist": "constant"},
                   strategy={"coalesce": "promise"}, faults={"fail_fetch": True})
    sim, events = run_events(scn)
    resolved = [ev for ev in events if ev.kind == "promise_resolved"]
    first, second = resolved[0], resolved[1]
    assert first.ok is False and first.waiters > 0
    errors = {ev.req for ev in events if ev.kind == "respond" and ev.status == "error"}
    waited = {ev.req for ev in events if ev.kind == "promise_wait" and ev.leader == first.req}
    assert errors == waited | {first.req}
    assert second.ok is True and second.t > first.t
    s = sim.summary()
    assert s["db_queries"] == 2 and s["errors"] == len(errors)
    assert s["completed"] == 300 - len(errors)


def test_lock_waiters_are_not_failed_by_the_leader_they_poll_and_fetch_again():
    s = run_summary(scenario(duration_s=5.0,
                             clients={"count": 300, "arrival": "ramp", "window_s": 0.1},
                             datastore={"service_ms": 200.0, "service_dist": "constant"},
                             strategy={"coalesce": "lock"}, faults={"fail_fetch": True}))
    assert s["errors"] == 1 and s["db_queries"] == 2 and s["completed"] == 299


@pytest.mark.parametrize("coalesce, takeover", [("distributed", "marker_expired"),
                                                ("lock", "fetch_start")])
def test_a_dead_leader_blocks_the_key_only_until_its_lease_expires(coalesce, takeover):
    scn = scenario(duration_s=5.0, servers={"count": 4},
                   clients={"count": 400, "arrival": "ramp", "window_s": 2.0,
                            "retries": 1},
                   datastore={"service_ms": 200.0, "service_dist": "constant"},
                   strategy={"coalesce": coalesce, "lease_ms": 1000.0},
                   faults={"leader_dies": True})
    sim, events = run_events(scn)
    down = [ev for ev in events if ev.kind == "server_down"]
    # The first miss's claim is a round trip after its read (2 ms), the fetch takes 200 ms.
    assert len(down) == 1 and down[0].t == pytest.approx(0.102, abs=1e-3)
    fetches = [ev for ev in events if ev.kind == "fetch_start"]
    assert len(fetches) == 2
    assert fetches[1].t == pytest.approx(fetches[0].t + 1.0, abs=0.06)   # after the lease
    if coalesce == "distributed":
        assert [ev.previous_server for ev in events if ev.kind == takeover] == [down[0].server]
    s = sim.summary()
    assert s["servers_down"] == 1 and s["db_queries"] == 2
    assert s["completed"] + s["errors"] == 400 and s["completed"] > 350


def test_stale_while_revalidate_keeps_an_expiry_herd_to_one_fetch():
    plain = run_summary(parse_scenario({}, preset="expiry-herd"))
    swr = run_summary(parse_scenario({"strategy": {"stale_while_revalidate": True}},
                                     preset="expiry-herd"))
    expiries = 2                                     # at 10 s and 20 s
    assert plain["db_queries"] > 20 * expiries
    assert swr["db_queries"] == expiries
    assert swr["stale_served"] > 0 and swr["latency_everyone_ms"]["max"] < 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_early_refresh_turns_each_expiry_herd_into_a_few_fetches(seed):
    # At beta = 1 with ~100 concurrent readers per fetch time, readers keep rolling the die
    # while the first early refresh runs: about e (2.7) refreshes per expiry (issue 12), and
    # 3 expiry periods in 30 s. Without XFetch each expiry is a herd of dozens of misses.
    plain = run_summary(parse_scenario({"seed": seed}, preset="expiry-herd"))
    xfetch = run_summary(parse_scenario({"seed": seed, "strategy": {"early_refresh_beta": 1.0}},
                                        preset="expiry-herd"))
    assert xfetch["cache_misses"] == 0             # refreshed before anyone saw it expire
    assert 3 <= xfetch["db_queries"] <= 6 * 3 < plain["db_queries"] / 5


def _refresh_bursts(beta: float, seeds) -> list[int]:
    """expiry-herd: the early refreshes of each expiry (those within 2 s of each other)."""
    bursts: list[list[float]] = []
    for seed in seeds:
        _, events = run_events(parse_scenario(
            {"seed": seed, "strategy": {"early_refresh_beta": beta}}, preset="expiry-herd"))
        for t in (ev.t for ev in events if ev.kind == "fetch_start"):
            if bursts and bursts[-1] and t - bursts[-1][-1] < 2.0:
                bursts[-1].append(t)
            else:
                bursts.append([t])
        bursts.append([])                          # a new seed starts a new burst
    return [len(b) for b in bursts if b]


def test_with_many_readers_xfetch_makes_about_e_to_the_one_over_beta_refreshes_per_expiry():
    # The first refresh starts before expiry, the old value stays fresh while it runs, and the
    # other readers keep rolling: about e^(1/beta) in all (e at beta = 1).
    one, two = _refresh_bursts(1.0, range(1, 6)), _refresh_bursts(2.0, range(1, 6))
    assert len(one) == len(two) == 15              # 3 expiries a run
    assert 2.2 <= sum(one) / len(one) <= 4.0       # e = 2.72 (seeds 1-20: 3.1)
    assert 1.2 <= sum(two) / len(two) <= 2.2       # e^0.5 = 1.65 (seeds 1-20: 1.55)
    assert max(one) > 3                            # more than "one reader refreshes"


def test_xfetch_refresh_chance_one_delta_before_expiry_is_one_over_e():
    rng = Random(3)
    n = 20_000
    hits = sum(wants_early_refresh(9.0, 10.0, 1.0, 1.0, rng) for _ in range(n))
    assert hits / n == pytest.approx(math.exp(-1), abs=0.015)


def test_ttl_jitter_spreads_keys_written_together():
    def peak_misses(jitter):
        scn = scenario(duration_s=20.0, sample_interval_s=0.1,
                       clients={"count": 20_000, "arrival": "poisson", "rate_per_s": 2000.0},
                       workload={"keys": 500, "zipf_s": 0.5},
                       cache={"ttl_s": 5.0, "ttl_jitter": jitter},
                       datastore={"connections": 64, "service_ms": 20.0})
        _, events = run_events(scn, record_requests=False)
        misses = [ev.cache_misses for ev in events if ev.kind == "sample"]
        return max(b - a for a, b in zip(misses, misses[1:]))
    assert peak_misses(0.5) < peak_misses(0.0) / 2


def test_prewarm_leaves_live_viewers_nothing_to_miss():
    s = run_summary(parse_scenario({"strategy": {"prewarm": True}}, preset="classroom"))
    assert s["cache_misses"] == 0 and s["db_queries"] == 0 and s["errors"] == 0
    assert s["cache_hit_ratio"] == 1.0 and s["chunks"] == 4


def test_classroom_without_mitigation_piles_up_goes_down_and_fails():
    sim, events = run_events(parse_scenario({}, preset="classroom"))
    states = [ev.state for ev in events if ev.kind == "db_state"]
    assert "overloaded" in states and "down" in states
    s = sim.summary()
    assert s["errors"] > 100 and s["db_down_s"] > 0
    assert s["peak_db_inflight"] > 100
    first_down = next(ev.t for ev in events if ev.kind == "db_state" and ev.state == "down")
    assert first_down > 0.5                 # slow enough to follow at 1x
    assert 10.0 <= s["sim_time_s"] <= 25.0


def test_classroom_with_promise_costs_one_query_per_chunk_and_never_fails():
    s = run_summary(parse_scenario({"strategy": {"coalesce": "promise"}}, preset="classroom"))
    assert s["db_queries"] == s["chunks"] == 4
    assert s["errors"] == 0 and s["timeouts"] == 0 and s["completed"] == s["requests"]
    assert s["db_down_s"] == 0


def test_drake_live_crashes_the_datastore_without_mitigation_at_a_smaller_scale():
    smaller = {"clients": {"count": 50_000}, "datastore": {"overload_queue": 200}}
    s = run_summary(parse_scenario(smaller, preset="drake-live"))
    assert s["db_down_s"] > 0 and s["errors"] > 0
    promise = run_summary(parse_scenario({**smaller, "strategy": {"coalesce": "promise"}},
                                         preset="drake-live"))
    assert promise["db_queries"] == 8 and promise["errors"] == 0


def test_backoff_formulas():
    rng = Random(1)
    assert retry_delay_s("none", 3, 0.1, 10.0, rng) == 0.0
    assert retry_delay_s("fixed", 3, 0.1, 10.0, rng) == 0.1
    assert [retry_delay_s("exponential", n, 0.1, 0.3, rng) for n in (1, 2, 3)] == [0.1, 0.2, 0.3]
    draws = [retry_delay_s("full_jitter", 3, 0.1, 10.0, rng) for _ in range(1000)]
    assert 0.0 <= min(draws) and max(draws) <= 0.4 and 0.17 < sum(draws) / 1000 < 0.23


def test_full_jitter_spreads_the_retries_of_a_storm():
    def retry_times(backoff):
        _, events = run_events(parse_scenario({"clients": {"backoff": backoff,
                                                           "count": 400}},
                                              preset="retry-storm"))
        return {round(ev.t, 3) for ev in events if ev.kind == "arrive" and ev.attempt > 0}
    assert len(retry_times("full_jitter")) > len(retry_times("fixed"))


def test_the_registry_names_every_coalescing_mode():
    assert set(COALESCING) == {"none", "lock", "notify", "promise", "distributed"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_retry_storm_multiplies_work_and_backoff_lets_the_backlog_drain(seed):
    def run(**clients):
        return run_summary(parse_scenario({"seed": seed, "clients": clients},
                                          preset="retry-storm"))
    no_retries, storm, backoff = run(retries=0), run(), run(backoff="exponential")
    assert no_retries["timeouts"] > 0
    assert storm["db_queries"] > 2 * no_retries["db_queries"]
    # Abandoned queries still queued leave the queue, so immediate retries rescue some ...
    assert no_retries["completed"] < storm["completed"] < storm["requests"]
    assert storm["db_cancelled"] > 0
    # ... and waiting first lets the backlog drain: everyone is answered, with fewer queries.
    assert backoff["completed"] == backoff["requests"]
    assert backoff["db_queries"] < storm["db_queries"]
    promise = run_summary(parse_scenario({"seed": seed, "strategy": {"coalesce": "promise"}},
                                         preset="retry-storm"))
    assert promise["completed"] == promise["requests"] and promise["timeouts"] == 0


def _crash_retries(backoff: str, seed: int) -> tuple[float, list[float]]:
    """retry-waves: the first crash's time, and when the requests it failed tried again."""
    _, events = run_events(parse_scenario({"seed": seed, "clients": {"backoff": backoff}},
                                          preset="retry-waves"))
    t_crash = next(ev.t for ev in events if ev.kind == "db_state" and ev.state == "down")
    failed = {ev.req for ev in events if ev.kind == "db_failed" and ev.t == t_crash}
    again = [ev.t for ev in events if ev.kind == "arrive" and ev.req in failed
             and ev.attempt == 1]
    return t_crash, again


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("backoff", ["none", "fixed", "exponential"])
def test_a_crash_fails_its_queries_together_and_their_retries_come_back_together(backoff, seed):
    t_crash, again = _crash_retries(backoff, seed)
    assert len(again) > 100                      # a wave: everything the datastore held
    delay = {"none": 0.0, "fixed": 1.0, "exponential": 1.0}[backoff]
    assert set(again) == {t_crash + delay}       # all at one instant


@pytest.mark.parametrize("seed", [1, 2])
def test_full_jitter_spreads_the_retries_of_a_crash_wave(seed):
    t_crash, again = _crash_retries("full_jitter", seed)
    assert len(again) > 100 and len(set(again)) == len(again)
    assert all(t_crash <= t <= t_crash + 1.0 for t in again)
    assert max(again) - min(again) > 0.9         # over the whole first interval


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jitter_helps_when_waves_re_crash_a_recovering_datastore(seed):
    def run(backoff):
        sim = Simulation(parse_scenario({"seed": seed, "clients": {"backoff": backoff}},
                                        preset="retry-waves"), record_requests=False)
        crashes = sum(ev.kind == "db_state" and ev.state == "down" for ev in sim.events())
        return crashes, sim.summary()
    (waves, plain), (spread, jittered) = run("exponential"), run("full_jitter")
    assert waves >= 4 and spread == 1
    assert plain["completed"] < 0.8 * plain["requests"]
    assert jittered["completed"] >= 0.99 * jittered["requests"]
    assert jittered["db_queries"] < plain["db_queries"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jitter_does_not_help_when_clients_failed_at_different_moments(seed):
    # retry-storm: timeouts are as spread out as the arrivals, so there is no wave to break;
    # full jitter answers no more than plain exponential backoff and, waiting half as long on
    # average, sends more queries.
    def run(backoff):
        return run_summary(parse_scenario({"seed": seed, "clients": {"backoff": backoff}},
                                          preset="retry-storm"))
    plain, jittered = run("exponential"), run("full_jitter")
    assert plain["completed"] == jittered["completed"] == plain["requests"]
    assert jittered["db_queries"] >= plain["db_queries"]


def test_each_mitigation_implements_only_hooks_the_port_names_and_has_an_off_switch():
    from webapp.engine.ports import Mitigation
    from webapp.engine.scenario import OFF
    from webapp.strategies import SWITCHED

    hooks = {name for name in vars(Mitigation) if not name.startswith("_")} - {"switch"}
    for cls in (*COALESCING.values(), *SWITCHED):
        names = {name for k in cls.__mro__[:-1] for name in vars(k)}     # inherited too
        looks_like_hook = {name for name in names if name.startswith("on_")
                           or name in ("ttl", "retry_delay", "may_retry", "admit", "copies",
                                       "read_copy")}
        assert looks_like_hook and looks_like_hook <= hooks, cls
        assert cls.switch in OFF, cls
    # Load shedding is the one switch the datastore model honours itself (a bounded wait).
    assert {cls.switch for cls in (*COALESCING.values(), *SWITCHED)} == set(OFF) - {
        "datastore.queue_limit"}
    assert OFF["strategy.coalesce"] == "none" and "none" in COALESCING
