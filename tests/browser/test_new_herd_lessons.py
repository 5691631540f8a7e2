"""Lessons 12 to 14 (cold start, hot keys, coalescing gone wrong) in Chromium, in one page: each
loads with no serious accessibility violation, a step's experiment runs on the new engine
features (its run's summary has their key), the per-second chart shows the new cache-misses
series, and the page is still clean after. test_lessons.py walks every lesson's prediction,
reveal and checkpoints, these three included; this adds only what is new in them, one run each."""
from __future__ import annotations

import pytest

from tests.axe import serious
from tests.browser.lab_helpers import HEAVY_RUN_MS, HEAVY_TEST_S
from webapp.lessons.loader import load_course

COURSE = load_course()
# lesson -> (a step whose button loads an experiment on the new features, a summary key its run has)
NEW_RUN = {
    "cold-start": ("shift", "sent_elsewhere"),
    "hot-keys": ("local", "local_hits"),
    "when-coalescing-goes-wrong": ("negative", "negative_hits"),
}


@pytest.mark.timeout(HEAVY_TEST_S)      # three runs, 27-45 s in all in the suite
def test_the_new_lessons_load_clean_and_run_their_new_features(page, live_server):
    # Story mode off: the run plays straight through (story mode has its own tests).
    page.add_init_script("localStorage.setItem('herdlab.story.lessons', 'off')")
    for lesson_id, (step, key) in NEW_RUN.items():
        lesson = COURSE.lesson(lesson_id)
        page.goto(f"{live_server.url}/lessons/{lesson_id}?speed=20")
        page.locator('#conn-state[data-state="connected"]').wait_for()
        assert page.locator("h1").inner_text() == lesson.title
        assert serious(page) == [], lesson_id

        page.locator(f'#step-{step} button.load-exp').click()
        page.locator('[data-role="play"]').first.click()
        page.wait_for_function(
            "(key) => { const s = window.herdlab.lastSummary; return s && key in s && s.finished; }",
            arg=key, timeout=HEAVY_RUN_MS)
        assert page.evaluate("(key) => window.herdlab.lastSummary[key]", key) > 0, lesson_id
        assert page.locator(".lab-chart", has_text="cache misses").count() == 1   # the new series
        assert serious(page) == [], lesson_id
    assert page.js_errors == []
