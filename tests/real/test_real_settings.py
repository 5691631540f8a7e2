"""real.* keys and the bounds of a real run: refused with the key named, before any work."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from webapp.engine.scenario import ScenarioError, apply_overrides, parse_scenario
from webapp.real.settings import (RealSettings, check, not_honoured, parse_settings, pool_size,
                                  split_overrides)

REPO = Path(__file__).resolve().parents[2]


def scenario(*sets: str):
    return parse_scenario(apply_overrides({}, list(sets)))


def test_real_keys_are_split_from_scenario_keys_and_coerced():
    plain, real = split_overrides(["clients.count=5", "real.pool=false", "real.query=cpu"])
    assert plain == ["clients.count=5"]
    settings = parse_settings(assignments=real)
    assert settings == RealSettings(pool=False, query="cpu")


@pytest.mark.parametrize("item, key", [
    ("real.nope=1", "real.nope"), ("real.query=disk", "real.query"),
    ("real.pool_timeout_s=0", "real.pool_timeout_s"), ("real.processes=2.5", "real.processes"),
    ("real.pool=maybe", "real.pool"), ("real.pool_timeout_s=nan", "real.pool_timeout_s"),
    ("real.query", "real.query")])
def test_bad_real_keys_name_the_key(item, key):
    with pytest.raises(ScenarioError) as err:
        parse_settings(assignments=[item])
    assert err.value.key == key


def test_bad_real_values_in_a_dict_are_refused():
    with pytest.raises(ScenarioError):
        parse_settings({"synchronised": "yes"})


@pytest.mark.parametrize("sets, real, key", [
    (["duration_s=61"], {}, "duration_s"),
    (["clients.count=5001", "duration_s=20"], {}, "clients.count"),
    (["servers.count=2"], {"processes": 3}, "real.processes"),
    (["servers.count=2", "faults.leader_dies=true"], {"processes": 1}, "real.processes"),
    (["servers.count=4", "datastore.connections=200"], {}, "datastore.connections"),
    (["clients.window_s=0.5"], {"synchronised": True}, "real.synchronised"),
    (["workload.keys=1001"], {}, "workload.keys"),
])
def test_runs_beyond_the_bounds_are_refused(sets, real, key):
    with pytest.raises(ScenarioError) as err:
        check(scenario(*sets), parse_settings(real))
    assert err.value.key == key


def test_defaults_spread_servers_over_at_most_four_processes_and_split_the_pool():
    assert check(scenario("servers.count=8"), RealSettings()) == 4
    assert pool_size(scenario("servers.count=3", "datastore.connections=20")) == 6
    assert pool_size(scenario("servers.count=32", "datastore.connections=16")) == 1


def test_keys_a_real_run_cannot_model_are_listed():
    assert not_honoured(scenario()) == []
    assert not_honoured(scenario("datastore.crash=true", "cache.lookup_ms=5")) == [
        "cache.lookup_ms", "datastore.crash"]


def test_no_gevent_outside_the_app_server_processes():
    """The web process (eventlet) imports the worker client and the services, the CLI the
    fleet: none of them may load gevent, and the web's part no database driver either."""
    code = ("import sys, webapp.real.worker, webapp.real.services; web = set(sys.modules); "
            "import webapp.real.fleet, webapp.real.cli; "
            "print('gevent' in sys.modules, 'psycopg' in web)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO)
    assert done.stdout.split() == ["False", "False"]
