"""Accessibility checks with axe-core (Deque, MPL-2.0), run inside the real page in Chromium.

axe-core is a test dependency, not a page asset: it is vendored under ``tests/vendor/`` (with its
licenses) and injected with Playwright's ``add_script_tag(content=...)``, so the app's pages never
load it and the check needs no network. Browser tests call ``serious(page)`` in each state they
visit and assert it is empty: a serious or critical violation is a failure, a minor one is not.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
BLOCKING = ("serious", "critical")


@lru_cache(maxsize=1)
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page: Any, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """The page's axe violations of the given impacts, each as ``{id, impact, help, nodes}`` with
    the first few offending selectors, so a failing assertion says what and where."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=_source())
    result = page.evaluate(
        "async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(n["target"]) for n in v["nodes"][:5]]}
            for v in result if v["impact"] in impacts]


def serious(page: Any) -> list[dict[str, Any]]:
    """Serious and critical violations only (what the suite fails on)."""
    return violations(page)
