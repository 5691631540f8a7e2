"""Interventions while a run plays (issue 11): click or keyboard on a server, the cache or the
datastore sends an engine input as `control {action: "input"}`; a mitigation switched mid-run is an
input, not a restart; the server's checked list is kept with the run (marks, the next start, the
share link); a refused input is said clearly and the run goes on.

These feed the page the server's messages (lab_helpers.feed) and read what it sent
(`window.herdlab.sent`)."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.lab_helpers import feed, open_lab, sample, started

THREE = started(run_id="i", end_s=8.0, duration_s=8.0, scenario={
    "duration_s": 8.0, "clients": {"count": 300}, "servers": {"count": 3}, "cache": {"enabled": True, "ttl_s": 60.0},
    "datastore": {"connections": 4}, "strategy": {"coalesce": "none", "lease_ms": 5000}}, inputs=[], moments=[])


def sent_inputs(page) -> list[dict]:
    return [m["payload"]["input"] for m in page.evaluate("window.herdlab.sent")
            if m["name"] == "control" and m["payload"]["action"] == "input"]


def playing(page) -> None:
    feed(page, "started", THREE)
    feed(page, "frame", {"run_id": "i", "t": 1.25, "events": [
        {"t": 1.0, "kind": "chunk_published", "req": None, "viewer": None, "server": None, "key": "chunk-0", "chunk": 0},
        sample(1.2, arrived=10, inflight_requests=10)]})
    page.locator('[data-role="targets-a"] button').first.wait_for(state="attached")


def test_click_a_server_to_kill_it_and_a_refusal_is_said(page, live_server):
    open_lab(page, live_server)
    # Nothing to act on before a run: no targets, a click on a server opens nothing.
    assert page.locator('[data-role="targets-a"] button').count() == 0
    playing(page)
    targets = page.locator('[data-role="targets-a"] button')
    expect(targets).to_have_count(5)                                   # 3 servers, the cache, the datastore
    box = targets.nth(1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.8)   # on the canvas, through the target
    poke = page.locator('[data-role="poke"]')
    expect(poke).to_be_visible()
    expect(poke.locator('[data-role="poke-title"]')).to_have_text("App server S2")
    page.get_by_role("button", name="✕ Kill S2").click()
    assert sent_inputs(page) == [{"kind": "kill_server", "server": 1}]
    expect(poke).to_be_hidden()
    expect(page.locator('[data-role="note"]')).to_contain_text("Intervention asked at t = 1.25 s: kill S2.")
    feed(page, "error", {"run_id": "i", "field": "input.server", "message": "Server 1 is already down."})
    expect(page.locator('[data-role="error"]')).to_have_text("Server 1 is already down. (field: input.server)")
    assert page.evaluate("window.herdlab.status") == "playing"          # the run goes on untouched
    assert page.js_errors == []


def test_keyboard_reaches_the_cache_and_the_datastore(page, live_server):
    open_lab(page, live_server)
    playing(page)
    cache = page.locator('[data-role="targets-a"] button[data-kind="cache"]')
    cache.focus()
    page.keyboard.press("Enter")
    expect(page.locator('[data-role="poke"]')).to_be_visible()
    assert page.evaluate("document.activeElement.textContent") == "Expire chunk-0"
    page.keyboard.press("Escape")
    expect(page.locator('[data-role="poke"]')).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.kind") == "cache"            # focus returns
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")                                                      # the second choice
    page.locator('[data-role="targets-a"] button[data-kind="db"]').focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert sent_inputs(page) == [{"kind": "delete_key", "key": "chunk-0"}, {"kind": "slow_db", "factor": 4, "for_s": 2}]
    assert page.js_errors == []


def test_a_switch_flipped_mid_run_is_an_input_kept_with_the_run_and_its_link(page, live_server):
    open_lab(page, live_server, "?preset=classroom&servers.count=3")
    playing(page)
    page.locator('[data-control="strategy.coalesce=promise"]').check()
    assert sent_inputs(page) == [{"kind": "set", "key": "strategy.coalesce", "value": "promise"}]
    expect(page.locator('[data-role="note"]')).to_contain_text("not a restart")
    assert page.evaluate("window.herdlab.config")["overrides"] == {"servers": {"count": 3}}
    # The server's checked list: a mark, kept for the next start and in the share link.
    kept = [{"t": 1.25, "kind": "set", "key": "strategy.coalesce", "value": "promise"}]
    feed(page, "state", {"run_id": "i", "action": "inputs", "inputs": kept, "status": "playing", "t": 1.25, "end_s": 8.0, "moments": []})
    expect(page.locator('[data-role="marks"] .lab-mark-input')).to_have_count(1)
    expect(page.locator('[data-role="inputs-note"]')).to_contain_text("1 intervention kept with this run")
    link = parse_qs(urlparse(page.url).query)
    assert json.loads(link["inputs"][0]) == kept
    feed(page, "done", {"run_id": "i", "summary": {"requests": 10}, "inputs": kept})
    page.wait_for_function("window.herdlab.status === 'finished'")
    page.get_by_role("button", name="Run the experiment").click()
    start = [m["payload"] for m in page.evaluate("window.herdlab.sent") if m["name"] == "start"][-1]
    assert start["inputs"] == kept and start["scenario"] == {"servers": {"count": 3}}
    # Changing the scenario makes it another run: its interventions are forgotten (and said so).
    page.get_by_role("button", name="Forget them").click()
    expect(page.locator('[data-role="inputs-note"]')).to_be_hidden()
    assert "inputs" not in parse_qs(urlparse(page.url).query)
    assert page.js_errors == []
