"""The real-systems pictures, taken from the real app against real services (not a test: it
writes into docs/img/). Needs PostgreSQL, Redis and Chromium, like ``make test``.

    .venv/bin/python -m tests.real.screenshots [--out docs/img]

real-live.png: a real run (the herd, no mitigation) paused mid-way at 1440x900;
real-beside.png: a promise per app server beside the simulation, finished, with the verdict;
real-phone.png: the same run on a 390x844 phone, the screen showing the verdict.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.browser.conftest import CHROMIUM_ARGS, ROOT, LiveServer, chromium_path
from webapp.real.services import Services

LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def live(browser, url: str, out: Path) -> None:
    page = browser.new_page(viewport=LAPTOP, bypass_csp=True)   # string predicates
    page.goto(url + "/real")
    page.get_by_label("Beside the simulation of the same arrivals").uncheck()
    page.get_by_label("The herd").check()
    page.locator('[data-role="play"]').click()
    # until PostgreSQL is busy (how soon depends on the machine: the run is real)
    page.wait_for_function("(window.herdlab.sample?.in_service ?? 0) >= 30", timeout=60_000)
    page.locator('[data-role="play"]').click()
    page.wait_for_function("window.herdlab.status === 'paused'")
    page.wait_for_timeout(900)
    page.screenshot(path=str(out / "real-live.png"))
    page.close()


def beside(browser, url: str, out: Path, viewport: dict, name: str, full: bool) -> None:
    """Run it, wait for the verdict; a phone's picture is the screen around the verdict."""
    page = browser.new_page(viewport=viewport, bypass_csp=True)
    page.goto(url + "/real")
    page.get_by_label("A promise per app server").check()
    page.locator('[data-role="play"]').click()
    verdict = page.locator('[data-role="verdict"]')
    verdict.wait_for(state="visible", timeout=90_000)
    page.wait_for_timeout(1200)
    if not full:
        verdict.scroll_into_view_if_needed()
    page.screenshot(path=str(out / name), full_page=full)
    page.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    path = chromium_path()
    if not path:
        raise SystemExit("Chromium is not installed (apt-get install chromium-headless-shell)")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with Services(ROOT / ".herdlab" / "pictures") as services:
        server = LiveServer({"HERDLAB_DATA_DIR": str(services.root)})
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=path, headless=True,
                                             args=CHROMIUM_ARGS)
                live(browser, server.url, args.out)
                beside(browser, server.url, args.out, LAPTOP, "real-beside.png", full=True)
                beside(browser, server.url, args.out, PHONE, "real-phone.png", full=False)
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
