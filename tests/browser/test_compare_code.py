"""Compare any two (side B's own picker) and the code that lights up (issue 11), with real runs."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.lab_helpers import drawn, open_lab, wait_finished

LIT = "document.querySelector('.code-beside[data-code=promise]').dataset.lit"
FOLLOW = "document.querySelector('.code-beside[data-code=promise] .code-follow').textContent"


def test_compare_lock_against_promise_side_by_side(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=4")
    page.locator('[data-control="strategy.coalesce=lock"]').check()
    page.get_by_role("button", name="⇅ Compare A/B").click()
    picker = page.locator('[data-role="compare-b"]')
    expect(picker).to_be_visible()
    picker.select_option(label="A: the sidebar's · B: promise coalescing only")
    assert "b.strategy.coalesce=promise" in page.url                  # the pair is in the share link
    page.get_by_role("button", name="Run the experiment").click()
    expect(page.locator('[data-role="cap-a"]')).to_have_text("A — lock coalescing")
    expect(page.locator('[data-role="cap-b"]')).to_have_text("B — promise coalescing")
    start = [m["payload"] for m in page.evaluate("window.herdlab.sent") if m["name"] == "start"][-1]
    assert start["scenario"] == {"strategy": {"coalesce": "lock"}}
    assert start["compare"]["strategy"]["coalesce"] == "promise"
    summary_a = wait_finished(page, 60_000)
    summary_b = page.evaluate("window.herdlab.lastSummaryB")
    # Same herd, one query per chunk each; the promise's waiters are answered when the fetch lands,
    # the lock's at their next poll (lesson 5's point), and the cards say both.
    assert summary_a["db_queries"] == summary_b["db_queries"] == 4
    assert summary_b["latency_answered_ms"]["p99"] < summary_a["latency_answered_ms"]["p99"]
    assert page.evaluate("window.herdlab.scenario.strategy.coalesce") == "lock"
    assert page.evaluate("window.herdlab.lab.store.scenarioB.strategy.coalesce") == "promise"
    assert page.js_errors == []


def test_the_code_lights_the_branch_of_the_followed_request_as_the_leader_resolves(page, live_server):
    page.add_init_script("localStorage.setItem('herdlab.story.lessons', 'off')")    # the student plays it through
    page.goto(live_server.url + "/lessons/promises?speed=0.1")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    page.locator('[data-role="controls"] input').first.wait_for()
    page.locator('.code-beside[data-code="promise"]').scroll_into_view_if_needed()
    page.evaluate("window.herdlabLesson.lab.start()")
    # The leader first: "become the leader" (its fetch).
    page.wait_for_function(f"{LIT} === '59-60'", timeout=10_000)
    assert "(the leader)" in page.evaluate(FOLLOW)
    # Pause while the others wait, choose one waiter on the stage: "wait on the promise".
    page.wait_for_function("window.herdlab.dotsOnStage(500).some((d) => d[3] === 'wait') && window.herdlab.t > 0.12", timeout=10_000)
    page.locator('[data-role="play"]').click()
    page.wait_for_function("window.herdlab.status === 'paused'")
    drawn(page)
    x, y, req, _ = next(d for d in page.evaluate("window.herdlab.dotsOnStage(500)") if d[3] == "wait")
    box = page.locator('[data-role="canvas-a"]').bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator('[data-role="lifecycle"]')).to_be_visible()
    chosen = int(page.locator('[data-role="lifecycle-title"]').inner_text().split()[1])
    page.wait_for_function(f"{LIT} === '53-53'", timeout=5000)
    assert page.evaluate(FOLLOW).startswith(f"Request {chosen} (a waiter)")
    # The leader resolves: the same waiter is now answered by the promise (the line changes).
    page.locator('[data-role="play"]').click()
    page.wait_for_function(f"{LIT} === '72-72'", timeout=10_000)
    assert page.evaluate(FOLLOW).startswith(f"Request {chosen} ")
    assert page.locator('.code-beside[data-code="promise"] .linenos.is-lit').inner_text().strip() == "72"
    assert page.js_errors == []


def test_a_lessons_declared_pair_sets_side_b(page, live_server):
    """Lesson 5's `lock-vs-promise` experiment declares `compare: {strategy: {coalesce: promise}}`:
    loading it turns compare mode on with exactly that side B, and the run starts with it unchanged."""
    page.goto(live_server.url + "/lessons/promises")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    page.locator('[data-role="controls"] input').first.wait_for()
    page.locator("#step-compare .load-exp").click()
    config = page.evaluate("window.herdlab.config")
    assert config["compare"] is True and config["compareB"] == {"strategy": {"coalesce": "promise"}}
    assert page.evaluate("window.herdlab.story") is True                 # the step names `resolved`
    page.evaluate("window.herdlabLesson.lab.start()")
    expect(page.locator('[data-role="cap-b"]')).to_have_text("B — promise coalescing")
    start = [m["payload"] for m in page.evaluate("window.herdlab.sent") if m["name"] == "start"][-1]
    assert start["compare"] == {"strategy": {"coalesce": "promise"}} and start["scenario"] == {"strategy": {"coalesce": "lock"}}
    # Another experiment of the lesson (no pair) leaves compare mode.
    page.locator("#step-notify .load-exp").click()
    assert page.evaluate("window.herdlab.config")["compare"] is False
    assert page.js_errors == []
