"""docs/events.md documents every event kind, scenario key and summary key."""
from __future__ import annotations

from pathlib import Path

from webapp.engine import parse_scenario, run_summary, schema
from webapp.engine.events import FIELDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()


def test_every_event_kind_is_documented():
    missing = [kind for kind in FIELDS if f"| `{kind}` |" not in DOC]
    assert not missing


def test_every_scenario_key_is_documented():
    missing = [row["key"] for row in schema() if f"| `{row['key']}` |" not in DOC]
    assert not missing


def test_every_summary_key_is_documented():
    summary = run_summary(parse_scenario({"clients": {"count": 5}}))
    missing = [key for key in summary if f"| `{key}` |" not in DOC]
    assert not missing
    # Lessons 12-14's keys, shown only when their features are on.
    every = run_summary(parse_scenario({
        "clients": {"count": 5}, "workload": {"kind": "live_video", "segment_s": 1.0,
                                              "ask_early_s": 0.5},
        "cache": {"shard_ops_per_s": 100.0, "local_ttl_ms": 10.0, "negative_ttl_ms": 10.0},
        "strategy": {"traffic_shift_s": 1.0, "hit_for_pass_s": 1.0, "wait_timeout_ms": 10.0}}))
    assert set(every) - set(summary) == {"sent_elsewhere", "local_hits", "not_found",
                                         "negative_hits", "passed", "wait_timeouts",
                                         "cache_tier"}
    assert not [key for key in every if f"| `{key}` |" not in DOC]


def test_every_moment_and_every_input_kind_is_documented():
    from webapp.engine.inputs import KINDS
    from webapp.engine.moments import WHATS
    missing = [name for name in (*WHATS, *KINDS) if f"| `{name}` |" not in DOC]
    assert not missing
