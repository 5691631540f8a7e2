"""The lab's JSON helpers: /api/schema, /api/presets and the capped summary-only /api/run."""
from __future__ import annotations

import pytest

from webapp.engine import PRESETS, Simulation, parse_scenario, schema


def test_schema_lists_the_engine_keys(client):
    rows = client.get("/api/schema").json
    assert rows == schema()
    assert "clients.count" in {r["key"] for r in rows}


def test_presets_are_served_with_title_description_and_scenario(client):
    presets = client.get("/api/presets").json
    assert presets == PRESETS and "classroom" in presets
    assert {"title", "description", "scenario"} <= set(presets["classroom"])


def test_run_returns_the_summary(client):
    res = client.post("/api/run", json={"scenario": {"clients": {"count": 300}}})
    assert res.status_code == 200
    assert res.json["requests"] == 300 and res.json["finished"] is True


def test_run_applies_a_preset_under_the_scenario(client):
    res = client.post("/api/run", json={"preset": "classroom",
                                        "scenario": {"strategy": {"coalesce": "promise"}}})
    assert res.status_code == 200
    assert res.json["db_queries"] == res.json["chunks"] and res.json["errors"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"scenario": {"clients": {"count": 200_001}}}, "scenario.clients.count"),
        ({"scenario": {"clients": {"count": 200_000}, "duration_s": 40,
                       "workload": {"kind": "live_video", "segment_s": 4}}},
         "scenario.clients.count"),
        ({"scenario": {"clients": {"count": "x"}}}, "scenario.clients.count"),
        ({"scenario": {}, "speed": 1}, "speed"),
        ({"preset": "nope"}, "preset"),
        ([1, 2], ""),
        ("text", ""),
    ],
)
def test_run_refuses_bad_or_too_big_input_with_a_400_naming_the_field(client, body, field):
    res = client.post("/api/run", json=body)
    assert res.status_code == 400
    assert res.json["field"] == field and res.json["error"]


def test_run_without_json_is_a_400(client):
    res = client.post("/api/run", data="not json", content_type="text/plain")
    assert res.status_code == 400 and res.json["field"] == ""


FOUR_SERVERS = {"servers": {"count": 4}, "clients": {"count": 400, "retries": 2},
                "duration_s": 2.0, "datastore": {"service_ms": 400}}


def test_api_run_takes_inputs_and_answers_them_beside_the_summary(client):
    record = {"t": 0.2, "kind": "kill_server", "server": 0}
    res = client.post("/api/run", json={"scenario": FOUR_SERVERS, "inputs": [record]})
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    expected = Simulation(parse_scenario(FOUR_SERVERS), inputs=[record]).run().summary()
    assert body.pop("inputs") == [record]
    assert body == {**expected, "truncated": body["truncated"]}
    assert body["servers_down"] == 1 and body["inputs_applied"] == 1
    res = client.post("/api/run", json={"scenario": FOUR_SERVERS, "inputs": [{"t": 0.2, "kind": "nope"}]})
    assert res.status_code == 400 and res.get_json()["field"] == "inputs[0].kind"
    assert client.post("/api/run", json={"scenario": FOUR_SERVERS}).get_json()["inputs"] == []
