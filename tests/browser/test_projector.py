"""A projector at the back of a room (issue 10, item 3; issue 20, item 11): presentation mode and the
presenter screen at 1280x720 and 1920x1080 show the stage, the cards and every chart without
scrolling, cut no text, and never draw stage text below 16 px. The presenter does so in every state
of a class: one run or compare mode (A and B side by side), under the longest lesson step, with the
longest question up (beside the run, or above it in compare mode) and with the class's answers and
the run's result. A clicker's Page Down / Page Up on the presenter moves the class's lesson step, and
the console's step picker with it, also when pressed again before the room has answered."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.axe import serious
from tests.browser.classroom_pages import open_console, open_presenter, watch
from tests.browser.conftest import ARTIFACTS
from tests.browser.lab_helpers import cut_text, label_problems, open_lab
from webapp.lessons.loader import load_course

PROJECTORS = [{"width": 1280, "height": 720}, {"width": 1920, "height": 1080}]
# The presenter's join strip, stage(s), cards and every chart (the class's answers beside them).
EVERYTHING = [".cr-join", "#tally", '#lab [data-role="stage-a"]', '#lab [data-role="stage-b"]', "#lab .lab-cards",
              "#lab .lab-chart"]
BOTTOMS = """(selectors) => selectors.map((s) => [s, Math.max(...[...document.querySelectorAll(s)]
  .filter((el) => el.offsetParent !== null).map((el) => el.getBoundingClientRect().bottom))])"""
CARD_TEXT = ".lab-card-label, .lab-card-value, .lab-card-value > span, .lab-card-note"


def assert_fits_the_screen(page, selectors: list[str], height: int) -> None:
    for selector, bottom in page.evaluate(BOTTOMS, selectors):
        assert bottom <= height, f"{selector} ends at {bottom:.0f} px, below the {height} px screen"


def assert_fits(page, viewport: dict, selectors: list[str]) -> None:
    """Nothing scrolls, every part ends inside the screen (once its layout has settled: the answers'
    type is fitted a frame after a change) and no text is cut."""
    page.wait_for_function("([w, h]) => document.documentElement.scrollHeight <= h "
                           "&& document.documentElement.scrollWidth <= w", arg=[viewport["width"], viewport["height"]],
                           polling="raf")
    assert page.evaluate("[window.scrollX, window.scrollY]") == [0, 0]
    assert_fits_the_screen(page, selectors, viewport["height"])
    assert cut_text(page, f"{CARD_TEXT}, #tally *, .cr-join *, .lab-chart figcaption") == []


def assert_stage_is_readable(page) -> None:
    sizes = page.evaluate("window.herdlab.stageLabels().map((l) => [l.text, l.px])")
    assert sizes and min(px for _, px in sizes) >= 16, sizes
    assert label_problems(page) == []


@pytest.mark.parametrize("viewport", PROJECTORS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_presentation_mode_fits_a_projector(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport)
    page = watch(context.new_page())
    try:
        open_lab(page, live_server, "?preset=classroom&speed=1")
        page.keyboard.press("p")
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function("window.herdlab.t > 4.5 && window.herdlab.sample?.queued > 20", timeout=20_000)
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") == 0
        assert_fits_the_screen(page, ['[data-role="stage-a"]', ".lab-cards", ".lab-bar", ".lab-charts"], viewport["height"])
        assert cut_text(page, f"{CARD_TEXT}, .lab-legend li, .lab-bar button, .lab-bar output, .lab-preset") == []
        assert_stage_is_readable(page)
        page.screenshot(path=str(ARTIFACTS / f"presentation-{viewport['width']}x{viewport['height']}.png"))
        page.keyboard.press("4")     # no shortcut: nothing happens
        page.get_by_role("button", name="Pause").click()
        for _ in range(8):
            page.keyboard.press("+")
        page.get_by_role("button", name="Resume").click()
        page.wait_for_function("window.herdlab.status === 'finished'", timeout=30_000)
        page.wait_for_timeout(300)
        assert cut_text(page, CARD_TEXT) == []                                      # the whole run's numbers fit too
        assert page.js_errors == []
    finally:
        context.close()


def console_and_presenter(browser, live_server, pages: list, viewport: dict):
    """The console (a laptop) and the presenter window it opens, sized as the projector."""
    console_ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    pages.append(console_ctx)
    console = watch(console_ctx.new_page())
    open_console(console, live_server.url)
    return console, open_presenter(console, viewport)


@pytest.mark.parametrize("viewport", PROJECTORS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_presenter_screen_fits_a_projector_with_the_class_answers(browser, live_server, viewport):
    size = f"{viewport['width']}x{viewport['height']}"
    pages: list = []
    try:
        console, presenter = console_and_presenter(browser, live_server, pages, viewport)
        phone_ctx = browser.new_context(viewport={"width": 390, "height": 844})
        pages.append(phone_ctx)
        phone = watch(phone_ctx.new_page())
        phone.goto(f"{live_server.url}/join?code={console.locator('#code').inner_text()}")
        expect(phone.locator("#room-view")).to_be_visible()
        # Lesson 1's step and question (plain text, as every prediction is): projector, phone and
        # console show them.
        console.locator("#lesson").select_option("celebrity-goes-live")
        steps = console.locator("#step option").evaluate_all("(options) => options.map((o) => o.value)")
        console.locator("#show-step").click()
        expect(presenter.locator("#lesson")).to_be_visible()
        # A clicker on the presenter moves the class to the next step and back; the console's step
        # picker follows (presenter and console stay in step), and so do the students.
        presenter.keyboard.press("PageDown")
        expect(console.locator("#step")).to_have_value(steps[1], timeout=20_000)
        phone.wait_for_function(f"document.querySelector('#lesson').dataset.shown === 'celebrity-goes-live/{steps[1]}'")
        presenter.keyboard.press("PageDown")
        expect(console.locator("#step")).to_have_value(steps[2], timeout=20_000)
        presenter.keyboard.press("PageUp")
        expect(console.locator("#step")).to_have_value(steps[1], timeout=20_000)
        console.locator("#predict").click()
        tally = presenter.locator("#tally")
        question = "What share of them become their own datastore query?"
        expect(tally.locator("h2")).to_contain_text(question)
        expect(phone.locator("#question-text")).to_contain_text(question)
        expect(console.locator("#tally h2")).to_contain_text(question)
        for page in (presenter, phone, console):
            assert "**" not in page.locator("main").inner_text()
        # A follower's lab drives nothing: no Presentation, export, share or compare buttons.
        for role in ("presentation", "export-json", "export-csv", "export-summary", "share", "compare", "play"):
            assert presenter.locator(f'#lab [data-role="{role}"]').is_hidden(), role
        console.evaluate("window.herdlabRoom.lab.control('speed', 4)")
        console.locator('[data-role="play"]').click()
        presenter.wait_for_function("window.herdlab.t > 5 && window.herdlab.sample?.queued > 20", timeout=20_000)
        assert_fits(presenter, viewport, EVERYTHING)
        assert_stage_is_readable(presenter)
        assert serious(presenter) == []
        presenter.screenshot(path=str(ARTIFACTS / f"presenter-{size}-midrun.png"))
        console.evaluate("window.herdlabRoom.lab.control('speed', 20)")   # what is left, quickly
        expect(tally.locator(".cr-result")).to_contain_text("Datastore queries", timeout=30_000)
        presenter.wait_for_function("window.herdlab.status === 'finished'")
        assert_fits(presenter, viewport, [*EVERYTHING, "#tally .cr-result", "#tally li.right"])   # the whole run's numbers fit too
        assert_stage_is_readable(presenter)
        presenter.screenshot(path=str(ARTIFACTS / f"presenter-{size}-result.png"))
        for page in (console, presenter, phone):
            assert page.js_errors == []
    finally:
        for ctx in pages:
            ctx.close()


# Several clicker presses in one task of the presenter page: no announcement from the room can come
# between them, as when a presenter presses again before the room has answered the first press.
PRESS = """(keys) => { for (const key of keys) document.body.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true})); }"""


def test_a_clicker_pressed_again_before_the_room_answers_moves_from_the_step_it_asked_for(browser, live_server):
    pages: list = []
    try:
        console, presenter = console_and_presenter(browser, live_server, pages, PROJECTORS[0])
        console.locator("#lesson").select_option("celebrity-goes-live")
        steps = console.locator("#step option").evaluate_all("(options) => options.map((o) => o.value)")
        assert len(steps) >= 4
        console.locator("#show-step").click()
        shown = presenter.locator("#lesson")
        expect(shown).to_have_attribute("data-shown", f"celebrity-goes-live/{steps[0]}")
        presenter.evaluate(PRESS, ["PageDown", "PageDown"])       # two steps on, not one twice
        expect(console.locator("#step")).to_have_value(steps[2])
        expect(shown).to_have_attribute("data-shown", f"celebrity-goes-live/{steps[2]}")
        presenter.evaluate(PRESS, ["PageDown", "PageUp", "PageUp"])   # back to one before it
        expect(console.locator("#step")).to_have_value(steps[1])
        expect(shown).to_have_attribute("data-shown", f"celebrity-goes-live/{steps[1]}")
        # The console moves the class: the presenter's next press starts from there.
        console.locator("#step").select_option(steps[3])
        console.locator("#show-step").click()
        expect(shown).to_have_attribute("data-shown", f"celebrity-goes-live/{steps[3]}")
        presenter.evaluate(PRESS, ["PageUp"])
        expect(console.locator("#step")).to_have_value(steps[2])
        assert console.js_errors == [] and presenter.js_errors == []
    finally:
        for ctx in pages:
            ctx.close()


def longest(texts: dict[str, str]) -> str:
    """The key of the longest text (ties: the first)."""
    return max(texts, key=lambda k: len(texts[k]))


COURSE = load_course()
# The lesson step whose line on the presenter is the longest, and the longest question a lesson asks.
LONGEST_STEP = longest({(lesson.id, step.id): f"{lesson.title} — {step.title}"
                        for lesson in COURSE.lessons for step in lesson.steps})
LONGEST_QUESTION = longest({lesson.id: lesson.prediction.question + "".join(c.text for c in lesson.prediction.choices)
                            for lesson in COURSE.lessons if lesson.prediction})
FITS = [(PROJECTORS[0], True), (PROJECTORS[1], True), (PROJECTORS[0], False)]


@pytest.mark.parametrize(("viewport", "compare"), FITS,
                         ids=lambda v: (f"{v['width']}x{v['height']}" if isinstance(v, dict) else "compare" if v else "one-run"))
def test_presenter_fits_a_projector_with_the_longest_step_and_question(browser, live_server, viewport, compare):
    """Every state of a class on one screen: the run (compare mode: A and B side by side) under the
    longest lesson step, then the longest question beside it while the run is paused mid-herd, then
    the answers with the run's result. The stage(s), the cards, every chart, the join strip and the
    class's answers stay inside the screen, no text is cut and the stage is readable."""
    height = viewport["height"]
    size = f"{viewport['width']}x{height}-{'compare' if compare else 'one-run'}"
    pages: list = []
    try:
        console, presenter = console_and_presenter(browser, live_server, pages, viewport)
        lesson, step = LONGEST_STEP
        console.locator("#lesson").select_option(lesson)
        console.locator("#step").select_option(step)
        console.locator("#show-step").click()
        expect(presenter.locator("#lesson")).to_contain_text(COURSE.lesson(lesson).title)
        if compare:
            console.locator('#lab [data-role="compare"]').click()
        console.evaluate("window.herdlabRoom.lab.control('speed', 2)")
        console.locator('#lab [data-role="play"]').click()
        presenter.wait_for_function(f"window.herdlab.compare === {str(compare).lower()} && window.herdlab.t > 4 "
                                    "&& window.herdlab.sample?.queued > 20", timeout=20_000)
        console.get_by_role("button", name="Pause").click()
        presenter.wait_for_function("window.herdlab.status === 'paused'")
        assert_fits(presenter, viewport, [*EVERYTHING, ".cr-lesson"])
        assert presenter.locator('#lab [data-role="stage-b"]').is_visible() == compare
        # The longest question, asked mid-run: it is answered by this run's result.
        console.evaluate(f"window.herdlabRoom.socket.emit('predict', {{lesson: '{LONGEST_QUESTION}'}})")
        expect(presenter.locator("#tally h2")).to_contain_text(COURSE.lesson(LONGEST_QUESTION).prediction.question[:40])
        assert_fits(presenter, viewport, EVERYTHING)
        assert_stage_is_readable(presenter)
        assert serious(presenter) == []
        presenter.screenshot(path=str(ARTIFACTS / f"presenter-{size}-question.png"))
        console.evaluate("window.herdlabRoom.lab.control('speed', 20)")   # what is left, quickly
        console.get_by_role("button", name="Resume").click()
        expect(presenter.locator("#tally .cr-result")).to_contain_text("The run says", timeout=30_000)
        presenter.wait_for_function("window.herdlab.status === 'finished'")
        assert_fits(presenter, viewport, [*EVERYTHING, "#tally .cr-result", "#tally li.right"])
        assert_stage_is_readable(presenter)
        presenter.screenshot(path=str(ARTIFACTS / f"presenter-{size}-answers.png"))
        for page in (console, presenter):
            assert page.js_errors == []
    finally:
        for ctx in pages:
            ctx.close()
