// A lesson page: the narrative beside an embedded lab restricted to the lesson's controls.
// Predict (recorded), run, reveal the run's numbers beside the prediction; checkpoints with the why
// of every answer; experiments switched by buttons; progress kept in this browser.
import { mountLab } from "../lab/mount.js";
import { canonical, getPath } from "../lab/scenario.js";
import { summaryLatency } from "../lab/latency.js";
import { revealShares, summaryLabel } from "./labels.js";
import { load, save, tally } from "./progress.js";
import { CodeLight } from "./codelight.js";

const data = JSON.parse(document.getElementById("lesson-data").textContent);
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const number = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const MAX_RUNS = 8;

const show = (v) => (typeof v === "number" ? number.format(v) : v == null ? "–" : String(v));
/** 0.375 → "37.5%", 0.0004 → "0.04%": enough digits that a small share is not "0%". */
const percent = (x) => `${(x * 100).toLocaleString("en", { maximumSignificantDigits: x >= 0.1 ? 3 : 2 })}%`;

let progress = load(data.id);
const experiments = data.experiments;
const firstExperiment = data.prediction?.experiment || Object.keys(experiments)[0];
let current = firstExperiment;
let pendingStart = false;   // the prediction's Run button asked for a run of its experiment
// step id -> {experiment, moment, nth, side, code} (lessons L1); an older page has none.
const stepInfo = data.step_info || {};

// ---- the lab: one mount, showing the union of the lesson's controls ----------------------------
const speedParam = Number(new URLSearchParams(location.search).get("speed"));
const controls = [...new Set(Object.values(experiments).flatMap((e) => e.controls))];
const lab = mountLab(document.getElementById("lab"), {
  preset: experiments[current].preset,
  overrides: experiments[current].overrides,
  controls,
  presetPicker: false,   // the experiment tabs choose the scenario; the preset's description would give the prediction away
  keyboard: false,       // the narrative has its own form controls; no global shortcuts here
  speed: speedParam >= 0.05 && speedParam <= 20 ? speedParam : 1,
  story: true,             // every run a lesson asks for is narrated, unless the student switched it off
  storyMemory: "lessons",
  onDone: (summary) => finished(summary),
});

/**
 * The story follows the step that loaded the run: it holds on the moment that step names (the
 * `nth` of them, on the `side` it names), or on each kind of moment once when it names none. Without
 * a step, the first step running this experiment that names a moment decides. Story mode itself
 * stays as the student has it (on unless they switched it off).
 */
function storyFor(id, stepId) {
  const named = (s) => stepInfo[s]?.experiment === id && stepInfo[s].moment;
  const step = stepId && named(stepId) ? stepId : Object.keys(stepInfo).find(named);
  const info = step ? stepInfo[step] : null;
  const side = info?.side === "b" && experiments[id]?.compare ? "b" : "a";
  lab.setStoryFocus(info?.moment ? [{ what: info.moment, nth: info.nth || 1 }] : null, side);
}

let comparing = false;      // the current experiment declared a compare pair (lessons L2)
function selectExperiment(id, stepId = null) {
  const e = experiments[id];
  if (!e) return;
  current = id;
  lab.setPreset(e.preset);
  lab.setScenario(e.overrides);
  // A declared pair: side B = the experiment plus its `compare` overrides, sent unchanged.
  if (e.compare) lab.setCompare(true, e.compare);
  else if (comparing) lab.setCompare(false);
  comparing = !!e.compare;
  storyFor(id, stepId);
  for (const tab of $$(".exp-tab")) tab.setAttribute("aria-pressed", String(tab.dataset.experiment === id));
  for (const btn of $$(".load-exp")) btn.classList.toggle("active", btn.dataset.experiment === id);
}

function isUnchanged(id) {
  const e = experiments[id];
  return canonical(lab.getScenario()) === canonical(e.overrides) && lab.getPreset() === e.preset;
}

/** The lab is beside the text (a wide screen), not under it (below 1100 px: lessons.css). */
function labBeside() {
  return window.matchMedia("(min-width: 1101px)").matches;
}

/** Bring the lab's stage into view when it is not (on a phone it is far below the text). */
function showLab() {
  const stage = document.querySelector('#lab [data-role="stage-a"]');
  const box = stage.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) {
    const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    stage.scrollIntoView({ block: "start", behavior: reduced ? "auto" : "smooth" });
  }
}

for (const btn of $$("[data-experiment]")) {
  btn.addEventListener("click", () => {
    selectExperiment(btn.dataset.experiment, btn.closest("[data-step]")?.dataset.step ?? null);
    if (btn.classList.contains("load-exp")) showLab();
  });
}

// ---- a run finished: record it, reveal the prediction, check the goal --------------------------
function finished(summary) {
  const exact = isUnchanged(current);
  const label = experiments[current].label + (exact ? "" : " (your settings)");
  const latency = summaryLatency(summary);
  const row = { label, db_queries: summary.db_queries, failed: `${show(summary.errors)} · ${show(summary.timeouts)}`,
                p99Everyone: latency.everyone?.p99, p99Answered: latency.answered?.p99 };
  progress = save(data.id, { runs: [row, ...(progress.runs || [])].slice(0, MAX_RUNS) });
  showRuns();
  const p = data.prediction;
  if (p && current === p.experiment && progress.prediction != null) {
    if (exact) {
      const reveal = Object.fromEntries(p.reveal.map((k) => [k, getPath(summary, k)]));
      progress = save(data.id, { revealed: reveal });
      showReveal();
    } else if (pendingStart || !progress.revealed) {
      note("You changed the experiment's settings, so this run does not answer the prediction. Press Run on the prediction again.");
    }
  }
  pendingStart = false;
  if (data.goal && current === data.goal.experiment) checkGoal(summary);
  showProgress();
}

function showRuns() {
  const runs = progress.runs || [];
  $('[data-role="runs"]').hidden = runs.length === 0;
  $('[data-role="runs-rows"]').replaceChildren(...runs.map((r) => {
    const tr = document.createElement("tr");
    // Rows saved by an older version of this page have errors and a p99 over answered requests.
    const failed = r.failed ?? (r.errors === undefined ? undefined : `${show(r.errors)} · –`);
    for (const v of [r.label, r.db_queries, failed, r.p99Everyone, r.p99Answered ?? r.p99]) {
      const td = document.createElement("td");
      td.textContent = show(v);
      tr.append(td);
    }
    return tr;
  }));
}

// ---- predict, then run -------------------------------------------------------------------------
const form = $('[data-role="prediction"]');
const note = (text) => { if (form) $('[data-role="predict-note"]', form).textContent = text; };

function choiceText(index) {
  return $$("[data-choice-text]", form)[index]?.textContent.trim() ?? "";
}

function showPrediction() {
  if (!form) return;
  const chosen = progress.prediction;
  const locked = chosen != null;
  for (const input of $$('input[name="prediction"]', form)) {
    input.checked = locked && Number(input.value) === chosen;
    input.disabled = locked;
  }
  $('[data-role="lock"]', form).disabled = locked;
  $('[data-role="run-prediction"]', form).disabled = !locked;
  if (locked && !progress.revealed) note(`Recorded: “${choiceText(chosen)}”. Now run the experiment.`);
  showReveal();
}

function showReveal() {
  if (!form || !progress.revealed) return;
  const p = data.prediction;
  const row = (label, value) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(th, td);
    return tr;
  };
  // The counts, then each as the share of the requests it is part of (a question about a share is
  // answered by a share, not by two counts to divide).
  $('[data-role="reveal-rows"]', form).replaceChildren(
    ...p.reveal.map((key) => row(summaryLabel(key), show(progress.revealed[key]))),
    ...revealShares(p.reveal, progress.revealed).map(([label, share]) => row(label, percent(share))));
  const right = progress.prediction === p.answer;
  const verdict = $('[data-role="verdict"]', form);
  verdict.textContent = right
    ? `You predicted “${choiceText(progress.prediction)}”, and the run agrees. ✓`
    : `You predicted “${choiceText(progress.prediction)}”. The run shows: “${choiceText(p.answer)}”.`;
  verdict.dataset.right = String(right);
  for (const [i, label] of $$(".choice", form).entries()) {
    label.classList.toggle("is-answer", i === p.answer);
    label.classList.toggle("is-wrong", i === progress.prediction && !right);
  }
  $('[data-role="reveal"]', form).hidden = false;
  note("");
}

if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = $('input[name="prediction"]:checked', form);
    if (!chosen) { note("Pick one answer first: a guess you commit to teaches more than one you read."); return; }
    progress = save(data.id, { prediction: Number(chosen.value) });
    showPrediction();
    $('[data-role="run-prediction"]', form).focus();
  });
  $('[data-role="run-prediction"]', form).addEventListener("click", async () => {
    selectExperiment(data.prediction.experiment, data.prediction.step);
    pendingStart = true;
    note(labBeside() ? "Running… watch the lab beside this text." : "Running… the lab is below the text: the page has scrolled to it.");
    showLab();
    await lab.start();
  });
}

// ---- checkpoints: immediate feedback, with the why of the chosen answer ------------------------
function showCheckpoint(box) {
  const id = box.dataset.checkpoint;
  const saved = progress.checkpoints?.[id];
  const feedback = $('[data-role="feedback"]', box);
  for (const why of $$(".why", box)) why.hidden = !saved || Number(why.dataset.why) !== saved.choice;
  for (const input of $$("input", box)) input.checked = saved != null && Number(input.value) === saved.choice;
  box.dataset.state = saved ? (saved.correct ? "right" : "wrong") : "";
  feedback.textContent = !saved ? "" : saved.correct ? "Right." : "Not quite. Read why, then try another answer.";
}

/**
 * A checkpoint is answered by a click (or Space) on a choice, or Enter on the focused one. The arrow
 * keys only move between the choices (a radio group selects as it moves): passing over a wrong
 * answer on the way to the right one records nothing.
 */
for (const box of $$(".checkpoint")) {
  let moving = false;
  const answer = (choice) => {
    const correct = choice === data.checkpoints[box.dataset.checkpoint].answer;
    progress = save(data.id, { checkpoints: { ...(progress.checkpoints || {}), [box.dataset.checkpoint]: { choice, correct } } });
    showCheckpoint(box);
    showProgress();
  };
  box.addEventListener("keydown", (event) => {
    if (event.key.startsWith("Arrow")) moving = true;
    else if (event.key === "Enter" && event.target.matches('input[type="radio"]')) {
      event.preventDefault();
      answer(Number(event.target.value));
    }
  });
  box.addEventListener("change", (event) => {
    if (moving) {
      moving = false;
      $('[data-role="feedback"]', box).textContent = "Press Enter (or Space) to answer with this choice.";
      return;
    }
    answer(Number(event.target.value));
  });
  box.addEventListener("pointerdown", () => { moving = false; });
  box.addEventListener("keyup", (event) => {
    // Space on the choice already selected by the arrows answers with it.
    if (event.key === " " && event.target.matches('input[type="radio"]:checked')) answer(Number(event.target.value));
  });
  showCheckpoint(box);
}

// ---- the capstone goal: the server checks the student's own run --------------------------------
async function checkGoal(summary) {
  const list = $('[data-role="goal-results"]');
  if (!list) return;
  try {
    const res = await fetch(data.goal.url, { method: "POST", headers: { "Content-Type": "application/json" },
                                              body: JSON.stringify({ summary }) });
    const answer = await res.json();
    for (const result of answer.results || []) {
      const li = $$("li", list).find((item) => item.dataset.check === result.check);
      if (!li) continue;
      li.dataset.ok = String(result.ok);
      li.querySelector("span").textContent = `${result.ok ? "✓ met" : "✗ not yet"}: ${yourRun(result.check, summary)}`;
    }
    list.closest('[data-role="goal"]').dataset.ok = String(!!answer.ok);
    if (answer.ok) progress = save(data.id, { goal: true });
  } catch {
    list.closest('[data-role="goal"]').dataset.ok = "unknown";
  }
}

/** What the student's run had for the keys a goal line names: "your run: errors = 9,082". */
function yourRun(check, summary) {
  const keys = [...new Set(check.match(/[a-z_]+(?:\.[a-z0-9_]+)*/g) || [])].filter((k) => typeof getPath(summary, k) === "number");
  if (!keys.length) return "checked against your run";
  return `your run: ${keys.map((k) => `${summaryLabel(k).toLowerCase()} ${show(getPath(summary, k))}`).join(", ")}`;
}

// ---- progress: tasks done, steps seen, where to continue ---------------------------------------
const totalTasks = Object.keys(data.checkpoints).length + (data.prediction ? 1 : 0);

function showProgress() {
  const t = tally(progress, totalTasks);
  const line = $('[data-role="progress"]');
  line.textContent = t.finished ? `Lesson complete: all ${t.total} tasks done. ✓` : `${t.done} of ${t.total} tasks done.`;
  line.dataset.finished = String(t.finished);
  const seen = new Set(progress.seen || []);
  for (const link of $$("[data-toc]")) link.classList.toggle("seen", seen.has(link.dataset.toc));
}

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const step = entry.target.dataset.step;
    // Reading a step about a moment of the run already in the lab: the story holds on that moment.
    if (stepInfo[step]?.moment && stepInfo[step].experiment === current) storyFor(current, step);
    const seen = new Set(progress.seen || []);
    seen.add(step);
    progress = save(data.id, { step, seen: [...seen] });
    showProgress();
  }
}, { rootMargin: "0px 0px -60% 0px" });
for (const section of $$(".step")) observer.observe(section);

if (!location.hash && progress.step && progress.step !== data.steps[0]) {
  const line = $('[data-role="progress"]');
  const more = document.createElement("a");
  more.href = `#step-${progress.step}`;
  more.className = "continue";
  more.textContent = "Continue where you left off →";
  line.after(more);
}

selectExperiment(current, data.prediction?.experiment === current ? data.prediction.step : null);
// Each step's code follows the side of the run its step names (a pair's side B: lessons 5 and 6).
for (const figure of $$(".code-beside[data-code]")) {
  const step = figure.closest("[data-step]")?.dataset.step;
  new CodeLight(figure, lab, data.code_lines?.[figure.dataset.code] ?? null, stepInfo[step]?.side === "b" ? "b" : "a");
}
showPrediction();
showRuns();
showProgress();
window.herdlabLesson = { id: data.id, lab, experiment: () => current };
