"""The live lab (/lab) as a student and an instructor use it, in headless Chromium on the real server.

Runs use the `classroom` preset at high speed to keep each test short. Screenshots of key moments go
to test-artifacts/ (lab-*.png) so a person can look at what the page showed.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.lab_helpers import FINISHED, card, number, open_lab, run_then_pause, run_to_end, shot, wait_finished


def test_classroom_without_mitigation_piles_up_and_errors(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=4")
    assert page.locator('[data-control="strategy.coalesce=none"]').is_checked()
    page.get_by_role("button", name="Run the experiment").click()
    # The pile-up is visible while it happens: the datastore overloads and its queue grows.
    page.wait_for_function("['overloaded', 'down'].includes(window.herdlab.dbState) && window.herdlab.sample.queued > 40",
                           timeout=20_000)
    shot(page, "no-mitigation-pileup")
    page.wait_for_function("window.herdlab.sample && window.herdlab.sample.errors > 0", timeout=20_000)
    summary = wait_finished(page)
    assert summary["errors"] > 0
    assert summary["db_queries"] > summary["chunks"] * 10
    assert summary["db_down_s"] > 0
    # Numbers beside the picture: the cards and the text summary say the same.
    assert number(card(page, "failed")) == summary["errors"] + summary["timeouts"]
    assert number(card(page, "answered")) == summary["completed"]
    assert number(card(page, "db_queries")) == summary["db_queries"]
    assert number(card(page, "peak_db")) == summary["peak_db_inflight"] > 4
    # Every request is accounted for: answered + errors + timeouts = requests, each one named.
    assert summary["completed"] + summary["errors"] + summary["timeouts"] == summary["requests"]
    failed_note = page.locator('[data-card="failed"] .lab-card-note').inner_text()
    assert f"{summary['errors']:,} errors" in failed_note and f"{summary['timeouts']:,} timeout" in failed_note
    text = page.locator('[data-role="summary"]').inner_text()
    assert (f"{summary['requests']:,} requests: {summary['completed']:,} answered, {summary['errors']:,} failed with an error, "
            f"{summary['timeouts']:,} timed out") in text and "datastore down" in text
    assert page.evaluate("window.herdlab.eventsReceived") > 1000
    assert page.evaluate("window.herdlab.framesRendered") > 10
    assert page.js_errors == []


def test_promise_coalescing_sends_one_query_per_chunk(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=20")
    page.locator('[data-control="strategy.coalesce=promise"]').check()
    assert "strategy.coalesce=promise" in page.url            # the link follows the switches
    summary = run_to_end(page)
    assert summary["db_queries"] == summary["chunks"] == 4
    assert summary["errors"] == 0
    assert summary["coalesced"] > 0
    assert number(card(page, "db_queries")) == summary["chunks"]
    assert number(card(page, "failed")) == 0
    # "Saved" compares with the same run without mitigation, asked of /api/run.
    page.wait_for_function("document.querySelector('[data-card=saved] .lab-card-value').textContent !== '–'")
    saved = number(card(page, "saved"))
    assert saved > 100
    assert "without mitigation" in page.locator('[data-card="saved"] .lab-card-note').inner_text()
    shot(page, "promise-done")
    assert page.js_errors == []


def test_compare_mode_shows_both_sides(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=4")   # slow enough to look at it mid-run
    page.get_by_role("button", name="Compare A/B").click()
    assert page.get_by_role("button", name="Compare A/B").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="Run the experiment").click()
    # Mid-run the saving is already known: A (no mitigation) minus B, so far.
    page.wait_for_function("window.herdlab.sample?.db_queries > window.herdlab.sampleB?.db_queries")
    expect(page.locator('[data-card="saved"] .lab-card-note')).to_contain_text("so far")
    assert card(page, "saved") != "–"
    summary = wait_finished(page)
    summary_b = page.evaluate("window.herdlab.lastSummaryB")
    assert page.locator('[data-role="stage-b"]').is_visible()
    assert page.locator('[data-role="cap-a"]').inner_text() == "A — no mitigation"
    assert page.locator('[data-role="cap-b"]').inner_text() == "B — promise coalescing"
    assert summary["requests"] == summary_b["requests"]          # same arrivals on both sides
    assert summary_b["db_queries"] == summary_b["chunks"] < summary["db_queries"]
    queries = card(page, "db_queries")
    assert queries == f"A {summary['db_queries']:,}\nB {summary_b['db_queries']:,}"
    assert "B − A = −" in page.locator('[data-card="db_queries"] .lab-card-note').inner_text()
    assert number(card(page, "saved")) == summary["db_queries"] - summary_b["db_queries"]
    shot(page, "compare-done")
    assert page.js_errors == []


def test_keyboard_drives_the_lab(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=0.5")
    page.keyboard.press("?")
    assert page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog", name="Keyboard shortcuts").is_hidden()
    page.keyboard.press("-")
    expect(page.locator('[data-role="speed-label"]')).to_have_text("slow motion 4x")
    page.keyboard.press(" ")                                   # run
    page.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 0")
    page.keyboard.press(" ")                                   # pause
    page.wait_for_function("window.herdlab.status === 'paused'")
    t0 = page.evaluate("window.herdlab.t")
    page.keyboard.press("ArrowRight")                          # one step
    page.wait_for_function(f"window.herdlab.t > {t0}")
    assert page.evaluate("window.herdlab.status") == "paused"
    for _ in range(8):
        page.keyboard.press("+")
    expect(page.locator('[data-role="speed-label"]')).to_have_text("fast forward 20x")
    page.wait_for_function("window.herdlab.speed === 20")
    page.keyboard.press(" ")                                   # resume
    page.wait_for_function(FINISHED, timeout=30_000)
    while (speed := page.evaluate("window.herdlab.speed")) > 0.25:   # slow motion, so the replay is
        page.keyboard.press("-")                                     # seen (at 20x it lasts 50 ms)
        page.wait_for_function(f"window.herdlab.speed < {speed}")
    expect(page.locator('[data-role="speed-label"]')).to_have_text("slow motion 4x")
    # The lowest t the page shows from now on, looked at every animation frame: the replay
    # starts 1 s before the end (it moves on from there at once: 40 ms of wall time per 0.01 s).
    page.evaluate("""() => { window.__lowest = Infinity;
      const look = () => { window.__lowest = Math.min(window.__lowest, window.herdlab.t);
                           requestAnimationFrame(look); };
      look(); }""")
    page.keyboard.press("ArrowLeft")                           # seek back after the run: replay from t-1
    page.wait_for_function("window.__lowest <= window.herdlab.endS - 0.99", timeout=20_000)
    assert page.evaluate("window.herdlab.speed") == 0.25       # the replay plays at the speed chosen
    wait_finished(page)                                        # the replayed tail ends with `done` again
    page.keyboard.press("p")
    assert page.evaluate("document.body.classList.contains('presentation')")
    assert page.js_errors == []


def test_shared_link_restores_scenario_and_switches(page, live_server):
    open_lab(page, live_server, "?preset=classroom")
    page.locator('[data-control="strategy.coalesce=lock"]').check()
    page.locator('[data-control="strategy.stale_while_revalidate"]').check()
    viewers = page.locator('[data-control="clients.count"]')
    viewers.focus()
    for _ in range(40):
        page.keyboard.press("ArrowLeft")
    viewers.dispatch_event("change")
    shown = page.locator('[data-role="controls"] output[for$="clients-count"]').inner_text()
    page.get_by_role("button", name="Compare A/B").click()
    url = page.url
    assert "strategy.coalesce=lock" in url and "compare=1" in url and "clients.count=" in url
    page.goto(url)
    page.locator('[data-control="preset"]').wait_for()
    page.wait_for_function("window.herdlab.config.overrides.strategy")
    assert page.locator('[data-control="strategy.coalesce=lock"]').is_checked()
    assert page.locator('[data-control="strategy.stale_while_revalidate"]').is_checked()
    assert page.locator('[data-role="controls"] output[for$="clients-count"]').inner_text() == shown
    assert page.get_by_role("button", name="Compare A/B").get_attribute("aria-pressed") == "true"
    config = page.evaluate("window.herdlab.config")
    assert config["overrides"]["strategy"] == {"coalesce": "lock", "stale_while_revalidate": True}
    assert page.js_errors == []


def test_reduced_motion_draws_bars_not_flying_dots(browser, live_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, reduced_motion="reduce")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_lab(page, live_server, "?preset=classroom&speed=4")
        assert page.evaluate("window.herdlab.drawMode") == "bars"
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function("window.herdlab.sample && window.herdlab.sample.queued > 20", timeout=20_000)
        shot(page, "reduced-motion")
        page.wait_for_function(FINISHED, timeout=30_000)
        assert page.evaluate("window.herdlab.lastSummary.errors") > 0
        assert errors == []
    finally:
        context.close()


def test_presentation_mode_on_a_projector(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_lab(page, live_server, "?preset=classroom&speed=2")
        before = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        page.get_by_role("button", name="Presentation").click()
        assert page.evaluate("document.body.classList.contains('presentation')")
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= before * 1.25
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function("window.herdlab.t > 1.3", timeout=20_000)
        shot(page, "presentation-1280x720")
        page.keyboard.press("p")
        assert not page.evaluate("document.body.classList.contains('presentation')")
        assert errors == []
    finally:
        context.close()


def test_click_a_dot_shows_its_lifecycle_and_export_works(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=0.25")
    run_then_pause(page, "window.herdlab.dots > 50 && window.herdlab.t > 0.4", settle_ms=500)
    x, y = page.evaluate("window.herdlab.dotsOnStage()[0]")[:2]
    page.locator('[data-role="canvas-a"]').click(position={"x": x, "y": y})
    panel = page.get_by_role("dialog", name="Request lifecycle")
    assert panel.is_visible()
    assert "arrive" in panel.inner_text()
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    with page.expect_download() as dl:
        page.get_by_role("button", name="Events CSV").click()
    header = Path(dl.value.path()).read_text().splitlines()[0]
    assert header.startswith("t,kind,req,viewer,server,key")
    assert page.js_errors == []


@pytest.mark.parametrize("query", ["?clients.count=abc&strategy.coalesce=bogus", "?preset=nope&seed=-1.5"])
def test_a_hand_edited_link_cannot_break_the_page(page, live_server, query):
    open_lab(page, live_server, query)
    config = page.evaluate("window.herdlab.config")
    assert config["preset"] == "classroom" and config["overrides"] == {}
    assert page.js_errors == []


def test_before_any_run_the_stage_draws_the_servers_set_and_time_ticks_read_plainly(page, live_server):
    """Issue 19: an idle stage drew one server while 4 were set; the charts' time axis read
    "s, 0.3s, 0.8s" (ticks every 0.25 s rounded to one decimal)."""
    open_lab(page, live_server, "?preset=classroom&servers.count=4")
    page.wait_for_function("window.herdlab.stageLabels().some((l) => l.text === 'S4')")
    assert [l for l in page.evaluate("window.herdlab.stageLabels().map((l) => l.text)") if re.fullmatch(r"S\d+", l)] == [
        "S1", "S2", "S3", "S4"]
    ticks = page.evaluate("""async () => {
      const { timeTicks } = await import("/static/js/lab/render/charts.js");
      return [timeTicks(null, [0, 0.25, 0.5, 0.75], 0, 0, 0.25), timeTicks(null, [0, 2, 4], 0, 0, 2),
              timeTicks(null, [0.1, 0.2, 0.3], 0, 0, 0.1), timeTicks(null, [null, 1], 0, 0, 1)];
    }""")
    assert ticks == [["0 s", "0.25 s", "0.5 s", "0.75 s"], ["0 s", "2 s", "4 s"], ["0.1 s", "0.2 s", "0.3 s"], ["", "1 s"]]
    assert page.js_errors == []
