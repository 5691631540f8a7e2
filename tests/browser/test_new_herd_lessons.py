"""Lessons 12 to 14 (cold start, hot keys, coalescing gone wrong) in Chromium: each loads with no
serious accessibility violation, its prediction runs and reveals the run's numbers, a second
experiment loaded from a step runs on the new engine features, and the page is still clean after.
(test_lessons.py walks every lesson's tasks; this adds what is new in these three.)"""
from __future__ import annotations

import pytest

from tests.axe import serious
from webapp.lessons.loader import load_course

COURSE = load_course()
RUN_TIMEOUT_MS = 90_000
# lesson -> (a step whose button loads another experiment, a summary key that experiment's run has)
SECOND_RUN = {
    "cold-start": ("shift", "sent_elsewhere"),
    "hot-keys": ("local", "local_hits"),
    "when-coalescing-goes-wrong": ("negative", "negative_hits"),
}


@pytest.mark.parametrize("lesson_id", sorted(SECOND_RUN))
def test_a_new_lesson_loads_runs_and_reveals(page, live_server, lesson_id):
    lesson = COURSE.lesson(lesson_id)
    page.goto(f"{live_server.url}/lessons/{lesson_id}?speed=20")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    assert page.locator("h1").inner_text() == lesson.title
    assert serious(page) == []

    # The prediction: lock the right answer in, run, and read the run's numbers beside it.
    p = lesson.prediction
    form = page.locator('[data-role="prediction"]')
    form.locator(f'input[name="prediction"][value="{p.answer}"]').check()
    form.locator('[data-role="lock"]').click()
    form.locator('[data-role="run-prediction"]').click()
    reveal = form.locator('[data-role="reveal"]')
    reveal.wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    assert "the run agrees" in form.locator('[data-role="verdict"]').inner_text()
    assert reveal.locator("tbody tr").count() >= len(p.reveal)   # (+ shares of the requests)
    assert page.locator(".lab-chart", has_text="cache misses").count() == 1   # the new series
    assert serious(page) == []

    # A step's experiment runs on the new engine features: its summary has their key.
    step, key = SECOND_RUN[lesson_id]
    before = page.evaluate("window.herdlab.lastSummary")
    page.locator(f'#step-{step} button.load-exp').click()
    page.locator('[data-role="play"]').first.click()
    page.wait_for_function(
        "(key) => { const s = window.herdlab.lastSummary; return s && key in s && s.finished; }",
        arg=key, timeout=RUN_TIMEOUT_MS)
    after = page.evaluate("window.herdlab.lastSummary")
    assert after is not before and after[key] > 0
    assert serious(page) == []
    assert page.js_errors == []
