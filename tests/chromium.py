"""One headless Chromium for the whole test session, whichever directory's tests ask first.

Playwright's sync API runs one event loop per thread, so a second ``sync_playwright()`` while the
first is alive fails ("using Playwright Sync API inside the asyncio loop"). The browser tests and
the real-systems page test each have a ``browser`` fixture; both take this one browser through
``acquire``/``release``, and it closes when the last user lets go.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium headless shell first (package ``chromium-headless-shell``, built from the
    same Chromium source): the full browser's headless mode also runs its own browser-UI renderer
    (``top-chrome-webui``), which took 15-40% of a core beside every page. The shell is what
    Playwright itself runs headless; measured on this suite's browser files, the same tests used
    25-44% less CPU. Full ``chromium`` if the shell is not there; ``HERDLAB_CHROMIUM`` overrides."""
    return (os.environ.get("HERDLAB_CHROMIUM") or shutil.which("chromium-headless-shell")
            or shutil.which("chromium") or shutil.which("chromium-browser"))


class PageBrowser:
    """The browser, whose new contexts and pages let Playwright's own scripts run under the app's CSP.

    ``script-src 'self'`` (no ``'unsafe-eval'``) forbids what Playwright does to evaluate a string
    predicate (``wait_for_function("window.herdlab.t > 1")``), so tests open pages with
    ``bypass_csp``. ``test_csp.py`` opens every page *without* it and asserts the page itself breaks
    no rule of its policy.
    """

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options):
        return self._browser.new_context(**{"bypass_csp": True, **options})

    def new_page(self, **options):
        return self._browser.new_page(**{"bypass_csp": True, **options})

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


class _Shared:
    users = 0
    playwright: Any = None
    browser: PageBrowser | None = None


def acquire(path: str) -> PageBrowser:
    """The session's browser (launched on first use from ``path``)."""
    if _Shared.browser is None:
        from playwright.sync_api import sync_playwright

        _Shared.playwright = sync_playwright().start()
        launched = _Shared.playwright.chromium.launch(executable_path=path, headless=True,
                                                      args=CHROMIUM_ARGS)
        _Shared.browser = PageBrowser(launched)
    _Shared.users += 1
    return _Shared.browser


def release() -> None:
    _Shared.users -= 1
    if _Shared.users == 0 and _Shared.browser is not None:
        _Shared.browser.close()
        _Shared.playwright.stop()
        _Shared.browser = _Shared.playwright = None
