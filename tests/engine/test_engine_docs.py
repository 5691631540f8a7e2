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


def test_every_moment_and_every_input_kind_is_documented():
    from webapp.engine.inputs import KINDS
    from webapp.engine.moments import WHATS
    missing = [name for name in (*WHATS, *KINDS) if f"| `{name}` |" not in DOC]
    assert not missing
