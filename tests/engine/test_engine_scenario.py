"""Scenario validation: strict, bounded, every error names the key and what is allowed."""
from __future__ import annotations

import json
import math

import pytest

from webapp.engine import (PRESETS, Scenario, ScenarioError, apply_overrides, get_preset,
                           parse_scenario, schema)


def test_defaults_round_trip_through_to_dict():
    scn = parse_scenario({})
    assert isinstance(scn, Scenario)
    assert parse_scenario(scn.to_dict()) == scn
    json.dumps(scn.to_dict())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_parses_and_round_trips(name):
    scn = parse_scenario(None, preset=name)
    assert parse_scenario(scn.to_dict()) == scn
    assert {"title", "description", "scenario"} <= set(get_preset(name))


def test_overrides_apply_on_top_of_the_preset():
    scn = parse_scenario({"clients": {"count": 500}}, preset="classroom")
    assert scn.clients.count == 500
    assert scn.workload.kind == "live_video"


def test_scenario_is_frozen():
    scn = parse_scenario({})
    with pytest.raises(AttributeError):
        scn.clients.count = 3  # type: ignore[misc]


@pytest.mark.parametrize("data, key, allowed_fragment", [
    ({"clients": {"count": 0}}, "clients.count", "an integer from 1 to 2000000"),
    ({"clients": {"count": 2_000_001}}, "clients.count", "an integer from 1 to 2000000"),
    ({"clients": {"count": True}}, "clients.count", "an integer"),
    ({"clients": {"count": "5"}}, "clients.count", "an integer"),
    ({"clients": {"count": 2.5}}, "clients.count", "an integer"),
    ({"clients": {"window_s": math.nan}}, "clients.window_s", "a number from 0"),
    ({"clients": {"window_s": math.inf}}, "clients.window_s", "a number from 0"),
    ({"clients": {"arrival": "stampede"}}, "clients.arrival", "one of: burst, ramp, poisson"),
    ({"clients": {"arrival": "x" * 10_000}}, "clients.arrival", "one of:"),
    ({"clients": {"colour": 1}}, "clients.colour", "one of: count, arrival"),
    ({"nonsense": 1}, "nonsense", "one of: seed, duration_s"),
    ({"clients": 5}, "clients", "an object with keys"),
    ({"clients": {"count": {"deeper": 1}}}, "clients.count", "an integer"),
    ({"cache": {"enabled": 1}}, "cache.enabled", "true or false"),
    ({"servers": {"count": 65}}, "servers.count", "an integer from 1 to 64"),
    ({"clients": {"retries": 11}}, "clients.retries", "an integer from 0 to 10"),
    ({"duration_s": 601}, "duration_s", "a number from 0.01 to 600"),
    ({"strategy": {"coalesce": "magic"}}, "strategy.coalesce",
     "one of: none, lock, notify, promise, distributed"),
    ({"clients": {"backoff": "linear"}}, "clients.backoff",
     "one of: none, fixed, exponential, full_jitter"),
    ({"datastore": {"service_dist": "pareto"}}, "datastore.service_dist",
     "one of: constant, exponential, lognormal"),
])
def test_bad_values_name_the_key_and_the_allowed_values(data, key, allowed_fragment):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.key == key
    assert allowed_fragment in info.value.allowed
    assert key in str(info.value) and info.value.allowed in str(info.value)


@pytest.mark.parametrize("data, key", [
    ({"workload": {"kind": "live_video", "keys": 3}}, "workload.keys"),
    ({"workload": {"kind": "live_video", "segment_s": 2.0}, "clients": {"window_s": 3.0}},
     "clients.window_s"),
    ({"workload": {"kind": "live_video", "segment_s": 30.0}, "duration_s": 10.0},
     "workload.segment_s"),
    ({"cache": {"enabled": False}, "strategy": {"coalesce": "lock"}}, "strategy.coalesce"),
    ({"cache": {"enabled": False}, "strategy": {"stale_while_revalidate": True}},
     "strategy.stale_while_revalidate"),
    ({"strategy": {"prewarm": True}}, "strategy.prewarm"),
    ({"workload": {"kind": "live_video", "warm_start": True}}, "workload.warm_start"),
    ({"faults": {"leader_dies": True}}, "servers.count"),
    ({"clients": {"backoff_base_ms": 500.0, "backoff_cap_ms": 100.0}}, "clients.backoff_cap_ms"),
    ({"clients": {"count": 2_000_000}, "duration_s": 600.0,
      "workload": {"kind": "live_video", "segment_s": 1.0}}, "clients.count"),
])
def test_impossible_combinations_are_rejected(data, key):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.key == key


@pytest.mark.parametrize("data", [None, [], "clients", 3])
def test_non_dict_input_is_rejected_with_an_empty_key(data):
    if data is None:
        parse_scenario(data)        # None means "no overrides"
        return
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.key == ""


def test_unknown_preset_lists_the_names():
    with pytest.raises(ScenarioError) as info:
        get_preset("nope")
    assert info.value.key == "preset"
    for name in PRESETS:
        assert name in info.value.allowed


def test_schema_has_a_row_per_key_with_its_range_and_doc():
    rows = {row["key"]: row for row in schema()}
    json.dumps(schema())
    required = ["seed", "duration_s", "clients.count", "clients.arrival", "clients.window_s",
                "clients.rate_per_s", "clients.timeout_s", "clients.retries", "clients.backoff",
                "servers.count", "workload.kind", "workload.segment_s", "workload.keys",
                "cache.enabled", "cache.ttl_s", "cache.ttl_jitter", "datastore.connections",
                "datastore.service_ms", "datastore.service_dist", "datastore.contention",
                "datastore.crash", "strategy.coalesce", "strategy.stale_while_revalidate",
                "strategy.early_refresh_beta", "strategy.prewarm"]
    assert set(required) <= set(rows)
    assert rows["clients.count"]["min"] == 1 and rows["clients.count"]["max"] == 2_000_000
    assert rows["strategy.coalesce"]["choices"] == ["none", "lock", "notify", "promise",
                                                    "distributed"]
    assert all(row["doc"] for row in rows.values())
    defaults = parse_scenario({}).to_dict()
    for key, row in rows.items():
        section, _, leaf = key.rpartition(".")
        assert (defaults[section][leaf] if section else defaults[leaf]) == row["default"]


def test_overrides_are_coerced_by_the_schema_type():
    out = apply_overrides({"clients": {"count": 3}}, [
        "clients.count=500", "strategy.coalesce=promise", "cache.enabled=false",
        "datastore.service_ms=12.5", "seed=7"])
    assert out == {"clients": {"count": 500}, "strategy": {"coalesce": "promise"},
                   "cache": {"enabled": False}, "datastore": {"service_ms": 12.5}, "seed": 7}


@pytest.mark.parametrize("item, key", [
    ("clients.count=many", "clients.count"),
    ("clients.count=0", "clients.count"),
    ("cache.enabled=maybe", "cache.enabled"),
    ("nope.key=1", "nope.key"),
    ("clients.count", "clients.count"),
    ("datastore.service_ms=nan", "datastore.service_ms"),
])
def test_bad_overrides_name_the_key(item, key):
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, [item])
    assert info.value.key == key


def test_schema_says_what_off_means_for_each_mitigation_and_null_elsewhere():
    rows = {row["key"]: row for row in schema()}
    assert {key: row["off"] for key, row in rows.items() if row["off"] is not None} == {
        "strategy.coalesce": "none", "strategy.stale_while_revalidate": False,
        "strategy.early_refresh_beta": 0.0, "strategy.prewarm": False,
        "cache.ttl_jitter": 0.0, "clients.backoff": "none", "clients.retry_budget": 0.0,
        "datastore.queue_limit": 0, "strategy.traffic_shift_s": 0.0, "strategy.preload_keys": 0,
        "cache.local_ttl_ms": 0.0, "cache.replicas": 1, "cache.negative_ttl_ms": 0.0,
        "strategy.hit_for_pass_s": 0.0, "strategy.wait_timeout_ms": 0.0}
    assert rows["strategy.lock_poll_ms"]["off"] is None and rows["cache.enabled"]["off"] is None
    # Off is the default everywhere: a scenario with no overrides runs no mitigation.
    assert all(row["default"] == row["off"] for row in rows.values() if row["off"] is not None)
