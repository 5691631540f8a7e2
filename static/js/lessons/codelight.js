// The code lights up: the strategy source a lesson step shows highlights the branch the followed
// request is in now, driven by that request's own events and the module's lines map (lessons L3:
// `event_lines(module)` = {"kind:role" | "kind:source" | "kind": [{line, end_line, branch, function}]},
// found from the module's AST on the server). No second copy of the strategy's logic lives here:
// an event names the lines that made it. Followed: the request the student chose on the stage (or
// whose lifecycle is open), else the leader of the latest fetch, else the newest request on stage;
// a leader is followed together with its waiters (a second light on the line they wait at).
//
// The stage draws a sample of the viewers, and some mechanisms act on viewers it does not draw (an
// early refresh, a stale-while-revalidate refresh, a retry): the engine counts every event each
// place of the code makes, drawn or not (the samples' `made`), so when no request on stage runs the
// module's code, the place that ran since the last look lights up with how many times it ran.

import { exactNow } from "../lab/render/stage.js";

const EVERY_MS = 120;          // at most ~8 updates a second: the eye follows a line, not a flicker
/** A module and the scenario key that turns it on, for the modules that are not a coalescing mode. */
const SWITCH_OF = {
  stale_while_revalidate: "strategy.stale_while_revalidate", early_refresh: "strategy.early_refresh_beta",
  ttl_jitter: "cache.ttl_jitter", backoff: "clients.backoff", retry_budget: "clients.retry_budget", prewarm: "strategy.prewarm",
};
const OFF = { "strategy.stale_while_revalidate": false, "strategy.early_refresh_beta": 0, "cache.ttl_jitter": 0,
              "clients.backoff": "none", "clients.retry_budget": 0, "strategy.prewarm": false };
/** States of a request waiting on another's fetch. */
const WAITING = new Set(["wait", "poll", "sleep", "marker"]);
/** What each counted event is, in words ("3 early refreshes"). */
const DOING = {
  "fetch_start:early_refresh": ["early refresh", "early refreshes"], "fetch_start:refresh": ["background refresh", "background refreshes"],
  "fetch_start:leader": ["leader's fetch", "leaders' fetches"], "fetch_start:direct": ["fetch", "fetches"],
  "respond:stale": ["stale answer", "stale answers"], stale_served: ["stale answer", "stale answers"],
  retry: ["retry", "retries"], retry_denied: ["retry refused", "retries refused"],
  promise_wait: ["wait on a promise", "waits on a promise"], lock_wait: ["wait for the lock", "waits for the lock"],
  lock_poll: ["poll", "polls"], marker_wait: ["wait on the marker", "waits on the marker"],
  "cache_set:prewarm": ["prewarm", "prewarms"],
};

/** The lines an event ran, from the map: `kind:role`, then `kind:source`, then `kind`. */
export function linesFor(map, ev) {
  if (!map || !ev) return null;
  if (ev.source === "cache" || ev.source === "stale" && !map["respond:stale"]) return null;   // no strategy code ran
  return map[`${ev.kind}:${ev.role}`] ?? map[`${ev.kind}:${ev.source}`] ?? map[ev.kind] ?? null;
}

function get(nested, dotted) {
  return dotted.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), nested);
}

const lineWords = (spot) => `line ${spot.line}${spot.end_line > spot.line ? `–${spot.end_line}` : ""} in ${spot.function}`;

export class CodeLight {
  /**
   * @param {HTMLElement} figure  a `.code-beside` figure (Pygments HTML, inline line numbers)
   * @param {object} lab  the lesson's lab handle (store, chosenRequest)
   * @param {object|null} map  the module's lines map (page JSON `code_lines`), or null: nothing lights up
   * @param {"a"|"b"} [side="a"]  the side of a pair whose requests it follows (its step names it)
   */
  constructor(figure, lab, map, side = "a") {
    this.figure = figure;
    this.module = figure.dataset.code;
    this.lab = lab;
    this.map = map;
    this.side = side;
    this.linenos = [...figure.querySelectorAll(".linenos")];
    this.scroll = figure.querySelector(".code-scroll");
    this.bands = [this.band(), this.band()];     // the followed request, and the ones waiting on it
    this.say = document.createElement("p");
    this.say.className = "code-follow";
    this.say.setAttribute("aria-live", "polite");
    figure.append(this.say);
    this.followed = null;
    this.litKey = null;         // what is lit, as a key
    this.seen = -1;
    this.last = 0;
    this.counted = { run: null, t: 0, made: {} };   // the engine's counts at the last look
    this.say.textContent = map ? "Run the experiment: the line the followed request is running lights up here." : "";
    figure.dataset.litBy = "";
    this.raf = 0;
    if (map && this.linenos.length) {
      lab.store.watch(() => this.wake());      // asleep while the store does not change
      this.wake();
    }
  }

  /** Look again in the next animation frame (one request at a time). */
  wake() {
    this.raf ||= requestAnimationFrame((now) => this.loop(now));
  }

  band() {
    const band = document.createElement("div");
    band.className = "code-lit";
    band.hidden = true;
    this.scroll.prepend(band);
    return band;
  }

  /** Is this module the one the run uses (its coalescing mode, or a switch that is on)? */
  runs(scn) {
    if (!scn) return false;
    if (get(scn, "strategy.coalesce") === this.module) return true;
    const key = SWITCH_OF[this.module];
    return !!key && get(scn, key) !== undefined && get(scn, key) !== OFF[key];
  }

  loop(now) {
    this.raf = 0;
    const store = this.lab.store;
    if (store.version === this.seen) return;            // nothing new: the next change wakes it
    if (now - this.last < EVERY_MS) { this.wake(); return; }   // too soon: look again later
    this.last = now;
    this.seen = store.version;
    this.update(store);
  }

  /** The side followed: side B of a pair when the step names it and the run compares, else A. */
  sideOf(store) {
    return this.side === "b" && store.compare ? { side: store.b, scn: store.scenarioB, name: "B" } : { side: store.a, scn: store.scenario, name: "A" };
  }

  /** The latest event of `dot` with lines in the map, and those lines; null if none. */
  lines(dot) {
    for (let i = dot.recent.length - 1; i >= 0; i--) {
      const lines = linesFor(this.map, dot.recent[i]);
      if (lines) return { dot, ev: dot.recent[i], lines };
    }
    return null;
  }

  /** The request to follow now, its event with lines, and the requests waiting on it. */
  pick(side, chosen) {
    const dots = side.dots;
    let leader = null, newest = null;
    for (const dot of dots.values()) {
      if (dot.leader && dot.endT === null && (!leader || dot.since > leader.since)) leader = dot;
      if (!newest || dot.req > newest.req) newest = dot;
    }
    // A followed request keeps the light until it is retired; then the newest leader, or request.
    const order = chosen !== null && chosen !== undefined ? [chosen] : [this.followed, leader?.req, newest?.req];
    for (const req of order) {
      const dot = req === null || req === undefined ? null : dots.get(req);
      const found = dot && this.lines(dot);
      if (!found) continue;
      if (!dot.leader) return { ...found, waiters: null };
      // The leader's waiters: the same key, on its server for a promise (a ring is one server's);
      // how many, from the engine's exact count of the instant when it has it.
      const perServer = side.coalesce === "promise";
      let drawn = 0, one = null;
      for (const other of dots.values()) {
        if (other === dot || other.endT !== null || !WAITING.has(other.state) || other.key !== dot.key) continue;
        if (perServer && other.server !== dot.server) continue;
        const w = this.lines(other);
        if (!w) continue;
        drawn++;
        one ??= w;
      }
      const exact = exactNow(side, this.lab.store);
      const count = !exact ? drawn * this.lab.store.dotScale
        : perServer ? exact[dot.server] ?? 0 : exact.reduce((a, b) => a + b, 0);
      return { ...found, waiters: one ? { count, ...one } : null };
    }
    return null;
  }

  update(store) {
    const { side, scn, name } = this.sideOf(store);
    const which = store.compare ? ` (side ${name})` : "";
    if (!store.runId || !this.runs(scn)) {
      if (store.runId) this.show([], `This run${which} does not use ${this.module}.py: run an experiment that does to see its lines light up.`, "");
      return;
    }
    const chosen = name === "A" ? this.lab.chosenRequest?.() : null;
    const found = this.pick(side, chosen);
    const counted = this.fromCounts(store, side);
    if (found) {
      this.followed = found.dot.req;
      const spot = found.lines[0];
      const role = found.dot.leader ? "the leader" : WAITING.has(found.dot.state) ? "a waiter" : "a request";
      let text = `Request ${found.dot.req}${which} (${role}) at t = ${found.ev.t.toFixed(3)} s: ${found.ev.kind.replace(/_/g, " ")}, ${lineWords(spot)}.`;
      const spots = [spot];
      const w = found.waiters;
      if (w && w.lines[0].line !== spot.line) {
        spots.push(w.lines[0]);
        text += ` ${w.count.toLocaleString("en-US")} waiting on it: ${w.ev.kind.replace(/_/g, " ")}, ${lineWords(w.lines[0])}.`;
      }
      this.show(spots, text, "request");
      return;
    }
    if (counted) this.show([counted.spot], counted.text, "count");
    // else: keep the last light while nothing new is on stage
  }

  /**
   * The place of this module that ran most since the last look, from the engine's own counts
   * (every viewer, drawn or not); null when none ran.
   */
  fromCounts(store, side) {
    const made = side.sample?.made;
    const c = this.counted;
    if (c.run !== store.runId || !made || (side.sample.t < c.t)) {
      this.counted = { run: store.runId, t: side.sample?.t ?? 0, made: made ? { ...made } : {} };
      return null;
    }
    if (side.sample.t === c.t) return c.found ?? null;
    let best = null;
    for (const [key, n] of Object.entries(made)) {
      const places = this.map[key] ?? this.map[key.split(":")[0]];
      const ran = n - (c.made[key] ?? 0);
      if (places && ran > 0 && (!best || ran > best.ran)) best = { key, ran, spot: places[0] };
    }
    const since = c.t;
    this.counted = { run: store.runId, t: side.sample.t, made: { ...made } };
    if (!best) return null;
    const [one, many] = DOING[best.key] ?? [best.key.replace(/[_:]/g, " "), `${best.key.replace(/[_:]/g, " ")}s`];
    const found = { spot: best.spot,
                    text: `${best.ran} ${best.ran === 1 ? one : many} between t = ${since.toFixed(2)} and ${side.sample.t.toFixed(2)} s, by viewers the stage does not draw: ${lineWords(best.spot)}.` };
    this.counted.found = found;
    return found;
  }

  /** Light the lines of each spot ({line, end_line}) and say so; [] clears the light. */
  show(spots, text, by) {
    const key = spots.map((s) => `${s.line}-${s.end_line}`).join(",") || null;
    if (this.say.textContent !== text) this.say.textContent = text;
    this.figure.dataset.litBy = key ? by : "";
    if (key === this.litKey) return;
    this.litKey = key;
    for (const el of this.figure.querySelectorAll(".linenos.is-lit")) el.classList.remove("is-lit");
    this.figure.dataset.lit = key ?? "";
    let scrolled = false;
    this.bands.forEach((band, i) => {
      const spot = spots[i];
      const first = spot && this.linenos[spot.line - 1];
      if (!first) { band.hidden = true; return; }
      const last = this.linenos[Math.min(this.linenos.length, spot.end_line) - 1] ?? first;
      for (let j = spot.line - 1; j < Math.min(this.linenos.length, spot.end_line); j++) this.linenos[j].classList.add("is-lit");
      // A long line wraps (pre-wrap): the lit band ends where the next line begins.
      const after = this.linenos[Math.min(this.linenos.length, spot.end_line)];
      const top = first.offsetTop, bottom = after ? after.offsetTop : last.offsetTop + last.offsetHeight;
      band.style.top = `${top}px`;
      band.style.height = `${Math.max(bottom - top, first.offsetHeight)}px`;
      band.hidden = false;
      band.classList.toggle("code-lit-waiters", i > 0);
      // Bring the first lit line into view inside the code box only (never scroll the page).
      const box = this.scroll;
      if (!scrolled && (top < box.scrollTop || bottom > box.scrollTop + box.clientHeight)) box.scrollTop = Math.max(0, top - box.clientHeight / 3);
      scrolled = true;
    });
  }
}
