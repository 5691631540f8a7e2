"""Compare any two (side B's own picker) and the code that lights up (issue 11), with real runs."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.lab_helpers import open_lab, seek_and_pause, wait_finished
from webapp.strategies.lines import event_lines

LIT = "document.querySelector('.code-beside[data-code=promise]').dataset.lit"
FOLLOW = "document.querySelector('.code-beside[data-code=promise] .code-follow').textContent"


def lit(kind: str) -> str:
    """The lines promise.py lights for an event ``kind`` (``data-lit``), from the same map the
    page's is made of: the test follows the code when its lines move."""
    place = event_lines("promise")[kind][0]
    return f"{place['line']}-{place['end_line']}"


def still(page, timeout_s: float = 10.0) -> None:
    """Until the dots on the stage are where they were two animation frames before."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate("""() => new Promise((done) => {
          const before = JSON.stringify(window.herdlab.dotsOnStage(500));
          requestAnimationFrame(() => requestAnimationFrame(
            () => done(JSON.stringify(window.herdlab.dotsOnStage(500)) === before)));
        })"""):
        assert time.monotonic() < deadline, "the dots never stood still"


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
    # The leader first: "become the leader" (its fetch), lit first whether or not the lines of
    # its first waiters are lit beside it yet (alone, they are for 0.12 s of wall time: too
    # short a window to be sure to see on a busy machine).
    page.wait_for_function(f"{LIT}?.split(',')[0] === '{lit('fetch_start:leader')}'", timeout=10_000)
    assert "(the leader)" in page.evaluate(FOLLOW)
    # Paused while the others wait (the leader's fetch lands at 0.23 s: racing a playing run to
    # pause before then failed on a busy machine), choose one waiter: "wait on the promise".
    seek_and_pause(page, 0.15)
    # Once the dots stand still (they glide to their places after a seek), the waiter farthest
    # from any other dot (a click takes the dot nearest to it), not under a box of the stage (a
    # click there opens that box instead).
    still(page)
    x, y = page.evaluate("""() => {
      const canvas = document.querySelector('[data-role="canvas-a"]'), box = canvas.getBoundingClientRect();
      const dots = window.herdlab.dotsOnStage(500);
      const room = (d) => Math.min(...dots.filter((o) => o !== d).map((o) => Math.hypot(o[0] - d[0], o[1] - d[1])));
      const [x, y] = dots.filter((d) => d[3] === 'wait' && document.elementFromPoint(box.x + d[0], box.y + d[1]) === canvas)
        .sort((a, b) => room(b) - room(a))[0];
      return [box.x + x, box.y + y];
    }""")
    page.mouse.click(x, y)
    expect(page.locator('[data-role="lifecycle"]')).to_be_visible()
    chosen = int(page.locator('[data-role="lifecycle-title"]').inner_text().split()[1])
    page.wait_for_function(f"{LIT} === '{lit('promise_wait')}'", timeout=5000)
    assert page.evaluate(FOLLOW).startswith(f"Request {chosen} (a waiter)")
    # The leader resolves: the same waiter is now answered by the promise (the line changes).
    page.locator('[data-role="play"]').click()
    answered = lit("respond:promise")
    page.wait_for_function(f"{LIT} === '{answered}'", timeout=10_000)
    assert page.evaluate(FOLLOW).startswith(f"Request {chosen} ")
    # (The line numbers are lit a frame after ``data-lit`` changes.)
    expect(page.locator('.code-beside[data-code="promise"] .linenos.is-lit')).to_have_text(
        answered.split("-")[0])
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
