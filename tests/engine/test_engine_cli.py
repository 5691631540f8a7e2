"""The run and presets subcommands, standalone and as plugged into python -m webapp."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from webapp.engine import PRESETS
from webapp.engine.cli import main, register

SUMMARY_KEYS = {"requests", "completed", "errors", "db_queries", "peak_db_inflight",
                "cache_hit_ratio", "coalesced", "latency_everyone_ms", "latency_answered_ms",
                "db_down_s", "sim_time_s", "truncated", "events", "chunks"}


def test_run_json_prints_one_summary_object(capsys):
    assert main(["run", "--preset", "classroom", "--set", "strategy.coalesce=promise",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert SUMMARY_KEYS <= set(summary)
    for name in ("latency_everyone_ms", "latency_answered_ms"):
        assert set(summary[name]) == {"mean", "p50", "p95", "p99", "max"}
    assert summary["db_queries"] == summary["chunks"] == 4


def test_run_without_json_prints_a_short_human_summary(capsys):
    assert main(["run", "--preset", "classroom"]) == 0
    out = capsys.readouterr().out
    assert "requests 1200" in out and "latency ms" in out


def test_scenario_file_seed_and_events_log(tmp_path, capsys):
    scn = tmp_path / "s.json"
    scn.write_text(json.dumps({"clients": {"count": 50}, "duration_s": 2.0}))
    log = tmp_path / "ev.jsonl"
    assert main(["run", "--scenario", str(scn), "--seed", "5", "--events", str(log),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 5 and summary["requests"] == 50
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["t"] == 0.0 or json.loads(lines[0])["kind"]
    assert sum(json.loads(line)["kind"] == "respond" for line in lines) == 50


@pytest.mark.parametrize("argv, fragment", [
    (["run", "--set", "clients.count=0"], "'clients.count'"),
    (["run", "--set", "strategy.coalesce=magic"],
     "one of: none, lock, notify, promise, distributed"),
    (["run", "--preset", "nope"], "classroom"),
    (["run", "--set", "nope=1"], "'nope'"),
    (["run", "--scenario", "/nonexistent/file.json"], "'--scenario'"),
])
def test_bad_input_exits_2_naming_the_key(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_bad_scenario_json_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"clients": {"count": -3}}')
    assert main(["run", "--scenario", str(bad)]) == 2
    assert "'clients.count'" in capsys.readouterr().err


def test_presets_lists_every_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS)
    assert main(["presets", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(PRESETS)


def test_register_adds_run_and_presets_with_funcs():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", "--preset", "classroom", "--set", "seed=2", "--json"])
    assert callable(args.func) and args.sets == ["seed=2"] and args.json
    assert callable(parser.parse_args(["presets"]).func)


def test_a_subprocess_run_exits_2_without_traceback():
    res = subprocess.run([sys.executable, "-c",
                          "import sys; from webapp.engine.cli import main; sys.exit(main())",
                          "run", "--set", "clients.count=true"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "clients.count" in res.stderr and "Traceback" not in res.stderr
