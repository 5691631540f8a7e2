"""The README's pictures, taken from the real app (not a test: it writes into docs/img/).

    .venv/bin/python -m tests.browser.screenshots [--out docs/img]

lab.png: compare mode mid-herd at 1440x900; lesson.png: lesson 1's run mid-crash; classroom.png: the
presenter screen at 1280x720 with the class's answers; presentation.png: presentation mode at
1280x720; phone.png: a student following on a 390x844 phone.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with server_and_browser() as (browser, server):
        lab_pictures(browser, server.url, args.out)
        classroom_pictures(browser, server.url, args.out)
    print(f"wrote lab, presentation, lesson, classroom and phone pictures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
