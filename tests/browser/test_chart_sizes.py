"""The charts follow their container's width on a paused run: a window resized, a phone turned or
presentation mode entered while nothing plays rebuilds them to fit (they used to keep the width
they were drawn at, as the lab redrew them only when the run's data changed: a narrow chart beside
empty room, or charts wider than their box)."""
from __future__ import annotations

from tests.browser.lab_helpers import open_lab, shot

# Each chart inside its box and its box inside the charts' row, nothing scrolling sideways, and
# each plot as wide as its box lets it be (the plot is its box's width less 12 px of padding).
FIT = """() => {
  const row = document.querySelector('[data-role="charts"]');
  const box = row.getBoundingClientRect();
  const out = [];
  if (row.scrollWidth > row.clientWidth + 1) out.push(`the row scrolls: ${row.scrollWidth} > ${row.clientWidth}`);
  const figures = [...row.querySelectorAll('.lab-chart')];
  if (figures.length !== 4) out.push(`${figures.length} charts`);
  for (const fig of figures) {
    const f = fig.getBoundingClientRect(), plot = fig.querySelector('canvas').getBoundingClientRect();
    const name = fig.querySelector('figcaption').textContent;
    if (f.left < box.left - 1 || f.right > box.right + 1) out.push(`${name}: outside the row`);
    if (plot.left < f.left - 1 || plot.right > f.right + 1) out.push(`${name}: plot ${plot.width} wider than its box ${f.width}`);
    if (plot.width < f.width - 16) out.push(`${name}: plot ${plot.width} narrow in its box ${f.width}`);
  }
  return out;
}"""
FITS = f"({FIT})().length === 0"


def test_a_paused_runs_charts_fit_a_laptop_a_phone_and_a_projector(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=2")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 2", timeout=60_000)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function("window.herdlab.status === 'paused' && window.herdlab.sample?.t === window.herdlab.t")
    t = page.evaluate("window.herdlab.t")
    wait_fit(page, "1440x900")
    page.set_viewport_size({"width": 390, "height": 844})          # a phone
    wait_fit(page, "390x844")
    shot(page, "paused-charts-phone")
    page.set_viewport_size({"width": 1280, "height": 720})         # a projector, presentation mode
    page.evaluate("document.activeElement?.blur()")
    page.keyboard.press("p")
    page.wait_for_function("window.herdlab.presentation === true")
    wait_fit(page, "1280x720 presentation")
    shot(page, "paused-charts-presentation")
    # Still the same paused instant, and the rebuilt charts still show the run up to it.
    assert page.evaluate("[window.herdlab.status, window.herdlab.t]") == ["paused", t]
    points = page.evaluate("window.herdlab.lab.store.a.series.t.length")
    assert points > 10 and page.evaluate("window.herdlab.lab.store.a.series.t.at(-1)") == t
    assert page.js_errors == []


def wait_fit(page, label: str) -> None:
    """Until the charts fit (a resize is seen in the next animation frames), else say what does not."""
    try:
        page.wait_for_function(FITS, timeout=10_000)
    except Exception:
        raise AssertionError((label, page.evaluate(FIT))) from None
