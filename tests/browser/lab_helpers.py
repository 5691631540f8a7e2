"""What several browser test files do with a lab: open it, run it, read its cards, feed it protocol
messages as a server would, and check that what it draws fits where it is drawn."""
from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

FINISHED = "window.herdlab.status === 'finished'"
# A run whose worker cannot compute it as fast as the page asks (20x) plays what is computed, so
# its length follows the machine's load. A million viewers costs its worker about 11 CPU s: the
# capstone's deep link took 15 s alone, 46-59 s in the whole suite on this slow VM, 77 s and more
# than 90 beside a busy core; drake-live at 20x 31-45 s in the suite, 75 beside a busy core; the
# metastable run 19-37 s. A generous deadline on the state, and a test timeout above it (the
# suite's is 120 s).
HEAVY_RUN_MS = 200_000
HEAVY_TEST_S = 300

# Every label the stage drew in its last frame must stay inside its box and the canvas, and no two
# may overlap (1 px of anti-aliasing allowed).
LABEL_PROBLEMS = """() => {
  const labels = window.herdlab.stageLabels();
  const out = [];
  for (const l of labels) {
    if (l.x0 < l.box.x0 - 1 || l.x1 > l.box.x1 + 1) out.push(`outside its box: ${l.text}`);
    if (l.x0 < -1 || l.x1 > l.width + 1 || l.y0 < -1 || l.y1 > l.height + 2) out.push(`off the canvas: ${l.text}`);
    if (l.lines.some((line) => line.endsWith("…"))) out.push(`shortened: ${l.text}`);
  }
  for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
    const a = labels[i], b = labels[j];
    if (a.x0 < b.x1 - 1 && b.x0 < a.x1 - 1 && a.y0 < b.y1 - 1 && b.y0 < a.y1 - 1) out.push(`overlap: ${a.text} / ${b.text}`);
  }
  return out;
}"""

# Elements whose text is cut (more content than room): cards, legend, bar, controls, tallies.
CUT_TEXT = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.className || el.tagName}: ${el.textContent.trim().slice(0, 60)}`)"""


def open_lab(page, live_server, query: str = "") -> None:
    page.goto(f"{live_server.url}/lab{query}")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    page.locator('[data-control="preset"]').wait_for()


def run_to_end(page, timeout_ms: int = 40_000) -> dict:
    page.get_by_role("button", name="Run the experiment").click()
    return wait_finished(page, timeout_ms)


def wait_finished(page, timeout_ms: int = 40_000) -> dict:
    """Until the run is done and the page (throttled to 10 updates/s) shows the final numbers."""
    page.wait_for_function(FINISHED, timeout=timeout_ms)
    expect(page.locator('[data-role="summary"]')).to_contain_text("Finished.")
    return page.evaluate("window.herdlab.lastSummary")


def run_then_pause(page, until: str, settle_ms: int = 0) -> None:
    """Run, pause as soon as `until` holds, and let the dots settle where they are."""
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_function(until, timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function("window.herdlab.status === 'paused'")
    page.wait_for_timeout(settle_ms)


def card(page, name: str) -> str:
    return page.locator(f'[data-card="{name}"] .lab-card-value').inner_text()


def card_note(page, name: str) -> str:
    return page.locator(f'[data-card="{name}"] .lab-card-note').inner_text()


def number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text.split("·")[0]) or 0)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lab-{name}.png"))


def label_problems(page) -> list[str]:
    return page.evaluate(LABEL_PROBLEMS)


def cut_text(page, selector: str) -> list[str]:
    return page.evaluate(CUT_TEXT, selector)


def stage_texts(page) -> list[str]:
    return page.evaluate("window.herdlab.stageLabels().map((l) => l.lines.join(' '))")


def feed(page, name: str, payload: dict[str, Any]) -> None:
    """Hand the page's lab one protocol message, exactly as its socket would."""
    page.evaluate("([name, payload]) => window.herdlab.lab.applyRemote(name, payload)", [name, payload])


def started(run_id: str = "synthetic", **over: Any) -> dict[str, Any]:
    """A `started` message for a synthetic run (the page's own schema decodes dict events as-is)."""
    scenario = {"duration_s": 4.0, "clients": {"count": 300}, "servers": {"count": 1},
                "cache": {"enabled": True, "ttl_s": 60.0}, "datastore": {"connections": 4},
                "strategy": {"coalesce": "none", "lease_ms": 5000}}
    msg = {"run_id": run_id, "scenario": scenario, "compare": None, "speed": 1.0, "viewers": 300,
           "duration_s": 4.0, "dot_scale": 1, "frame_hz": 30}
    msg.update(over)
    return msg


def sample(t: float, **fields: Any) -> dict[str, Any]:
    """A `sample` event with every counter at 0 unless given."""
    base = {"t": t, "kind": "sample", "req": None, "viewer": None, "server": None, "key": None,
            "queued": 0, "in_service": 0, "utilisation": 0.0, "state": "up", "arrived": 0, "completed": 0,
            "errors": 0, "timeouts": 0, "retries": 0, "db_queries": 0, "db_rejected": 0, "db_failed": 0,
            "coalesced": 0, "cache_hits": 0, "cache_misses": 0, "stale_served": 0, "inflight_requests": 0,
            "responses": 0, "rps": 0.0, "lat_p50_ms": None, "lat_p99_ms": None}
    base.update(fields)
    return base


def event(t: float, kind: str, req: int | None = None, viewer: int | None = None, server: int | None = 0,
          key: str | None = "key-0", **fields: Any) -> dict[str, Any]:
    return {"t": t, "kind": kind, "req": req, "viewer": viewer if viewer is not None else req,
            "server": server, "key": key, **fields}


def record_playback(page) -> None:
    """From now on, note the lab's status, t and timeline length on every animation frame (the
    page's own clock, so no frame between two Python polls is missed); read with `playback`."""
    page.evaluate("""() => {
      const seen = window.__playback = [];
      const note = () => {
        const h = window.herdlab, last = seen[seen.length - 1];
        const row = [h.status, h.t, h.length, h.endS, h.heavy, document.querySelector('[data-role="pace"]')?.hidden === false
                     ? document.querySelector('[data-role="pace"]').textContent : ""];
        if (!last || row.some((v, i) => v !== last[i])) seen.push(row);
        if (seen.length < 20000) requestAnimationFrame(note);
      };
      requestAnimationFrame(note);
    }""")


def playback(page) -> list[list]:
    """What `record_playback` saw: [status, t, length, endS, heavy, pace text] at each change."""
    return page.evaluate("window.__playback")


def seek_and_pause(page, t: float) -> None:
    """Scrub the timeline to t as a student would (drag, release) and wait until the run is paused
    there with the state at t drawn."""
    page.evaluate("window.herdlab.lab.store.resumedAt = null")
    page.locator('[data-role="scrub"]').evaluate(
        "(el, t) => { el.value = t; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }", t)
    # The `state` (paused at t) comes just before the resume frame that carries the state at t.
    page.wait_for_function(f"window.herdlab.status === 'paused' && window.herdlab.resumedAt === {t}", timeout=20_000)
    drawn(page)


def drawn(page) -> None:
    """Until the stage has drawn the store as it is now (the next two animation frames)."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


# Story mode: every caption change, with the page's own clock, so no hold is missed between two
# Python polls: [caption, now (ms), t, status] (read with `held_spans`). Noted at the end of each of
# the lab's own frames, where a caption changes: a frame loop of its own would run before or after
# the lab's, in no set order, and might see a change a frame late.
RECORD_CAPTIONS = """() => {
  const seen = window.__captions = [];
  window.herdlab.afterFrame((now) => {
    const c = window.herdlab.caption, last = seen[seen.length - 1];
    if (!last || last[0] !== c || last[3] !== window.herdlab.status) seen.push([c, now, window.herdlab.t, window.herdlab.status]);
  });
}"""


# What the page shows on every frame while a promise's answer is captioned ("One query answered
# ..."), in `window.__answered`: a test that runs axe during the hold's first part reads the
# second from here, since on a busy machine both parts can be over before axe is.
RECORD_ANSWERED = """() => {
  const seen = window.__answered = [];
  window.herdlab.afterFrame(() => {
    const h = window.herdlab;
    if (!h.caption?.startsWith("One query answered")) return;
    const coalesced = document.querySelector('[data-card="coalesced"] .lab-card-value')?.innerText ?? "";
    seen.push({ t: h.t, sampleT: h.sample?.t, status: h.status, coalesced });
  });
}"""


def held_spans(page) -> list[tuple[float, float, float, set]]:
    """[(wall ms held, t at start, t at end, statuses seen)] for each stretch with a caption on
    screen, as `RECORD_CAPTIONS` saw them."""
    seen = page.evaluate("window.__captions")
    spans, start, statuses = [], None, set()
    for text, now, t, status in seen:
        if text is not None and start is None:
            start, statuses = (now, t), set()
        if text is not None:
            statuses.add(status)
        elif start is not None:
            spans.append((now - start[0], start[1], t, statuses))
            start = None
    return spans
