// The code lights up: the strategy source a lesson step shows highlights the branch the followed
// request is in now, driven by that request's own events and the module's lines map (lessons L3:
// `event_lines(module)` = {"kind:role" | "kind:source" | "kind": [{line, end_line, branch, function}]},
// found from the module's AST on the server). No second copy of the strategy's logic lives here:
// an event names the lines that made it. Followed: the request the student chose on the stage (or
// whose lifecycle is open), else the leader of the latest fetch, else the newest request on stage.

const EVERY_MS = 120;          // at most ~8 updates a second: the eye follows a line, not a flicker
/** A module and the scenario key that turns it on, for the modules that are not a coalescing mode. */
const SWITCH_OF = {
  stale_while_revalidate: "strategy.stale_while_revalidate", early_refresh: "strategy.early_refresh_beta",
  ttl_jitter: "cache.ttl_jitter", backoff: "clients.backoff", retry_budget: "clients.retry_budget", prewarm: "strategy.prewarm",
};
const OFF = { "strategy.stale_while_revalidate": false, "strategy.early_refresh_beta": 0, "cache.ttl_jitter": 0,
              "clients.backoff": "none", "clients.retry_budget": 0, "strategy.prewarm": false };

/** The lines an event ran, from the map: `kind:role`, then `kind:source`, then `kind`. */
export function linesFor(map, ev) {
  if (!map || !ev) return null;
  if (ev.source === "cache" || ev.source === "stale") return null;     // answered by the cache: no strategy code ran
  return map[`${ev.kind}:${ev.role}`] ?? map[`${ev.kind}:${ev.source}`] ?? map[ev.kind] ?? null;
}

function get(nested, dotted) {
  return dotted.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), nested);
}

export class CodeLight {
  /**
   * @param {HTMLElement} figure  a `.code-beside` figure (Pygments HTML, inline line numbers)
   * @param {object} lab  the lesson's lab handle (store, chosenRequest)
   * @param {object|null} map  the module's lines map (page JSON `code_lines`), or null: nothing lights up
   */
  constructor(figure, lab, map) {
    this.figure = figure;
    this.module = figure.dataset.code;
    this.lab = lab;
    this.map = map;
    this.linenos = [...figure.querySelectorAll(".linenos")];
    this.scroll = figure.querySelector(".code-scroll");
    this.band = document.createElement("div");
    this.band.className = "code-lit";
    this.band.hidden = true;
    this.scroll.prepend(this.band);
    this.say = document.createElement("p");
    this.say.className = "code-follow";
    this.say.setAttribute("aria-live", "polite");
    figure.append(this.say);
    this.followed = null;
    this.lit = null;            // "first-last" of the lines lit
    this.seen = -1;
    this.last = 0;
    this.say.textContent = map ? "Run the experiment: the line the followed request is running lights up here." : "";
    if (map && this.linenos.length) requestAnimationFrame((now) => this.loop(now));
  }

  /** Is this module the one the run uses (its coalescing mode, or a switch that is on)? */
  runs(scn) {
    if (!scn) return false;
    if (get(scn, "strategy.coalesce") === this.module) return true;
    const key = SWITCH_OF[this.module];
    return !!key && get(scn, key) !== undefined && get(scn, key) !== OFF[key];
  }

  loop(now) {
    requestAnimationFrame((t) => this.loop(t));
    const store = this.lab.store;
    if (now - this.last < EVERY_MS || store.version === this.seen) return;
    this.last = now;
    this.seen = store.version;
    this.update(store);
  }

  /** The request to follow now, its dot, and the event (its latest with lines in the map). */
  pick(store) {
    const dots = store.a.dots;
    const chosen = this.lab.chosenRequest?.();
    const candidates = [];
    if (chosen !== null && chosen !== undefined) candidates.push(chosen);
    if (this.followed !== null) candidates.push(this.followed);
    let leader = null, newest = null;
    for (const dot of dots.values()) {
      if (dot.leader && dot.endT === null && (!leader || dot.since > leader.since)) leader = dot;
      if (!newest || dot.req > newest.req) newest = dot;
    }
    // A followed request keeps the light until it is retired; then the newest leader, or request.
    const order = chosen !== null && chosen !== undefined ? [chosen] : [this.followed, leader?.req, newest?.req];
    for (const req of order) {
      const dot = req === null || req === undefined ? null : dots.get(req);
      if (!dot) continue;
      for (let i = dot.recent.length - 1; i >= 0; i--) {
        const lines = linesFor(this.map, dot.recent[i]);
        if (lines) return { dot, ev: dot.recent[i], lines };
      }
    }
    return null;
  }

  update(store) {
    if (!store.runId || !this.runs(store.scenario)) {
      if (store.runId) this.show(null, `This run does not use ${this.module}.py: run an experiment that does to see its lines light up.`);
      return;
    }
    const found = this.pick(store);
    if (!found) return;                     // keep the last light while nothing new is on stage
    this.followed = found.dot.req;
    const spot = found.lines[0];
    const role = found.dot.leader ? "the leader" : found.ev.kind === "promise_wait" || found.dot.state === "wait" ? "a waiter" : "a request";
    this.show(spot, `Request ${found.dot.req} (${role}) at t = ${found.ev.t.toFixed(3)} s: ${found.ev.kind.replace(/_/g, " ")}, `
      + `line ${spot.line}${spot.end_line > spot.line ? `–${spot.end_line}` : ""} in ${spot.function}.`);
  }

  /** Light the lines of `spot` ({line, end_line}) and say so; null clears the light. */
  show(spot, text) {
    const key = spot ? `${spot.line}-${spot.end_line}` : null;
    if (this.say.textContent !== text) this.say.textContent = text;
    if (key === this.lit) return;
    this.lit = key;
    for (const el of this.figure.querySelectorAll(".linenos.is-lit")) el.classList.remove("is-lit");
    this.figure.dataset.lit = key ?? "";
    if (!spot) { this.band.hidden = true; return; }
    const first = this.linenos[spot.line - 1], last = this.linenos[Math.min(this.linenos.length, spot.end_line) - 1] ?? first;
    if (!first) { this.band.hidden = true; return; }
    for (let i = spot.line - 1; i < Math.min(this.linenos.length, spot.end_line); i++) this.linenos[i].classList.add("is-lit");
    // A long line wraps (pre-wrap): the lit band ends where the next line begins.
    const after = this.linenos[Math.min(this.linenos.length, spot.end_line)];
    const top = first.offsetTop, bottom = after ? after.offsetTop : last.offsetTop + last.offsetHeight;
    this.band.style.top = `${top}px`;
    this.band.style.height = `${Math.max(bottom - top, first.offsetHeight)}px`;
    this.band.hidden = false;
    // Bring the lit line into view inside the code box only (never scroll the page).
    const box = this.scroll;
    if (top < box.scrollTop || bottom > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top - box.clientHeight / 3);
  }
}
