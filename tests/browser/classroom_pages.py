"""What the classroom browser tests do with their pages: watch a page for JavaScript errors, open the
console until it shows its room's code, and open the presenter window from it at a projector's size."""
from __future__ import annotations

import re

from playwright.sync_api import expect

CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")


def watch(page, timeout_ms: int = 20_000):
    """Collect the page's JavaScript errors in ``page.js_errors`` (tests assert there are none)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.set_default_timeout(timeout_ms)
    return page


def open_console(page, url: str) -> str:
    """The instructor's console at ``url``, once it shows its new room; the room's display code."""
    page.goto(url + "/classroom")
    expect(page.locator("#code")).to_have_text(CODE)
    return page.locator("#code").inner_text()


def open_presenter(console, viewport: dict):
    """The presenter window the console opens (it inherits the room's token), sized as a projector,
    once it shows the room's code."""
    with console.expect_popup() as popup:
        console.locator("#present").click()
    presenter = watch(popup.value)
    presenter.set_viewport_size(viewport)
    expect(presenter.locator("#code")).to_have_text(console.locator("#code").inner_text())
    return presenter
