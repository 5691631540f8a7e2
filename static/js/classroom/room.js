// Shared by the classroom pages: the /room socket, where the room is remembered in this tab, following
// the room's stream into a lab, and the class's answers drawn as bars.
import { connect } from "../connection.js";
import { INBOUND } from "../lab/transport.js";
import { flatten } from "../lab/scenario.js";

const KEY = "herdlab.room";

/** The /room socket, with the page's connection badge. */
export function roomSocket() {
  return connect("/room");
}

/**
 * The room this tab drives or follows, kept in sessionStorage: the control token never leaves the
 * instructor's browser, and a presenter window opened from the console inherits it (same tab tree).
 */
export const saved = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch { return null; } },
  set(value) { sessionStorage.setItem(KEY, JSON.stringify({ ...saved.get(), ...value })); },
  clear() { sessionStorage.removeItem(KEY); },
};

/** Feed the room's run (started/frame/state/done/error) into a readonly lab. */
export function follow(socket, lab, isOn = () => true) {
  for (const name of INBOUND) socket.on(name, (payload) => { if (isOn()) lab.applyRemote(name, payload); });
}

/** Catch up with a room snapshot: the instructor's settings, then the current run's last word. */
export function catchUp(lab, snap) {
  applySettings(lab, snap.settings);
  const run = snap.run || {};
  if (run.started) lab.applyRemote("started", run.started);
  if (run.state) lab.applyRemote("state", run.state);
  if (run.done) lab.applyRemote("done", run.done);
}

export function applySettings(lab, settings) {
  if (!settings) return;
  if (settings.preset) lab.setPreset(settings.preset);
  lab.setScenario(settings.scenario || {});
}

/** "strategy.coalesce: promise" lines for the instructor's current switches and sliders. */
export function settingLines(settings) {
  const lines = flatten(settings?.scenario).map(([key, v]) => `${key}: ${v}`);
  return settings?.preset ? [`preset: ${settings.preset}`, ...lines] : lines;
}

/** Draw the class's answers as labelled bars, with the run's result beside them once it is in. */
export function renderTally(el, p, { title = true } = {}) {
  el.replaceChildren();
  if (!p) { el.hidden = true; return; }
  el.hidden = false;
  const h = document.createElement("h2");
  h.textContent = p.question;
  h.hidden = !title;
  const status = document.createElement("p");
  status.className = "cr-muted";
  status.textContent = `${p.responses} answer${p.responses === 1 ? "" : "s"} · ${p.open ? "answers open" : "answers closed"}`;
  const list = document.createElement("ol");
  list.className = "cr-bars";
  const most = Math.max(1, ...p.tally);
  p.choices.forEach((choice, i) => {
    const li = document.createElement("li");
    li.classList.toggle("right", p.answer === i);
    li.innerHTML = '<span class="cr-bar-label"></span><span class="cr-bar"><span></span></span><span class="cr-bar-n"></span>';
    li.children[0].textContent = `${p.answer === i ? "✓ " : ""}${choice}`;
    li.children[1].firstChild.style.width = `${(100 * p.tally[i]) / most}%`;
    li.children[2].textContent = String(p.tally[i]);
    list.append(li);
  });
  el.append(h, status, list);
  if (p.result) {
    const res = document.createElement("p");
    res.className = "cr-result";
    res.textContent = "The run says: " + Object.entries(p.result).map(([k, v]) => `${k.replace(/_/g, " ")} = ${typeof v === "number" ? v.toLocaleString() : v}`).join(", ");
    el.append(res);
  }
}

/** The lesson step the instructor shows the class ("title — step"), or nothing. */
export function showLesson(el, lesson) {
  el.hidden = !lesson;
  if (lesson) el.textContent = `${lesson.title} — ${lesson.step_title}`;
}

/** Show a refusal or notice from the server where the page keeps its messages. */
export function showMessage(el, text) {
  el.textContent = text;
  el.hidden = !text;
}
