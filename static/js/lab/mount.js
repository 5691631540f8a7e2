// mountLab(): wires one lab — store, transport, stage, charts, cards, controls — inside a root element
// made by the `lab()` macro (templates/lab/_lab.html). The /lab page, lessons (restricted controls)
// and classroom follow mode (readonly, fed from outside through applyRemote) all use this one entry.

import { connect, herdlab } from "../connection.js";
import { Store } from "./store.js";
import { LabTransport } from "./transport.js";
import { fmt } from "./format.js";
import { Stage } from "./render/stage.js";
import { Charts } from "./render/charts.js";
import { Cards } from "./cards.js";
import { ScenarioControls } from "./controls.js";
import { Timeline } from "./timeline.js";
import { bindKeys, SHORTCUTS } from "./keyboard.js";
import { fromQuery, toQuery } from "./share.js";
import { download, eventsCsv, eventsJson, summaryJson } from "./export.js";
import { speedLabel, stepSpeed } from "./playback.js";
import { describeMitigations, getPath, merge, mitigationsOf, setPath, withoutMitigations, MITIGATIONS_OFF } from "./scenario.js";

const SUMMARY_EVERY_MS = 2000;     // screen readers: a calm, polite summary, not a running commentary
const DOM_EVERY_MS = 100;          // cards, timeline and text: 10 updates a second is plenty
const CHARTS_EVERY_MS = 200;
const BASELINE_MAX_VIEWERS = 200_000;   // /api/run refuses bigger runs; don't ask

let uidSeq = 0;

/**
 * Bring a lab to life.
 * @param {HTMLElement} root  an element rendered by the `lab()` Jinja macro
 * @param {object} options
 * @param {string} [options.preset="classroom"]  preset the scenario starts from
 * @param {object} [options.overrides={}]  nested engine keys over the preset ({clients: {count: 500}})
 * @param {"all"|string[]} [options.controls="all"]  which controls to show: dotted keys of GET /api/schema
 *   (any key; one the schema does not know is reported in the console), or "all" (the main ones, and
 *   every other key under "More settings")
 * @param {boolean} [options.presetPicker=true]  show the preset picker and its description (lessons
 *   choose the experiment themselves, and the description would give the prediction away)
 * @param {boolean} [options.compare=false]  start in compare mode (A: no mitigation, B: the chosen ones)
 * @param {boolean} [options.readonly=false]  follow mode: no controls, no socket; feed it with applyRemote()
 * @param {boolean} [options.shareUrl=false]  read the scenario from, and keep it in, the page's query string
 * @param {boolean} [options.keyboard=true]  bind the keyboard shortcuts on the document
 * @param {boolean} [options.globals=true]  expose this lab's counters on window.herdlab
 * @param {number} [options.speed=1]  playback speed of the next run (0.05..20)
 * @param {object} [options.socket]  a Socket.IO socket on /lab to use instead of connecting
 * @param {(summary: object, summaryB: object|null) => void} [options.onDone]
 * @param {(started: object) => void} [options.onStarted]
 * @returns {{ready: Promise<void>, start: Function, control: Function, applyRemote: Function,
 *           setScenario: Function, getScenario: Function, setPreset: Function, getPreset: Function, highlight: Function,
 *           showRequest: Function, store: Store, destroy: Function}}
 */
export function mountLab(root, options = {}) {
  const opts = { preset: "classroom", overrides: {}, controls: "all", presetPicker: true, compare: false, readonly: false,
                 shareUrl: false, keyboard: true, globals: true, speed: 1, ...options };
  const uid = root.id || `lab${++uidSeq}`;
  const q = (role) => root.querySelector(`[data-role="${role}"]`);
  const store = new Store();
  store.speed = opts.speed;
  const config = { preset: opts.preset, overrides: structuredClone(opts.overrides), compare: !!opts.compare };
  let schema = [], presets = {};
  let controls = null;
  let presentation = false;

  root.classList.toggle("lab-readonly", opts.readonly);
  const socket = opts.readonly ? null : opts.socket || connect("/lab");
  const transport = new LabTransport(store, {
    socket,
    onStarted: (msg) => { resetStages(); opts.onStarted?.(msg); },
    onDone: (summary, summaryB) => { fetchBaseline(); opts.onDone?.(summary, summaryB); },
  });

  const stages = [new Stage(q("canvas-a"), store.a, store, () => store.scenario),
                  new Stage(q("canvas-b"), store.b, store, () => store.scenarioB)];
  const charts = new Charts(q("charts"), store);
  const cards = new Cards(q("cards"), store);
  const timeline = opts.readonly ? null : new Timeline(q("bar"), { store, act });
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");

  // ---- commands: every click and key ends here ------------------------------------------------
  function act(command, value) {
    const live = store.live;
    switch (command) {
      case "escape": closePanels(); return;
      case "help": toggleHelp(); return;
      case "presentation": setPresentation(!presentation); return;
    }
    if (opts.readonly) return;
    switch (command) {
      case "toggle":
        if (store.status === "playing") transport.control("pause");
        else if (store.status === "paused") transport.control("resume");
        else handle.start();
        return;
      case "step": if (store.status === "paused") transport.control("step"); return;
      case "forward":
        if (store.status === "paused") transport.control("step");
        else act("seekBy", 1);
        return;
      case "seekBy": if (live || store.status === "finished") act("seek", Math.max(0, Math.min(store.duration, store.t + value))); return;
      case "seek": if (store.runId) transport.control("seek", value); return;
      case "faster": act("speed", stepSpeed(store.speed, +1)); return;
      case "slower": act("speed", stepSpeed(store.speed, -1)); return;
      case "speed":
        if (live) { store.requestSpeed(value); transport.control("speed", value); } else { store.speed = value; store.touch(); }
        rememberConfig();
        return;
      case "restart": if (store.runId) transport.control("restart"); else handle.start(); return;
      case "compare": config.compare = !config.compare; rememberConfig(); showConfig(); return;
    }
  }

  // ---- scenario: preset + overrides, shown by the controls, kept in the URL ---------------------
  function presetScenario() {
    return presets[config.preset]?.scenario || {};
  }

  /** The start payload: in compare mode A has no mitigation and B adds the chosen ones. */
  function startPayload() {
    const payload = { preset: config.preset, scenario: config.overrides, speed: store.speed };
    if (config.compare) {
      const chosen = mitigationsOf(merge(presetScenario(), config.overrides));
      const anyOn = Object.entries(MITIGATIONS_OFF).some(([k, off]) => getPath(chosen, k) !== undefined && getPath(chosen, k) !== off);
      payload.scenario = withoutMitigations(config.overrides);
      payload.compare = anyOn ? chosen : { strategy: { coalesce: "promise" } };
    }
    return payload;
  }

  function rememberConfig() {
    if (!opts.shareUrl) return;
    const query = toQuery({ ...config, speed: store.speed });
    history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
  }

  /** A new preset starts from its own scenario: the overrides are cleared. */
  function choosePreset(name) {
    config.preset = name;
    config.overrides = {};
    rememberConfig();
    showConfig();
  }

  function showConfig() {
    controls?.show(config.preset, config.overrides);
    const btn = q("compare");
    btn.setAttribute("aria-pressed", String(config.compare));
    btn.classList.toggle("on", config.compare);
  }

  // ---- "saved vs no mitigation": ask for the baseline when it is cheap --------------------------
  async function fetchBaseline() {
    cards.baseline = null;
    if (store.compare || !store.summary || !store.scenario) return;
    if (describeMitigations(store.scenario) === "no mitigation") { cards.baseline = store.summary.db_queries; store.touch(); return; }
    if (store.viewers > BASELINE_MAX_VIEWERS) return;
    const runId = store.runId;
    try {
      const res = await fetch("/api/run", { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify({ scenario: withoutMitigations(store.scenario) }) });
      if (!res.ok) return;
      const summary = await res.json();
      if (store.runId === runId) { cards.baseline = summary.db_queries; store.touch(); }
    } catch { /* no baseline: the card says so */ }
  }

  // ---- panels: lifecycle of a clicked dot, keyboard help ---------------------------------------
  function showLifecycle(side, dot) {
    const list = q("lifecycle-list");
    list.replaceChildren();
    const events = side.lifecycle(dot.req);
    const yours = side === store.a && stages[0].highlighted.has(dot.req) ? " · yours" : "";
    q("lifecycle-title").textContent = `Request ${dot.req} · viewer ${dot.viewer ?? "–"}${yours}${store.compare ? ` · side ${side.name}` : ""}`;
    for (const ev of events) {
      const li = document.createElement("li");
      const extra = Object.entries(ev).filter(([k, v]) => !["t", "kind", "req", "viewer", "key"].includes(k) && v !== null)
        .map(([k, v]) => `${k} ${k === "server" ? `S${v + 1}` : v}`).join(", ");
      li.innerHTML = "<code></code> <strong></strong> <span></span>";
      li.children[0].textContent = `${ev.t.toFixed(3)} s`;
      li.children[1].textContent = ev.kind.replace(/_/g, " ");
      li.children[2].textContent = [ev.key, extra].filter(Boolean).join(" · ");
      list.append(li);
    }
    if (!events.length) list.innerHTML = "<li>Its events are no longer in the browser's log.</li>";
    q("lifecycle").hidden = false;
    q("lifecycle-close").focus();
  }

  function toggleHelp(force) {
    const help = q("help");
    help.hidden = force === undefined ? !help.hidden : !force;
    if (!help.hidden) q("help-close").focus();
  }

  function closePanels() {
    q("lifecycle").hidden = true;
    toggleHelp(false);
  }

  function setPresentation(on) {
    presentation = on;
    document.body.classList.toggle("presentation", on);
    q("presentation").setAttribute("aria-pressed", String(on));
    stages.forEach((s) => { s.w = -1; });   // force a resize at the new type size
    store.touch();
  }

  const helpList = q("help-list");
  for (const [keys, what] of SHORTCUTS) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.innerHTML = "<kbd></kbd>";
    dt.firstChild.textContent = keys;
    dd.textContent = what;
    helpList.append(dt, dd);
  }

  // ---- wiring ----------------------------------------------------------------------------------
  const listeners = [];
  const on = (el, type, fn) => { el.addEventListener(type, fn); listeners.push([el, type, fn]); };
  on(q("help-open"), "click", () => toggleHelp(true));
  on(q("help-close"), "click", () => toggleHelp(false));
  on(q("help"), "click", (e) => { if (e.target === q("help")) toggleHelp(false); });
  on(q("lifecycle-close"), "click", () => { q("lifecycle").hidden = true; });
  on(q("presentation"), "click", () => act("presentation"));
  on(q("compare"), "click", () => act("compare"));
  on(q("share"), "click", async () => {
    const url = `${location.origin}${location.pathname}?${toQuery({ ...config, speed: store.speed })}`;
    try { await navigator.clipboard.writeText(url); note("Link copied."); } catch { note(url); }
  });
  on(q("export-summary"), "click", () => download("herdlab-summary.json", summaryJson(store), "application/json"));
  on(q("export-json"), "click", () => download("herdlab-events.json", eventsJson(store), "application/json"));
  on(q("export-csv"), "click", () => download("herdlab-events.csv", eventsCsv(store), "text/csv"));
  stages.forEach((stage, i) => on(stage.canvas, "click", (e) => {
    const box = stage.canvas.getBoundingClientRect();
    const dot = stage.dotAt(e.clientX - box.left, e.clientY - box.top);
    if (dot) showLifecycle(store.sides[i], dot);
  }));
  const unbindKeys = opts.keyboard ? bindKeys(document, act) : () => {};
  const onMotion = () => store.touch();
  reduced.addEventListener("change", onMotion);

  let noteTimer = 0;
  function note(text) {
    q("note").textContent = text;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => { q("note").textContent = ""; }, 4000);
  }

  // ---- the one animation loop ------------------------------------------------------------------
  let raf = 0, last = 0, drawnVersion = -1, animating = false, lastDom = 0, lastCharts = 0, lastSummary = -Infinity;
  let chartsVersion = -1;
  const counters = { framesRendered: 0, framesDropped: 0 };

  function resetStages() {
    for (const s of stages) { s.pulses = []; s.lastPulse.clear(); }
    cards.baseline = null;
    lastSummary = -Infinity;
  }

  function frame(now) {
    raf = requestAnimationFrame(frame);
    const dt = last ? Math.min(0.1, (now - last) / 1000) : 1 / 60;
    const gap = now - last;
    last = now;
    q("stage-b").hidden = !store.compare;
    let resized = false;
    for (const s of stages) if (!s.canvas.closest("[hidden]")) resized = s.resize() || resized;
    const changed = store.version !== drawnVersion;
    if (!changed && !animating && !resized) return;
    if (animating && gap > 25) counters.framesDropped += Math.round(gap / 16.7) - 1;
    drawnVersion = store.version;
    const drawOpts = { now, dt, reduced: reduced.matches, big: presentation };
    animating = false;
    for (const s of stages) if (!s.canvas.closest("[hidden]")) animating = s.draw(drawOpts) || animating;
    counters.framesRendered++;
    if (now - lastDom >= DOM_EVERY_MS || resized) { lastDom = now; updateDom(now); }
    if (chartsVersion !== store.version && (now - lastCharts >= CHARTS_EVERY_MS || store.status === "finished")) {
      lastCharts = now; chartsVersion = store.version;
      charts.build(store.compare, presentation);
      charts.update();
    }
  }

  function updateDom(now) {
    cards.update();
    timeline?.update();
    q("cap-a").textContent = store.compare ? `A — ${describeMitigations(store.scenario)}` : captionFor(store.scenario);
    q("cap-b").textContent = `B — ${describeMitigations(store.scenarioB)}`;
    const err = q("error");
    err.hidden = !store.error;
    err.textContent = store.error ? `${store.error.message}${store.error.field ? ` (field: ${store.error.field})` : ""}` : "";
    if (store.eventsDropped) note(`Behind: ${fmt(store.eventsDropped)} dot events skipped to keep up (counters stay exact).`);
    else if (store.behind && store.status === "playing") note("Catching up with the server…");
    const text = describe();
    q("summary").textContent = text;
    if (store.status === "finished" && lastSummary !== -1) { lastSummary = -1; q("summary-live").textContent = text; }
    else if (store.status !== "finished" && now - lastSummary >= SUMMARY_EVERY_MS) {
      q("summary-live").textContent = text;
      if (store.a.sample) lastSummary = now;      // until numbers exist, say so again next time
    }
  }

  function captionFor(scn) {
    if (!scn) return presets[config.preset]?.title || "";
    const scale = store.dotScale > 1 ? ` · each dot = ${fmt(store.dotScale)} viewers` : "";
    return `${fmt(store.viewers)} viewers · ${fmt(getPath(scn, "servers.count") ?? 1)} server(s) · ${describeMitigations(scn)}${scale}`;
  }

  /** The text summary (visible, and read politely by screen readers). */
  function describe() {
    const s = store.a.sample, b = store.b.sample;
    if (store.status === "finished" && store.summary) {
      const one = (name, sum) => `${name}${fmt(sum.requests)} requests, ${fmt(sum.db_queries)} datastore ${sum.db_queries === 1 ? "query" : "queries"}, ${fmt(sum.errors)} errors, p99 ${fmt(sum.latency_ms?.p99)} ms, datastore down ${(sum.db_down_s ?? 0).toFixed(1)} s.`;
      return `Finished. ${one(store.compare ? "A: " : "", store.summary)}${store.compare && store.summaryB ? ` ${one("B: ", store.summaryB)}` : ""}`;
    }
    if (store.status === "idle") return idleHint();
    if (store.status === "starting") return "Starting…";
    if (!s) return `${store.status === "paused" ? "Paused" : "Running"} at ${speedLabel(store.speed)}.`;
    const side = (name, x, db) => `${name}${fmt(x.completed)} of ${fmt(x.arrived)} requests answered, ${fmt(x.queued)} queued at the datastore (${db.state}), ${fmt(x.db_queries)} datastore queries, ${fmt(x.errors)} errors.`;
    return `${store.status === "paused" ? "Paused" : store.status === "stopped" ? "Stopped" : "Running"} at ${speedLabel(store.speed)}, t = ${store.t.toFixed(1)} s. ${side(store.compare ? "A: " : "", s, store.a.db)}${store.compare && b ? ` ${side("B: ", b, store.b.db)}` : ""}`;
  }

  /** What to do first: a follower waits; a student presses Run (the space bar only when bound). */
  function idleHint() {
    if (opts.readonly) return "Waiting for the instructor to start a run.";
    return `Press Run${opts.keyboard ? " (or the space bar)" : ""} to start the experiment.`;
  }
  q("summary").textContent = idleHint();

  raf = requestAnimationFrame(frame);

  // ---- window.herdlab: read-only counters for tests and diagnostics ---------------------------
  if (opts.globals) {
    const getters = {
      eventsReceived: () => store.eventsReceived, eventsDropped: () => store.eventsDropped,
      framesRendered: () => counters.framesRendered, framesDropped: () => counters.framesDropped,
      lastSummary: () => store.summary, lastSummaryB: () => store.summaryB, status: () => store.status,
      t: () => store.t, runId: () => store.runId, dotScale: () => store.dotScale, compare: () => store.compare,
      dots: () => store.a.dots.size + store.b.dots.size, sample: () => store.a.sample, sampleB: () => store.b.sample,
      dbState: () => store.a.db.state, peakDb: () => store.a.peakDb, speed: () => store.speed,
      error: () => store.error, scenario: () => store.scenario, config: () => structuredClone(config),
      drawMode: () => (reduced.matches ? "bars" : "dots"), presentation: () => presentation,
    };
    for (const [name, get] of Object.entries(getters)) Object.defineProperty(herdlab, name, { get, configurable: true, enumerable: true });
    // Where side A's dots are (CSS px in its canvas), for tests that click one.
    Object.defineProperty(herdlab, "dotsOnStage", { configurable: true, value: () =>
      [...store.a.dots.values()].filter((d) => d.x !== undefined).slice(0, 50).map((d) => [d.x, d.y, d.req]) });
  }

  // ---- the handle ------------------------------------------------------------------------------
  const ready = (async () => {
    [schema, presets] = await Promise.all([getJson("/api/schema"), getJson("/api/presets")]);
    if (opts.shareUrl) {
      const shared = fromQuery(location.search, schema, presets);
      if (shared.preset) config.preset = shared.preset;
      if (Object.keys(shared.overrides).length) config.overrides = shared.overrides;
      config.compare = shared.compare || config.compare;
      if (shared.speed) { store.speed = Math.min(20, Math.max(0.05, shared.speed)); store.touch(); }
    }
    if (!presets[config.preset]) config.preset = Object.keys(presets)[0];
    if (!opts.readonly) {
      controls = new ScenarioControls(q("controls"), {
        schema, presets, shown: opts.controls, presetPicker: opts.presetPicker, uid,
        onChange: (key, value) => { config.overrides = setPath(config.overrides, key, value); rememberConfig(); note("Changed: press Run to see it."); },
        onPreset: choosePreset,
      });
    }
    showConfig();
    store.touch();
  })();

  const handle = {
    ready,
    store,
    /** Start a run of the current scenario (waits for the schema and presets to load). */
    async start() { await ready; transport.start(startPayload()); },
    /** A playback command: pause, resume, step, speed (value), stop, restart, seek (value = t). */
    control(action, value) { if (action === "speed") act("speed", value); else transport.control(action, value); },
    /** Follow mode: feed a `started`/`frame`/`state`/`done`/`error` message from another socket. */
    applyRemote(eventName, payload) { transport.receive(eventName, payload); },
    /** Replace the overrides (nested engine keys over the preset); the next run uses them. */
    setScenario(nested) { config.overrides = structuredClone(nested || {}); rememberConfig(); showConfig(); },
    /** The current overrides (nested engine keys over the preset), as setScenario takes them. */
    getScenario() { return structuredClone(config.overrides); },
    /** Switch preset (clears the overrides). */
    setPreset: choosePreset,
    /** The preset the next run starts from, as setPreset takes it. */
    getPreset() { return config.preset; },
    /**
     * Mark requests as the viewer's own (classroom "join the herd"): the stage draws them larger,
     * outlined and labelled "you" in every state. Replaces the previous set; [] clears it.
     * @param {number[]} reqIds  request ids (the `req` of their events, on side A)
     */
    highlight(reqIds) { stages[0].highlighted = new Set(reqIds || []); store.touch(); },
    /** Open the lifecycle panel on one request of side A; false when none of its events arrived. */
    showRequest(req) {
      const events = store.a.lifecycle(req);
      const dot = store.a.dots.get(req) ?? (events.length ? { req, viewer: events[0].viewer } : null);
      if (!dot) return false;
      showLifecycle(store.a, dot);
      return true;
    },
    destroy() {
      cancelAnimationFrame(raf);
      transport.destroy();
      unbindKeys();
      reduced.removeEventListener("change", onMotion);
      for (const [el, type, fn] of listeners) el.removeEventListener(type, fn);
      charts.destroy();
      clearTimeout(noteTimer);
    },
  };
  return handle;
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}
