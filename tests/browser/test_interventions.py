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

from tests.browser.lab_helpers import feed, open_lab, sample, started, wait_finished

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
    # The live server answers the input too (it has no run "i"); its answer is said first, and
    # only then is the engine's refusal fed, so the two never race (a busy machine's late answer
    # overwrote the fed one).
    error = page.locator('[data-role="error"]')
    expect(error).to_have_text("No run with that 'run_id' on this connection. (field: run_id)")
    feed(page, "error", {"run_id": "i", "field": "input.server", "message": "Server 1 is already down."})
    expect(error).to_have_text("Server 1 is already down. (field: input.server)")
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
    # The server replays it (wait for its own run: before `started` the run id is still null).
    page.wait_for_function("window.herdlab.runId && window.herdlab.runId !== 'i' && window.herdlab.inputs.length === 1")
    # Forgotten on request: the next run starts without them (the run on screen keeps its own).
    page.get_by_role("button", name="Forget them").click()
    expect(page.locator('[data-role="inputs-note"]')).to_be_hidden()
    assert "inputs" not in parse_qs(urlparse(page.url).query)
    assert page.js_errors == []


KILL_LINK = "?preset=classroom&servers.count=3&clients.retries=2&duration_s=4&speed=0.25"
# Requests whose attempt on the killed server failed and that were then served by another one.
FAILED_OVER = """(server) => {
  const log = window.herdlab.lab.store.a.log.toArray();
  const on = new Map();
  for (const ev of log) if (ev.kind === "arrive") (on.get(ev.req) || on.set(ev.req, []).get(ev.req)).push(ev.server);
  return [...on.values()].filter((servers) => servers[0] === server && servers.slice(1).some((s) => s !== server)).length;
}"""


def test_killing_a_server_mid_run_fails_its_requests_over_and_the_link_replays_it(browser, live_server):
    """A real run: S2 killed by a click while the herd is on it; its requests retry on the other
    servers (S2 drawn down); the share link then replays the very same run."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        open_lab(page, live_server, KILL_LINK)
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function("window.herdlab.t > 0.05 && window.herdlab.dots > 20", timeout=20_000)
        target = page.locator('[data-role="targets-a"] button[data-kind="server"]').nth(1).bounding_box()
        kill_s2 = page.get_by_role("button", name="✕ Kill S2")
        for _ in range(10):
            page.mouse.click(target["x"] + target["width"] / 2, target["y"] + target["height"] * 0.85)
            if kill_s2.is_visible():
                break
            # A request's dot was under the pointer: its lifecycle opened, as a click on a dot
            # does (run 56). Close it and click the box again.
            page.keyboard.press("Escape")
        kill_s2.click()
        page.wait_for_function("window.herdlab.inputs.length === 1", timeout=10_000)
        kill = page.evaluate("window.herdlab.inputs")[0]
        assert kill["kind"] == "kill_server" and kill["server"] == 1 and kill["t"] > 0.05
        # Drawn dead (its box says "down"), and the engine's own moment says how many it failed.
        page.wait_for_function("window.herdlab.stageLabels().some((l) => l.text === 'down')", timeout=10_000)
        died = next(m for m in page.evaluate("window.herdlab.moments") if m["what"] == "server_down")
        assert died["server"] == 1 and died["t"] == round(kill["t"], 6) and died["next"] == "retry_elsewhere"
        page.wait_for_function(f"({FAILED_OVER})(1) > 0", timeout=10_000)
        expect(page.locator('[data-role="marks"] .lab-mark-input')).to_have_count(1)
        page.keyboard.press("+"); page.keyboard.press("+"); page.keyboard.press("+"); page.keyboard.press("+")
        summary = wait_finished(page, 60_000)
        assert summary["errors"] + summary["retries"] > 0
        link = page.url
        assert "inputs=" in link
    finally:
        page.close()
    again = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        again.goto(link)
        again.locator('#conn-state[data-state="connected"]').wait_for()
        again.locator('[data-control="preset"]').wait_for()
        again.get_by_role("button", name="Run the experiment").click()
        replay = wait_finished(again, 60_000)
        assert again.evaluate("window.herdlab.inputs") == [kill]
        assert replay == summary
    finally:
        again.close()


def test_an_input_the_engine_could_not_apply_says_why(page, live_server):
    open_lab(page, live_server)
    playing(page)
    feed(page, "frame", {"run_id": "i", "t": 1.5, "events": [
        {"t": 1.4, "kind": "input", "req": None, "viewer": None, "server": None, "key": "chunk-0", "input": "expire_key",
         "seq": 0, "applied": False, "reason": "not cached", "name": None, "value": None, "until": None}]})
    expect(page.locator('[data-role="note"]')).to_have_text("Not applied at t = 1.40 s (expire the newest key): not cached.")
    assert page.evaluate("window.herdlab.status") == "playing"
    assert page.js_errors == []
