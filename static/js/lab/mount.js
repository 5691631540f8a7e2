// mountLab(): wires one lab — store, transport, stage, charts, cards, controls — inside a root element
// made by the `lab()` macro (templates/lab/_lab.html). The /lab page, lessons (restricted controls)
// and classroom follow mode (readonly, fed from outside through applyRemote) all use this one entry.
// Run state lives in the store; this file keeps only the page's view settings (presentation mode,
// the next run's configuration) and wiring.

import { connect, herdlab } from "../connection.js";
import { Store } from "./store.js";
import { LabTransport } from "./transport.js";
import { fmt, plural } from "./format.js";
import { Stage } from "./render/stage.js";
import { Charts } from "./render/charts.js";
import { Cards, facts } from "./cards.js";
import { ScenarioControls, describeSetting } from "./controls.js";
import { Timeline } from "./timeline.js";
import { bindKeys, SHORTCUTS } from "./keyboard.js";
import { fromQuery, toQuery } from "./share.js";
import { download, eventsCsv, eventsJson, summaryJson } from "./export.js";
import { speedLabel, stepSize, stepSpeed } from "./playback.js";
import { Mitigations, flatten, getPath, merge, setPath } from "./scenario.js";
import { Baselines } from "./baseline.js";
import { describeDot } from "./states.js";
import { eventLine } from "./lifecycle.js";
import { FocusReturn, trapTab } from "./focus.js";
import { legendEntries, showLegend } from "./legend.js";
import { Story } from "./story.js";
import { Caption } from "./caption.js";
import { Marks, inputTitle } from "./marks.js";
import { Interventions } from "./interventions.js";
import { compareChoices, compareLabel } from "./compare.js";

const SUMMARY_EVERY_MS = 2000;     // screen readers: a calm, polite summary, not a running commentary
const DOM_EVERY_MS = 100;          // cards, timeline and text: 10 updates a second is plenty
const CHARTS_EVERY_MS = 200;
const CATCHING_UP = "Catching up with the server…";

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
 * @param {boolean} [options.presentation=false]  start in presentation mode (the presenter screen)
 * @param {number} [options.speed=1]  playback speed of the next run (0.05..20)
 * @param {object} [options.socket]  a Socket.IO socket on /lab to use instead of connecting
 * @param {boolean} [options.story=false]  guided playback on by default: ease into and hold on each key
 *   moment (the student's own choice, once made, is remembered in this browser: see `storyMemory`)
 * @param {string|null} [options.storyMemory=null]  where the student's Story switch is remembered
 *   (localStorage `herdlab.story.<name>`: "lab", "lessons"), or null (not remembered)
 * @param {Array<string|{what: string, nth?: number}>} [options.storyFocus]  the moments the story holds on
 *   (a lesson step's), else every kind of moment once
 * @param {"a"|"b"} [options.storySide="a"]  the side the story narrates (a pair's side B, as a step names it)
 * @param {boolean} [options.interventions=true]  clicking the stage's boxes while a run plays acts on it
 * @param {boolean} [options.announce=true]  screen readers hear the run's summary (politely, every 2 s
 *   while it plays): off for a picture that loops on its own (the home page's herd)
 * @param {(summary: object, summaryB: object|null) => void} [options.onDone]
 * @param {(started: object) => void} [options.onStarted]
 * @param {(side: "a"|"b", caption: string) => string} [options.caption]  the stage captions, rewritten
 *   (the real-systems page names its sides "real" and "simulation")
 * @returns {{ready: Promise<void>, start: Function, control: Function, applyRemote: Function,
 *           setScenario: Function, getScenario: Function, setPreset: Function, getPreset: Function, highlight: Function,
 *           showRequest: Function, describeRequest: Function, settingLines: Function, store: Store, destroy: Function}}
 */
export function mountLab(root, options = {}) {
  const opts = { preset: "classroom", overrides: {}, controls: "all", presetPicker: true, compare: false, readonly: false,
                 shareUrl: false, keyboard: true, globals: true, speed: 1, story: false, storyMemory: null,
                 storySide: "a", interventions: true, announce: true, ...options };
  const uid = root.id || `lab${++uidSeq}`;
  const q = (role) => root.querySelector(`[data-role="${role}"]`);
  const store = new Store();
  store.speed = opts.speed;
  // compareB: side B's mitigations over A's scenario (null: A without mitigation, B with yours);
  // inputs: the interventions kept with the run, replayed by the next start and the share link.
  const config = { preset: opts.preset, overrides: structuredClone(opts.overrides), compare: !!opts.compare,
                   compareB: null, inputs: [] };
  let schema = [], presets = {};
  let mitigations = new Mitigations([]);
  let baselines = new Baselines(mitigations);
  let controls = null;
  let presentation = false;

  root.classList.toggle("lab-readonly", opts.readonly);
  const socket = opts.readonly ? null : opts.socket || connect("/lab");
  const transport = new LabTransport(store, {
    socket,
    onStarted: (msg) => opts.onStarted?.(msg),
    onDone: (summary, summaryB) => { findBaseline(); opts.onDone?.(summary, summaryB); },
  });

  // Before any run, a stage draws the next run's scenario (its servers), not a default one.
  const nextScenario = () => merge(presetScenario(), config.overrides);
  const stages = [new Stage(q("canvas-a"), store.a, store, () => store.scenario ?? nextScenario()),
                  new Stage(q("canvas-b"), store.b, store, () => store.scenarioB ?? nextScenario())];
  const charts = new Charts(q("charts"), store);
  const cards = new Cards(q("cards"), store, () => mitigations);
  const timeline = opts.readonly ? null : new Timeline(q("bar"), { store, act });
  const story = new Story(store, {
    speed: (x) => { store.requestSpeed(x); transport.control("speed", x); },
    seek: (t, pause) => transport.seek(clampT(t), pause),
    step: (seconds) => transport.step(seconds),
    resume: () => transport.control("resume"),
  });
  story.set(rememberedStory() ?? opts.story, opts.storyFocus, opts.storySide);
  const caption = new Caption(q("caption"), stages);
  const marks = opts.readonly ? null : new Marks(q("marks"), { store, seek: (t) => { story.yieldControl(); act("scrub", t); } });
  const interventions = new Interventions({
    targets: q("targets-a"), poke: q("poke"), stage: stages[0], side: store.a, store,
    send: (input) => intervene(input),
    allowed: () => !opts.readonly && opts.interventions && store.live && !!store.runId,
  });
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");

  // ---- commands: every click and key ends here ------------------------------------------------
  function act(command, value) {
    const live = store.live;
    switch (command) {
      case "escape": if (!interventions.close()) closePanels(); return;
      case "help": toggleHelp(); return;
      case "presentation": setPresentation(!presentation); return;
    }
    if (opts.readonly) return;
    const replayable = live || store.status === "finished" || store.status === "stopped";
    switch (command) {
      case "skip": story.skip(); return;
      case "replay": story.replay(); return;
      case "toggle":
        if (story.hold) { story.skip(); return; }           // held on a moment: play on
        story.yieldControl();
        if (store.status === "playing") transport.control("pause");
        else if (store.status === "paused") transport.control("resume");
        else if (store.putAway) transport.seek(store.t);      // the server computes it again from here
        else handle.start();
        return;
      case "step": if (store.status === "paused") transport.step(stepSize(store)); return;
      case "forward":
        if (store.status === "paused") act("step");
        else act("seekBy", 1);
        return;
      case "seekBy": story.yieldControl(); if (replayable) transport.seek(clampT(store.t + value), store.status === "paused"); return;
      case "scrub": story.yieldControl(); if (store.runId && replayable) transport.seek(clampT(value), true); return;
      case "faster": act("speed", stepSpeed(store.speed, +1)); return;
      case "slower": act("speed", stepSpeed(store.speed, -1)); return;
      case "speed":
        story.chose(value);
        // Sent to the server (a live run, or an ended one whose replay plays at it): its `state`
        // echoes come back late, and an older one must not undo a newer press.
        if (live || (store.runId && replayable)) { store.requestSpeed(value); transport.control("speed", value); }
        else { store.speed = value; store.touch(); }
        rememberConfig();
        return;
      case "restart": if (store.runId) transport.control("restart"); else handle.start(); return;
      case "compare": config.compare = !config.compare; rememberConfig(); showConfig(); return;
    }
  }

  /** A seek target inside the run: up to its end, or its arrivals' duration while the end is unknown. */
  function clampT(t) {
    return Math.max(0, Math.min(store.length, t));
  }

  // ---- the Story switch, as the student left it ----------------------------------------------------
  function rememberedStory() {
    if (!opts.storyMemory) return null;
    try {
      const v = localStorage.getItem(`herdlab.story.${opts.storyMemory}`);
      return v === null ? null : v === "on";
    } catch { return null; }
  }

  function rememberStory(on) {
    if (!opts.storyMemory) return;
    try { localStorage.setItem(`herdlab.story.${opts.storyMemory}`, on ? "on" : "off"); } catch { /* private mode */ }
  }

  // ---- scenario: preset + overrides, shown by the controls, kept in the URL ---------------------
  function presetScenario() {
    return presets[config.preset]?.scenario || {};
  }

  /**
   * The start payload. Compare mode: with side B's own mitigations chosen (compareB), A is the
   * scenario as set and B is A plus those; else A has no mitigation and B adds the chosen ones.
   * The run's interventions (inputs) go along, so the same link replays the same run.
   */
  function startPayload() {
    const payload = { preset: config.preset, scenario: config.overrides, speed: chosenSpeed() };
    if (config.compare && config.compareB) {
      payload.compare = config.compareB;            // B = A + these (a lesson's pair, or the picker's)
    } else if (config.compare) {
      const chosen = mitigations.only(merge(presetScenario(), config.overrides));
      payload.scenario = mitigations.without(config.overrides);
      payload.compare = mitigations.on(chosen).length ? chosen : { strategy: { coalesce: "promise" } };
    }
    if (config.inputs.length) payload.inputs = config.inputs;
    return payload;
  }

  /** The student's speed: while the story eases into a moment the run plays slower than chosen. */
  function chosenSpeed() {
    return story.on && store.runId ? story.userSpeed : store.speed;
  }

  function shareQuery() {
    return toQuery({ ...config, speed: chosenSpeed(), story: story.on });
  }

  function rememberConfig() {
    if (!opts.shareUrl) return;
    const query = shareQuery();
    history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
  }

  /** An intervention: sent now, applied by the server at the instant shown (and kept with the run). */
  function intervene(input) {
    if (!store.live) { note("Interventions act on a run while it plays: press Run first."); return; }
    transport.input(input);
    note(`Intervention asked at t = ${store.t.toFixed(2)} s: ${inputTitle({ ...input, t: store.t }).split(" · ")[1]}.`);
  }

  /** Forget the interventions kept for the next run (a changed scenario makes them another run's). */
  function forgetInputs(say) {
    if (!config.inputs.length) return;
    config.inputs = [];
    if (say) note("The run's interventions were forgotten: the next run starts without them.");
  }

  /** A new preset starts from its own scenario: the overrides are cleared. */
  function choosePreset(name) {
    config.preset = name;
    config.overrides = {};
    forgetInputs(false);
    rememberConfig();
    showConfig();
  }

  function showConfig() {
    controls?.show(config.preset, config.overrides);
    store.touch();                          // the legend follows the next run's scenario
    const btn = q("compare");
    btn.setAttribute("aria-pressed", String(config.compare));
    btn.classList.toggle("on", config.compare);
    const pick = q("compare-b");
    pick.hidden = !config.compare || opts.readonly;
    if (pick.options.length) pick.value = compareLabel(config.compareB, pick, mitigations);
    q("story").checked = story.on;
  }

  /**
   * A control changed. A mitigation switched while a run plays becomes an intervention (a `set`
   * input at the instant shown) instead of a restart; anything else applies to the next run.
   */
  function switched(key, value) {
    if (store.live && mitigations.has(key) && opts.interventions && !store.compare) {
      transport.input({ kind: "set", key, value });
      note(`Switched while the run plays: from t = ${store.t.toFixed(2)} s this run uses it (kept with the run, not a restart).`);
      return;
    }
    config.overrides = setPath(config.overrides, key, value);
    const had = config.inputs.length;
    forgetInputs(true);
    rememberConfig();
    store.touch();                          // before a run, the stage and legend show the next one's scenario
    if (!had) note("Changed: press Run to see it.");
  }

  // ---- "saved vs no mitigation": the same run without mitigation, once this one is done ---------
  async function findBaseline() {
    if (store.compare || !store.summary || !store.scenario) return;
    const runId = store.runId, inputs = store.inputs;
    baselines.remember(store.scenario, store.summary, inputs);
    store.setBaseline(runId, await baselines.lookup(store.scenario, store.summary, store.viewers, inputs));
  }

  // ---- panels: lifecycle of a request, keyboard help -------------------------------------------
  const lifecycleFocus = new FocusReturn(), helpFocus = new FocusReturn();

  let openReq = null;       // the request whose lifecycle is open (side A), followed by the code panel
  function showLifecycle(side, dot) {
    openReq = side === store.a ? dot.req : null;
    const list = q("lifecycle-list");
    list.replaceChildren();
    const events = side.lifecycle(dot.req);
    const yours = side === store.a && stages[0].highlighted.has(dot.req) ? " · yours" : "";
    q("lifecycle-title").textContent = `Request ${dot.req} · viewer ${dot.viewer ?? "–"}${yours}${store.compare ? ` · side ${side.name}` : ""}`;
    for (const ev of events) {
      const line = eventLine(ev, side.coalesce);
      const li = document.createElement("li");
      li.innerHTML = "<code></code> <strong></strong> <span></span>";
      li.children[0].textContent = line.time;
      li.children[1].textContent = line.kind;
      li.children[2].textContent = line.detail;
      list.append(li);
    }
    if (!events.length) list.innerHTML = "<li>Its events are no longer in the browser's log.</li>";
    q("lifecycle").hidden = false;
    lifecycleFocus.open(q("lifecycle-close"));
  }

  function closeLifecycle() {
    if (q("lifecycle").hidden) return;
    q("lifecycle").hidden = true;
    openReq = null;
    lifecycleFocus.close();
  }

  function toggleHelp(force) {
    const help = q("help");
    const show = force === undefined ? help.hidden : force;
    if (show === !help.hidden) return;
    help.hidden = !show;
    if (show) helpFocus.open(q("help-close"));
    else helpFocus.close();
  }

  function closePanels() {
    if (!q("help").hidden) toggleHelp(false);
    else closeLifecycle();
  }

  function setPresentation(on) {
    presentation = on;
    document.body.classList.toggle("presentation", on);
    q("presentation").setAttribute("aria-pressed", String(on));
    stages.forEach((s) => { s.w = -1; });   // force a resize at the new type size
    store.touch();
  }

  // The help lists the keys that work here: without the page-wide shortcuts (lessons: the text has
  // its own form controls), only the stage's and the dialogs' own keys.
  const helpList = q("help-list");
  for (const [keys, what, scope] of SHORTCUTS) {
    if (!opts.keyboard && scope === "page") continue;
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
  on(q("help"), "keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); toggleHelp(false); } });
  on(q("lifecycle-close"), "click", closeLifecycle);
  on(q("lifecycle"), "keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); closeLifecycle(); } });
  on(q("presentation"), "click", () => act("presentation"));
  on(q("compare"), "click", () => act("compare"));
  on(q("story"), "change", () => {
    story.set(q("story").checked, opts.storyFocus, opts.storySide);
    rememberStory(story.on);
    rememberConfig();
  });
  on(q("story-skip"), "click", () => act("skip"));
  on(q("story-replay"), "click", () => act("replay"));
  on(q("inputs-forget"), "click", () => { forgetInputs(true); rememberConfig(); store.touch(); });
  on(q("compare-b"), "change", () => {
    const chosen = q("compare-b").selectedOptions[0];
    config.compareB = chosen?.dataset.overrides ? JSON.parse(chosen.dataset.overrides) : null;
    store.touch();
    forgetInputs(true);
    rememberConfig();
    showConfig();
  });
  on(q("share"), "click", async () => {
    const url = `${location.origin}${location.pathname}?${shareQuery()}`;
    try { await navigator.clipboard.writeText(url); note("Link copied."); } catch { note(url); }
  });
  on(q("export-summary"), "click", () => download("herdlab-summary.json", summaryJson(store), "application/json"));
  on(q("export-json"), "click", () => download("herdlab-events.json", eventsJson(store), "application/json"));
  on(q("export-csv"), "click", () => download("herdlab-events.csv", eventsCsv(store), "text/csv"));
  stages.forEach((stage, i) => {
    on(stage.canvas, "click", (e) => {
      const box = stage.canvas.getBoundingClientRect();
      const dot = stage.dotAt(e.clientX - box.left, e.clientY - box.top);
      if (dot) showLifecycle(store.sides[i], dot);
      else if (i === 0) interventions.click(e.clientX - box.left, e.clientY - box.top, e.clientX, e.clientY);
    });
    // The stage is a Tab stop: ↑/↓ choose a request, Enter opens its lifecycle.
    on(stage.canvas, "keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "ArrowUp" || e.key === "ArrowDown") {
        e.preventDefault();
        announce(stage.select(e.key === "ArrowDown" ? +1 : -1), store.sides[i]);
        store.touch();
      } else if (e.key === "Enter") {
        e.preventDefault();
        const dot = stage.current();
        if (dot) showLifecycle(store.sides[i], dot);
        else announce(null, store.sides[i]);
        store.touch();
      }
    });
    on(stage.canvas, "blur", () => { stage.selected = null; store.touch(); });
  });
  const unbindKeys = opts.keyboard ? bindKeys(document, act) : () => {};
  if (!opts.keyboard) for (const el of root.querySelectorAll("[aria-keyshortcuts]")) el.removeAttribute("aria-keyshortcuts");
  // Tab stays inside an open dialog: the help, a request's lifecycle, the intervention menu.
  const untraps = [q("help"), q("lifecycle"), q("poke")].map(trapTab);
  const untrap = () => untraps.forEach((f) => f());
  const onMotion = () => store.touch();
  reduced.addEventListener("change", onMotion);

  /** Say which request the keyboard selected (the stage itself is a picture). */
  function announce(dot, side) {
    q("stage-live").textContent = dot
      ? `Request ${dot.req}${store.compare ? ` on side ${side.name}` : ""}: ${describeDot(dot)}. Enter opens its lifecycle.`
      : "No request is on the stage right now.";
  }

  let noteTimer = 0;
  function note(text) {
    q("note").textContent = text;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => { q("note").textContent = ""; }, 4000);
  }

  // ---- the one animation loop ------------------------------------------------------------------
  // The canvas is redrawn when the store changed or something still moves; the DOM (cards, bar,
  // text) and the charts follow the store at most 10 and 5 times a second, and each keeps its own
  // record of the version it shows, so the last change always reaches them even when nothing
  // moves any more (a `done` that arrived just after an update was once never shown).
  // The loop sleeps when nothing is left to show: an idle, paused or finished lab took 7% of a
  // core redrawing nothing 60 times a second (a laptop on a projector all lesson long). It runs
  // while something moves or fades, a story holds, or the DOM and charts have a change to show;
  // whatever can change the picture wakes it: a change of the store (every frame of a run, every
  // control and key), a stage resized (its observer), and a destroyed lab never again.
  let raf = 0, last = 0, drawnVersion = -1, animating = false, lastDom = 0, lastCharts = 0, lastSummary = -Infinity;
  let domVersion = -1, chartsVersion = -1, finishedSaid = null, holdShown = null, destroyed = false;
  const counters = { framesRendered: 0, framesDropped: 0 };
  const afterFrame = new Set();   // (window.herdlab.afterFrame: tests see each frame's end state)
  const wake = () => {
    if (raf || destroyed) return;
    last = 0;                     // (asleep is not a dropped frame, and nothing jumps a long dt)
    raf = requestAnimationFrame(frame);
  };
  const unwatch = store.watch(wake);
  const sized = new ResizeObserver(wake);
  for (const s of stages) sized.observe(s.canvas);
  on(window, "resize", wake);     // (a zoom changes devicePixelRatio, maybe not the CSS size)

  function frame(now) {
    raf = requestAnimationFrame(frame);
    story.tick(now);
    const cap = story.caption;
    if (cap || caption.shown !== null) { caption.update(cap); if (cap) store.touch(); }
    // The moment is on screen: the cards, the bar and the text show its instant at once, not up
    // to DOM_EVERY_MS later (one instant, one picture).
    const shownAt = cap ? `${store.runId}|${cap.at}|${cap.text}` : null;
    if (shownAt !== holdShown) { holdShown = shownAt; lastDom = -Infinity; lastCharts = -Infinity; }
    const dt = last ? Math.min(0.1, (now - last) / 1000) : 1 / 60;
    const gap = now - last;
    last = now;
    q("stage-b").hidden = !store.compare;
    let resized = false;
    for (const s of stages) if (!s.canvas.closest("[hidden]")) resized = s.resize() || resized;
    const version = store.version;
    if (version !== drawnVersion || animating || resized) {
      if (animating && gap > 25) counters.framesDropped += Math.round(gap / 16.7) - 1;
      drawnVersion = version;
      const drawOpts = { now, dt, reduced: reduced.matches, big: presentation };
      animating = false;
      for (const s of stages) if (!s.canvas.closest("[hidden]")) animating = s.draw(drawOpts) || animating;
      counters.framesRendered++;
    }
    if ((domVersion !== version && now - lastDom >= DOM_EVERY_MS) || resized) {
      lastDom = now; domVersion = version;
      updateDom(now);
    }
    if (chartsVersion !== version && (now - lastCharts >= CHARTS_EVERY_MS || store.status === "finished")) {
      lastCharts = now; chartsVersion = version;
      charts.build(store.compare, presentation);
      charts.update();
    }
    for (const fn of afterFrame) fn(now);
    const busy = animating || story.hold || caption.shown !== null
      || domVersion !== store.version || chartsVersion !== store.version;
    if (!busy) { cancelAnimationFrame(raf); raf = 0; }
  }

  function updateDom(now) {
    cards.update();
    timeline?.update();
    marks?.update();
    interventions.update();
    keepInputs();
    sayRefused();
    const capA = store.compare ? `A — ${mitigations.describe(store.scenario)}` : captionFor(store.scenario);
    const capB = `B — ${mitigations.describe(store.scenarioB)}`;
    q("cap-a").textContent = opts.caption?.("a", capA) ?? capA;
    q("cap-b").textContent = opts.caption?.("b", capB) ?? capB;
    const shown = store.runId ? [store.scenario, store.compare ? store.scenarioB : null] : [merge(presetScenario(), config.overrides)];
    showLegend(q("legend"), legendEntries(shown, store.compare ? store.sides : [store.a]));
    const err = q("error");
    err.hidden = !store.error;
    const field = store.error?.field ?? store.error?.key;
    err.textContent = store.error ? `${store.error.message}${field ? ` (field: ${field})` : ""}` : "";
    if (store.eventsDropped) note(`Behind: ${fmt(store.eventsDropped)} dot events skipped to keep up (counters stay exact).`);
    else if (store.behind && store.status === "playing") note(CATCHING_UP);
    else if (store.status !== "playing" && q("note").textContent === CATCHING_UP) note("");
    const text = describe();
    q("summary").textContent = text;
    const finished = store.status === "finished" ? store.runId : null;
    if (!opts.announce) { /* a picture that loops on its own: nothing to announce */ }
    else if (finished && finishedSaid !== finished) { finishedSaid = finished; q("summary-live").textContent = text; }
    else if (!finished && now - lastSummary >= SUMMARY_EVERY_MS) {
      finishedSaid = null;
      if (q("summary-live").textContent !== text) q("summary-live").textContent = text;    // (the same words: said once)
      if (store.a.sample) lastSummary = now;      // until numbers exist, say so again next time
    }
  }

  /** An input the engine could not apply when its time came (its `input` event, applied false): say why. */
  let refusedSaid = null;
  function sayRefused() {
    const r = store.a.refused;
    if (!r || r === refusedSaid) return;
    refusedSaid = r;
    note(`Not applied at t = ${r.t.toFixed(2)} s (${inputTitle({ kind: r.input, t: r.t }).split(" · ")[1]}): ${r.reason || "nothing to act on"}.`);
  }

  /**
   * The run's checked inputs become the ones the next start and the share link replay, each time
   * the run's list changes (a new run, an intervention), not each time the server repeats it: so
   * "Forget them" holds for the run on screen too.
   */
  let keptFrom = null;
  function keepInputs() {
    const seen = `${store.runId}|${JSON.stringify(store.inputs)}`;
    if (seen !== keptFrom) {
      keptFrom = seen;
      if (store.runId && (store.inputs.length || config.inputs.length)) { config.inputs = store.inputs.slice(0, 100); rememberConfig(); }
    }
    const n = config.inputs.length;
    q("inputs-note").hidden = !n || opts.readonly;
    if (n) q("inputs-count").textContent = `${n} ${plural(n, "intervention")} kept with this run (Run and the link replay ${plural(n, "it", "them")}).`;
  }

  function captionFor(scn) {
    if (!scn) return presets[config.preset]?.title || "";
    const servers = getPath(scn, "servers.count") ?? 1;
    const scale = store.dotScale > 1 ? ` · each dot = ${fmt(store.dotScale)} viewers` : "";
    return `${fmt(store.viewers)} ${plural(store.viewers, "viewer")} · ${fmt(servers)} ${plural(servers, "app server")} · ${mitigations.describe(scn)}${scale}`;
  }

  /** The text summary (visible, and read politely by screen readers): every request accounted for. */
  function describe() {
    if (store.status === "idle") return store.notice || idleHint();
    if (store.status === "starting") return "Starting…";
    const done = store.status === "finished" && store.summary;
    const sides = store.compare ? [["A: ", store.a, store.summary], ["B: ", store.b, store.summaryB]] : [["", store.a, store.summary]];
    const parts = sides.map(([name, side, summary]) => describeSide(name, side, done ? summary : null)).filter(Boolean);
    if (done) return `Finished. ${parts.join(" ")}`;
    const word = { paused: "Paused", stopped: "Stopped", playing: "Running" }[store.status] || "Running";
    const pace = store.heavy ? ` — playing at ${store.achieved.toFixed(store.achieved >= 0.1 ? 1 : 2)}x, this run is heavy` : "";
    const head = `${word} at ${speedLabel(store.speed)}${pace}, t = ${store.t.toFixed(1)} s.`;
    const notice = store.notice ? ` ${store.notice}` : "";
    return parts.length ? `${head} ${parts.join(" ")}${notice}` : `${head}${notice}`;
  }

  function describeSide(name, side, summary) {
    const f = facts(side, summary);
    if (!f) return "";
    const retried = f.retries ? ` (${fmt(f.retries)} ${plural(f.retries, "retry", "retries")} sent)` : "";
    const failed = `${fmt(f.errors)} failed with an error, ${fmt(f.timeouts)} timed out${retried}`;
    if (summary) {
      const p99 = [f.p99Everyone !== null ? `${fmt(f.p99Everyone)} ms for everyone` : null,
                   f.p99Answered !== null ? `${fmt(f.p99Answered)} ms for the answered` : null].filter(Boolean).join(", ");
      return `${name}${fmt(f.requests)} ${plural(f.requests, "request")}: ${fmt(f.answered)} answered, ${failed}; `
        + `${fmt(f.db_queries)} datastore ${plural(f.db_queries, "query", "queries")}${p99 ? `; p99 latency ${p99}` : ""}; `
        + `datastore down ${(summary.db_down_s ?? 0).toFixed(1)} s.`;
    }
    const s = side.sample;
    return `${name}${fmt(f.requests)} ${plural(f.requests, "request")} so far: ${fmt(f.answered)} answered, ${failed}, `
      + `${fmt(f.open)} still open; ${fmt(s.queued)} queued at the datastore (${side.db.state}), `
      + `${fmt(f.db_queries)} datastore ${plural(f.db_queries, "query", "queries")}.`;
  }

  /** What to do first: a follower waits; a student presses Run (the space bar only when bound). */
  function idleHint() {
    if (opts.readonly) return "Waiting for the instructor to start a run.";
    return `Press Run${opts.keyboard ? " (or the space bar)" : ""} to start the experiment.`;
  }
  q("summary").textContent = idleHint();
  if (opts.presentation) setPresentation(true);

  wake();

  // ---- the handle ------------------------------------------------------------------------------
  const ready = (async () => {
    [schema, presets] = await Promise.all([getJson("/api/schema"), getJson("/api/presets")]);
    mitigations = new Mitigations(schema);
    baselines = new Baselines(mitigations);
    if (opts.shareUrl) {
      const shared = fromQuery(location.search, schema, presets);
      if (shared.preset) config.preset = shared.preset;
      if (Object.keys(shared.overrides).length) config.overrides = shared.overrides;
      config.compare = shared.compare || config.compare;
      if (shared.speed) { store.speed = Math.min(20, Math.max(0.05, shared.speed)); store.touch(); }
      if (Object.keys(shared.compareB).length) config.compareB = shared.compareB;
      if (shared.story) story.set(true, opts.storyFocus, opts.storySide);
      config.inputs = shared.inputs;
    }
    if (!presets[config.preset]) config.preset = Object.keys(presets)[0];
    const pick = q("compare-b");
    pick.replaceChildren(...compareChoices(schema, mitigations));
    if (!opts.readonly) {
      controls = new ScenarioControls(q("controls"), {
        schema, presets, shown: opts.controls, presetPicker: opts.presetPicker, uid, mitigations,
        onChange: (key, value) => switched(key, value),
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
    control(action, value) {
      if (action === "speed") act("speed", value);
      else if (action === "step") act("step");
      else if (action === "seek") transport.seek(clampT(value), store.status === "paused");
      else transport.control(action, value);
    },
    /** Follow mode: feed a `started`/`frame`/`state`/`done`/`error` message from another socket. */
    applyRemote(eventName, payload) { transport.receive(eventName, payload); },
    /** Replace the overrides (nested engine keys over the preset); the next run uses them. */
    setScenario(nested) { config.overrides = structuredClone(nested || {}); forgetInputs(false); rememberConfig(); showConfig(); },
    /**
     * Compare mode for the next run: `b` = side B's overrides over A's scenario (any two
     * configurations: sent as `start.compare` unchanged, B = A + b), null for "A without
     * mitigation, B with yours"; `on` false leaves compare mode.
     */
    setCompare(on, b = null) { config.compare = !!on; config.compareB = on && b ? structuredClone(b) : null; rememberConfig(); showConfig(); },
    /** Guided playback on or off; `focus`: the moments (`what`s) it holds on, e.g. ["resolved"]. */
    setStory(on, focus = null, side = "a") { opts.storyFocus = focus; opts.storySide = side; story.set(on, focus, side); showConfig(); },
    /**
     * What the story narrates, leaving it on or off as the student has it (lessons: each step's
     * moments and side): `focus` as options.storyFocus, `side` "a" or "b".
     */
    setStoryFocus(focus = null, side = "a") { opts.storyFocus = focus; opts.storySide = side; story.set(story.on, focus, side); showConfig(); },
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
    /** The request of side A the student chose (keyboard selection, or its lifecycle open), or null. */
    chosenRequest() { return stages[0].selected ?? openReq; },
    /** What one request of side A is doing, in words, or null when it is not on stage. */
    describeRequest(req) {
      const dot = store.a.dots.get(req);
      return dot ? describeDot(dot) : null;
    },
    /** A room's settings ({preset, scenario}) as lines a student reads: "Request coalescing: promise". */
    async settingLines(settings) {
      await ready;
      const rows = Object.fromEntries(schema.map((r) => [r.key, r]));
      const lines = flatten(settings?.scenario).map(([key, v]) => describeSetting(key, v, rows));
      const title = settings?.preset ? presets[settings.preset]?.title || settings.preset : null;
      return title ? [`Preset: ${title}`, ...lines] : lines;
    },
    destroy() {
      destroyed = true;
      cancelAnimationFrame(raf);
      unwatch();
      sized.disconnect();
      transport.destroy();
      unbindKeys();
      untrap();
      reduced.removeEventListener("change", onMotion);
      for (const [el, type, fn] of listeners) el.removeEventListener(type, fn);
      charts.destroy();
      clearTimeout(noteTimer);
    },
  };

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
      length: () => store.length, endS: () => store.endS, heavy: () => store.heavy, baseline: () => store.baseline,
      notice: () => store.notice, resumedAt: () => store.resumedAt,
      moments: () => store.a.moments.items.map((m) => ({ ...m })), momentsB: () => store.b.moments.items.map((m) => ({ ...m })),
      caption: () => story.caption?.text ?? null, story: () => story.on, inputs: () => structuredClone(store.inputs),
      // The hold on screen: the instant shown and the moment, or null (tests measure it on screen).
      held: () => (story.caption ? { at: story.caption.at, side: story.caption.side, moment: { ...story.caption.moment } } : null),
      storyFocus: () => structuredClone({ focus: story.focus, side: story.side }),
      sent: () => structuredClone(transport.sent),
    };
    for (const [name, get] of Object.entries(getters)) Object.defineProperty(herdlab, name, { get, configurable: true, enumerable: true });
    const value = (v) => ({ configurable: true, value: v });
    // Where side A's dots are drawn (CSS px in its canvas: [x, y, req, state]), for tests that click one.
    Object.defineProperty(herdlab, "dotsOnStage", value((limit) => stages[0].drawnDots(limit)));
    // Call fn(now) at the end of each frame the lab draws (it draws none while nothing changes).
    Object.defineProperty(herdlab, "afterFrame", value((fn) => { afterFrame.add(fn); }));
    // Every label side A's stage (or B's: side "b") drew in its last frame, with the box it had to stay in.
    Object.defineProperty(herdlab, "stageLabels", value((side = "a") => {
      const stage = stages[side === "b" ? 1 : 0];
      return stage.labels.drawn.map(({ text, lines, px, x0, x1, y0, y1, box }) =>
        ({ text, lines, px, x0, x1, y0, y1, box: { x0: box.x0, x1: box.x1 }, width: stage.w, height: stage.h }));
    }));
    // The lab itself, so a test can feed it protocol messages (applyRemote) as a server would.
    Object.defineProperty(herdlab, "lab", value(handle));
  }
  return handle;
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}
