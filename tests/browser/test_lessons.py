"""Every lesson, walked through as a student would in headless Chromium against the real server.

For each lesson: open it, answer the prediction (a wrong answer in every other lesson, to see both
reveals), run the prediction's experiment at 20x, see the run's numbers beside the prediction,
answer every checkpoint (first a wrong answer, to read why it is wrong, then the right one), reload
and find the progress kept, and see the lesson marked done on the course index. On the way, axe-core
finds no serious or critical violation in the lesson as opened (its code listings) or with its
prediction revealed.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.axe import serious
from tests.browser.lab_helpers import HEAVY_RUN_MS, HEAVY_TEST_S
from webapp.lessons.loader import load_course

COURSE = load_course()
LESSONS = COURSE.lessons
# The text that names a control: its <label>, its group's <legend>, or the label wrapping it.
LABEL_OF = """(el) => (el.labels?.[0]?.textContent || el.closest("fieldset")?.querySelector("legend")?.textContent
                     || el.closest("label")?.textContent || "")"""


def _value(summary: dict, key: str) -> float:
    for part in key.split("."):
        summary = summary[part]
    return summary


@pytest.mark.timeout(HEAVY_TEST_S)
@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_student_walks_through_the_lesson(page, live_server, lesson):
    # This student switched story mode off (the page remembers it): the runs play straight through.
    # Story mode, on by default, has its own tests (test_story_lessons.py).
    page.add_init_script("localStorage.setItem('herdlab.story.lessons', 'off')")
    page.goto(f"{live_server.url}/lessons/{lesson.id}?speed=20")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    assert page.locator("h1").inner_text() == lesson.title
    tasks = len(lesson.checkpoints) + 1
    assert page.locator('[data-role="progress"]').inner_text() == f"0 of {tasks} tasks done."

    # Every control the lesson declares is on the lab, labelled; no preset picker (the experiment tabs
    # choose); no space-bar hint (lessons bind no keyboard shortcuts).
    controls = page.locator('[data-role="controls"]')
    for key in sorted({key for e in lesson.experiments for key in e.controls}):
        control = controls.locator(f'[data-control="{key}"], [data-control^="{key}="]').first
        expect(control).to_be_visible()
        name = control.evaluate(LABEL_OF)
        assert name.strip() and name.strip() != key, key
    assert controls.locator('[data-control="preset"]').count() == 0
    assert "space bar" not in page.locator('[data-role="summary"]').inner_text()

    # Every step is addressable by its id.
    for step in lesson.steps:
        assert page.locator(f"#step-{step.id} h2").count() == 1
    assert serious(page) == [], "opened"

    # Predict: the Run button stays disabled until an answer is locked in.
    p = lesson.prediction
    form = page.locator('[data-role="prediction"]')
    run = form.locator('[data-role="run-prediction"]')
    assert run.is_disabled()
    chosen = p.answer if lesson.order % 2 else (p.answer + 1) % len(p.choices)
    form.locator(f'input[name="prediction"][value="{chosen}"]').check()
    form.locator('[data-role="lock"]').click()
    assert form.locator(f'input[name="prediction"][value="{chosen}"]').is_disabled()

    # Run it: the reveal shows the run's numbers beside the prediction.
    run.click()
    reveal = form.locator('[data-role="reveal"]')
    reveal.wait_for(state="visible", timeout=HEAVY_RUN_MS)
    summary = page.evaluate("window.herdlab.lastSummary")
    rows = reveal.locator("tbody tr")
    # ... and each count as a share of the requests it is part of, where the requests are revealed too.
    shares = [(k, f"{k.rpartition('.')[0]}.requests".lstrip(".")) for k in p.reveal]
    shares = [(k, whole) for k, whole in shares if whole in p.reveal and k != whole
              and not k.endswith(("_s", "_ms")) and "latency" not in k]
    assert rows.count() == len(p.reveal) + len(shares)
    for i, (k, whole) in enumerate(shares):
        part, total = (_value(summary, key) for key in (k, whole))
        shown_share = float(rows.nth(len(p.reveal) + i).locator("td").inner_text().rstrip("%").replace(",", ""))
        assert shown_share == pytest.approx(100 * part / total, rel=0.01, abs=0.01), (k, shown_share)
    first_value = summary
    for part in p.reveal[0].split("."):
        first_value = first_value[part]
    shown = float(rows.first.locator("td").inner_text().replace(",", ""))
    assert shown == pytest.approx(first_value, abs=0.05)  # shown with at most one decimal
    verdict = form.locator('[data-role="verdict"]').inner_text()
    assert ("the run agrees" in verdict) == (chosen == p.answer)
    assert form.locator(".choice.is-answer").count() == 1
    assert serious(page) == [], "revealed"

    # Checkpoints: a wrong answer explains itself, then the right one is accepted.
    for cp in lesson.checkpoints:
        box = page.locator(f"#checkpoint-{cp.id}")
        wrong = (cp.answer + 1) % len(cp.choices)
        box.locator(f'input[value="{wrong}"]').check()
        assert box.get_attribute("data-state") == "wrong"
        why = box.locator(f'.why[data-why="{wrong}"]')
        assert why.is_visible() and why.inner_text().strip()
        box.locator(f'input[value="{cp.answer}"]').check()
        assert box.get_attribute("data-state") == "right"
        assert not why.is_visible()
        assert box.locator(f'.why[data-why="{cp.answer}"]').is_visible()
    assert page.locator('[data-role="progress"]').inner_text() == \
        f"Lesson complete: all {tasks} tasks done. ✓"

    # Reload: progress, the prediction, its reveal and the checkpoint answers are all kept.
    page.reload()
    assert page.locator('[data-role="progress"]').inner_text() == \
        f"Lesson complete: all {tasks} tasks done. ✓"
    assert form.locator(f'input[name="prediction"][value="{chosen}"]').is_checked()
    assert reveal.is_visible()
    for cp in lesson.checkpoints:
        assert page.locator(f"#checkpoint-{cp.id}").get_attribute("data-state") == "right"
    assert page.locator('[data-role="runs-rows"] tr').count() >= 1

    page.goto(f"{live_server.url}/lessons")
    assert page.locator(f'.course-item[data-lesson="{lesson.id}"] [data-role="progress"]').inner_text() \
        == "done ✓"
    assert page.js_errors == []


def test_home_shows_the_course_and_stays_connected(page, live_server):
    page.goto(live_server.url + "/")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    assert "See the thundering herd." in page.locator("h1").inner_text()
    assert page.locator(".course-item").count() == len(LESSONS)
    assert page.locator(".course-item").first.locator('[data-role="progress"]').inner_text() == "not started"
    page.locator(".course-item").first.locator("a").click()
    page.wait_for_url(f"**/lessons/{LESSONS[0].id}")
    assert page.js_errors == []


@pytest.mark.timeout(HEAVY_TEST_S)
def test_a_step_deep_link_and_the_capstone_goal(page, live_server):
    capstone = COURSE.lesson("capstone")
    page.goto(f"{live_server.url}/lessons/capstone?speed=20#step-your-turn")
    assert page.evaluate("location.hash") == "#step-your-turn"
    assert page.locator("#step-your-turn").is_visible()
    # The student picks the shared marker and runs: the server checks the run against the goal.
    page.locator('[data-role="controls"] input[data-control="strategy.coalesce=distributed"]').check()
    page.locator('#lab [data-role="play"]').click()
    goal = page.locator('[data-role="goal"]')
    page.wait_for_function("document.querySelector('[data-role=goal]').dataset.ok !== undefined",
                           timeout=HEAVY_RUN_MS)
    assert goal.get_attribute("data-ok") == "true", goal.inner_text()
    assert goal.locator("li[data-ok=true]").count() == len(capstone.goal.expects)
    # Each line says, in words, what the student's own run had (not "✓ holds (0 == 0)").
    for line in goal.locator("li span").all_inner_texts():
        assert line.startswith("✓ met: your run: ") and "==" not in line, line
    assert page.js_errors == []
