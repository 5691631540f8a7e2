"""The README's pictures, taken from the real app (not a test: it writes into docs/img/).

    .venv/bin/python -m tests.browser.screenshots [--out docs/img]

lab.png: compare mode mid-herd at 1440x900; lesson.png: lesson 1's run mid-crash; classroom.png: the
presenter screen at 1280x720 with the class's answers; presentation.png: presentation mode at
1280x720; phone.png: a student following on a 390x844 phone.

Held moments (issue 19; `--only held`, best into a scratch folder: `--out /tmp/held`): each held
moment of lessons 1, 5, 6, 9 and 10 (HELD) at 1366x768, 1280x720 in presentation mode and 390x844.

Story mode (issue 11; `--only story`): story.png, lesson 5's run held on the promise resolving
with its caption (1440x900); story-presentation.png (1280x720, presentation mode) and
story-phone.png (390x844) the same in /lab; intervention.png, a run with a server killed mid-run
(its dots failing over to the others); compare-any.png, lock (A) against promise (B); code.png,
lesson 5's promise.py lit on the line the chosen waiter runs; home.png and home-phone.png, the
home page's live herd.

Ends of runs (issue 19; `--only ends`, into a scratch folder): /lab (one run, and compare mode),
every lesson's first experiment and the home page's herd, each at the end of its run, at 1440x900,
1280x720 in presentation mode and 390x844: what is drawn there must agree with the run's numbers.
Each picture's name says the page, and a line per picture prints the run's summary to check it by.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tests.browser.conftest import ROOT, server_and_browser

LAPTOP = {"width": 1440, "height": 900}
PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


def lab_picture(browser, url: str, viewport: dict, path: str, ready: str, until: str, out: Path,
                presentation: bool = False, before_run=None) -> None:
    """Open `path`, run until `until` holds, pause, let the dots settle and take the picture."""
    page = browser.new_page(viewport=viewport)
    page.goto(url + path)
    page.locator(ready).wait_for()
    if presentation:
        page.keyboard.press("p")
    if before_run:
        before_run(page)
    page.locator('[data-role="play"]').first.click()
    page.wait_for_function(until, timeout=60_000)
    page.locator('[data-role="play"]').first.click()
    page.wait_for_function("window.herdlab.status === 'paused'")
    page.wait_for_timeout(900)
    page.screenshot(path=str(out))
    page.close()


def predict(page) -> None:
    """Lesson 1: commit to an answer, so the picture shows the prediction beside the run."""
    page.locator('input[name="prediction"][value="2"]').check()
    page.locator('[data-role="lock"]').click()
    page.locator('[data-role="prediction"]').scroll_into_view_if_needed()


def lab_pictures(browser, url: str, out: Path) -> None:
    lab_picture(browser, url, LAPTOP, "/lab?preset=classroom&compare=1", '[data-control="preset"]',
                "window.herdlab.t > 4.6", out / "lab.png")
    lab_picture(browser, url, PROJECTOR, "/lab?preset=classroom", '[data-control="preset"]',
                "window.herdlab.t > 4.7", out / "presentation.png", presentation=True)
    lab_picture(browser, url, LAPTOP, "/lessons/celebrity-goes-live", '#lab [data-role="play"]',
                "window.herdlab.t > 5.2", out / "lesson.png", before_run=predict)


def classroom_pictures(browser, url: str, out: Path) -> None:
    console = browser.new_page(viewport=LAPTOP)
    console.goto(url + "/classroom")
    console.locator("#code").filter(has_text=re.compile(r"^[A-Z2-9]{4}-")).wait_for()
    with console.expect_popup() as popup:
        console.locator("#present").click()
    presenter = popup.value
    presenter.set_viewport_size(PROJECTOR)
    code = console.locator("#code").inner_text()
    phones = []
    for choice in (2, 2, 0, 2, 1):
        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{url}/join?code={code}")
        phone.locator("#room-view").wait_for()
        phones.append((phone, choice))
    console.locator("#lesson").select_option("celebrity-goes-live")
    console.locator("#show-step").click()
    console.locator("#predict").click()
    for phone, choice in phones:
        phone.locator("#choices button").nth(choice).click()
    presenter.locator("#tally").filter(has_text="5 answers").wait_for()
    console.evaluate("window.herdlabRoom.lab.control('speed', 1)")
    console.locator('[data-role="play"]').click()
    presenter.wait_for_function("window.herdlab.t > 4.8", timeout=60_000)
    presenter.screenshot(path=str(out / "classroom.png"))
    phones[0][0].wait_for_timeout(300)
    phones[0][0].screenshot(path=str(out / "phone.png"))


def held(browser, url: str, viewport: dict, path: str, out: Path, presentation: bool = False, load: str | None = None) -> None:
    """Run with the story on until it holds on a moment with its first caption; take the picture."""
    page = browser.new_page(viewport=viewport)
    page.goto(url + path)
    page.locator('[data-role="controls"] input').first.wait_for()
    if presentation:
        page.keyboard.press("p")
    if load:
        page.locator(load).click()
    page.locator('[data-role="canvas-a"]').scroll_into_view_if_needed()
    page.locator('[data-role="play"]').first.click()
    page.wait_for_function("window.herdlab.caption !== null && window.herdlab.status === 'paused' && window.herdlab.resumedAt !== null",
                           timeout=60_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(out))
    page.close()


LESSON_LAPTOP = {"width": 1366, "height": 768}
#: Each held moment of issue 19's lessons: (name, lesson, how the run starts: the prediction's Run or
#: a step's button).
HELD = [("l1-crash", "celebrity-goes-live", "predict"), ("l5-promise", "promises", "predict"),
        ("l6-promise", "many-servers", "predict"), ("l6-marker-b", "many-servers", "#step-marker .load-exp"),
        ("l9-overload", "retry-storms", "predict"), ("l9-second-wave", "retry-storms", "#step-waves .load-exp"),
        ("l10-overload", "metastable-failure", "predict")]


def held_moment(browser, url: str, viewport: dict, lesson: str, how: str, out: Path,
                presentation: bool = False) -> None:
    """A lesson's run, started as a student would, held on its moment: the picture once the
    caption is up (and placed)."""
    page = browser.new_page(viewport=viewport)
    page.goto(f"{url}/lessons/{lesson}?speed=2")
    page.locator('[data-role="controls"] input').first.wait_for()
    if how == "predict":
        page.locator('input[name="prediction"]').first.check()
        page.locator('[data-role="lock"]').click()
    else:
        page.locator(how).click()
    if presentation:                       # (the lesson's text is hidden then: buttons by script)
        page.locator('[data-role="presentation"]').click()
    if how == "predict":
        page.evaluate("document.querySelector('[data-role=run-prediction]').click()")
    else:
        page.evaluate("window.herdlabLesson.lab.start()")
    page.wait_for_function("window.herdlab.held !== null", timeout=120_000)
    page.locator('[data-role="caption"]').scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    page.screenshot(path=str(out))
    page.close()


def held_pictures(browser, url: str, out: Path) -> None:
    """Every held moment of HELD at 1366x768, 1280x720 in presentation mode and 390x844."""
    for name, lesson, how in HELD:
        for viewport, tag, presentation in ((LESSON_LAPTOP, "laptop", False), (PROJECTOR, "projector", True),
                                            (PHONE, "phone", False)):
            held_moment(browser, url, viewport, lesson, how, out / f"held-{name}-{tag}.png", presentation)


def intervention_picture(browser, url: str, out: Path) -> None:
    """Kill S2 mid-herd (by clicking it on the stage), then pause while its requests fail over."""
    page = browser.new_page(viewport=LAPTOP)
    page.goto(url + "/lab?preset=classroom&servers.count=3&clients.retries=2&speed=0.25")
    page.locator('[data-control="preset"]').wait_for()
    page.locator('[data-role="play"]').click()
    page.wait_for_function("window.herdlab.t > 0.08", timeout=30_000)
    target = page.locator('[data-role="targets-a"] button[data-kind="server"]').nth(1).bounding_box()
    page.mouse.click(target["x"] + target["width"] / 2, target["y"] + target["height"] * 0.85)
    page.get_by_role("button", name="✕ Kill S2").click()
    page.wait_for_function("window.herdlab.inputs.length > 0 || window.herdlab.error !== null", timeout=10_000)
    page.wait_for_timeout(700)
    page.locator('[data-role="play"]').click()
    page.wait_for_function("window.herdlab.status === 'paused'")
    page.wait_for_timeout(600)
    page.screenshot(path=str(out / "intervention.png"))
    page.close()


def compare_picture(browser, url: str, out: Path) -> None:
    lab_picture(browser, url, LAPTOP, "/lab?preset=classroom&strategy.coalesce=lock&compare=1&b.strategy.coalesce=promise&speed=0.25",
                '[data-control="preset"]', "window.herdlab.t > 0.15", out / "compare-any.png")


def code_picture(browser, url: str, out: Path) -> None:
    page = browser.new_page(viewport=LAPTOP)
    page.goto(url + "/lessons/promises?speed=0.1")
    page.locator('[data-role="controls"] input').first.wait_for()
    page.locator(".code-beside[data-code=promise]").scroll_into_view_if_needed()
    page.evaluate("window.herdlabLesson.lab.start()")
    page.wait_for_function("window.herdlab.dotsOnStage(500).some((d) => d[3] === 'wait') && window.herdlab.t > 0.15", timeout=30_000)
    page.locator('[data-role="play"]').click()
    page.wait_for_function("window.herdlab.status === 'paused'")
    page.wait_for_timeout(400)
    x, y, _, _ = next(d for d in page.evaluate("window.herdlab.dotsOnStage(500)") if d[3] == "wait")
    box = page.locator('[data-role="canvas-a"]').bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.locator('[data-role="lifecycle-close"]').click()
    page.wait_for_timeout(400)
    page.locator(".code-beside[data-code=promise] .code-follow").scroll_into_view_if_needed()
    page.screenshot(path=str(out / "code.png"))
    page.close()


def home_pictures(browser, url: str, out: Path) -> None:
    for viewport, name in ((LAPTOP, "home.png"), (PHONE, "home-phone.png")):
        page = browser.new_page(viewport=viewport)
        page.goto(url + "/")
        page.wait_for_function("window.herdlab.t > 1.3", timeout=20_000)
        if viewport is PHONE:
            page.locator(".home-herd").scroll_into_view_if_needed()
        page.screenshot(path=str(out / name))
        page.close()


def story_pictures(browser, url: str, out: Path) -> None:
    held(browser, url, LAPTOP, "/lessons/promises", out / "story.png", load="#step-code .load-exp")
    held(browser, url, PROJECTOR, "/lab?preset=classroom&strategy.coalesce=promise&story=1", out / "story-presentation.png", presentation=True)
    held(browser, url, PHONE, "/lab?preset=classroom&strategy.coalesce=promise&story=1", out / "story-phone.png")
    intervention_picture(browser, url, out)
    compare_picture(browser, url, out)
    code_picture(browser, url, out)
    home_pictures(browser, url, out)


#: Pages whose run is looked at once it has ended: (name, path, how the run starts).
ENDS = [("lab", "/lab?preset=classroom&speed=20", "play"),
        ("lab-compare", "/lab?preset=classroom&compare=1&speed=20", "play")]


def end_picture(browser, url: str, viewport: dict, path: str, start: str, out: Path,
                presentation: bool = False) -> str:
    """Run to its end (story off: nothing held), let the page settle; the picture, and the run's
    numbers as the engine summed them."""
    page = browser.new_page(viewport=viewport)
    page.goto(url + path)
    page.locator('#conn-state[data-state="connected"]').wait_for()
    page.locator('[data-role="controls"] input').first.wait_for()
    lab = "(window.herdlabLesson?.lab ?? window.herdlab.lab)"
    page.evaluate(f"{lab}.setStory(false)")
    if presentation:
        page.locator('[data-role="presentation"]').first.click()
    if start == "play":
        page.locator('[data-role="play"]').first.click()
    else:
        page.evaluate(f"{lab}.control('speed', 20); {lab}.start()")
    page.wait_for_function("window.herdlab.status === 'finished'", timeout=120_000)
    page.locator('[data-role="canvas-a"]').first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out))
    if viewport is PHONE:   # (a phone's page is long: its cards and its charts, each on screen)
        for part in ("cards", "charts"):
            page.locator(f'[data-role="{part}"]').first.evaluate("(el) => el.scrollIntoView()")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out.with_name(f"{out.stem}-{part}.png")))
    s = page.evaluate("window.herdlab.lastSummary")
    page.close()
    return (f"{out.name}: {s['requests']:,} requests, {s['completed']:,} answered, {s['errors']:,} errors, "
            f"{s['timeouts']:,} timeouts, {s['db_queries']:,} queries, peak {s['peak_db_inflight']:,}, "
            f"coalesced {s['coalesced']:,}, end {s.get('end_s', s.get('duration_s'))}")


def end_pictures(browser, url: str, out: Path) -> None:
    """ENDS and every lesson's first experiment, ended, at the three viewports; the summaries."""
    lessons = sorted(p for p in (ROOT / "lessons").glob("[0-9]*-*.md"))
    pages = list(ENDS)
    for lesson in lessons:
        slug = re.search(r"^id: (\S+)", lesson.read_text(), re.M).group(1)
        pages.append((lesson.stem, f"/lessons/{slug}", "start"))
    for name, path, start in pages:
        for viewport, tag, presentation in ((LAPTOP, "laptop", False), (PROJECTOR, "projector", True),
                                            (PHONE, "phone", False)):
            print(end_picture(browser, url, viewport, path, start, out / f"end-{name}-{tag}.png", presentation),
                  flush=True)
    home_pictures(browser, url, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--only", choices=["story", "held", "ends"], help="take only these pictures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with server_and_browser() as (browser, server):
        if args.only in ("held", "ends"):
            (held_pictures if args.only == "held" else end_pictures)(browser, server.url, args.out)
            print(f"wrote the pictures to {args.out}")
            return 0
        if args.only != "story":
            lab_pictures(browser, server.url, args.out)
            classroom_pictures(browser, server.url, args.out)
        story_pictures(browser, server.url, args.out)
    print(f"wrote the pictures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
