"""Every page works under the app's Content Security Policy (issue 9, contract item 8): opened without
Playwright's CSP bypass, no page breaks a rule of its policy (no inline script or style, no eval),
and the lab, which draws with scripts and styles set from JavaScript, still runs."""
from __future__ import annotations

import pytest

PAGES = ["/", "/lessons", "/lessons/many-servers", "/lab", "/classroom", "/classroom/present", "/join", "/glossary"]
WATCH = """() => { window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`)); }"""


@pytest.mark.parametrize("path", PAGES)
def test_page_keeps_its_content_security_policy(browser, live_server, path):
    context = browser.new_context(bypass_csp=False, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.add_init_script(f"({WATCH})()")
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        if path == "/lab":
            page.get_by_role("button", name="Run the experiment").click()
            page.locator('[data-role="summary"]').filter(has_text="Running").wait_for()
        assert page.evaluate("window.cspViolations") == []
        assert refused == [] and errors == []
    finally:
        context.close()
