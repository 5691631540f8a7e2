// Shared by the classroom pages: the /room socket, where the room is remembered in this tab, following
// the room's stream into a lab, and the class's answers drawn as bars.
import { connect } from "../connection.js";
import { INBOUND } from "../lab/transport.js";
import { summaryLabel } from "../lessons/labels.js";
import { lessonText, showRich } from "./lessontext.js";

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

/**
 * Take the room back with this tab's control token (a reload, a reconnect, or `room_closed` with
 * reason "owner_lost": the process that held the room died and another one reopens it). False
 * when this tab has no token (it never drove a room).
 */
export function reclaim(socket) {
  const mine = saved.get();
  if (!mine?.token) return false;
  socket.emit("claim", { code: mine.code, token: mine.token });
  return true;
}

/** Feed the room's run (started/frame/state/done/error) into a readonly lab. */
export function follow(socket, lab, isOn = () => true) {
  for (const name of INBOUND) socket.on(name, (payload) => { if (isOn()) lab.applyRemote(name, payload); });
}

/**
 * Catch up with a room snapshot: the instructor's settings, then the current run's last word and
 * `history`, one `resume` frame at the class's instant (webapp/classroom/history.py): the requests
 * in flight now, so the stage draws what the run is doing at once, not only what arrives next; for a
 * console or presenter also the run's samples so far, so its charts are the class's from the start.
 */
export function catchUp(lab, snap) {
  applySettings(lab, snap.settings);
  const run = snap.run || {};
  if (run.started) lab.applyRemote("started", run.started);
  if (run.state) lab.applyRemote("state", run.state);
  if (run.history) lab.applyRemote("frame", run.history);
  if (run.done) lab.applyRemote("done", run.done);
}

export function applySettings(lab, settings) {
  if (!settings) return;
  if (settings.preset) lab.setPreset(settings.preset);
  lab.setScenario(settings.scenario || {});
}

/**
 * Draw the class's answers as labelled bars, with the run's result beside them once it is in. A
 * lesson's question and choices are shown as its page renders them (no raw Markdown).
 */
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
  const labels = p.choices.map((choice, i) => {
    const li = document.createElement("li");
    li.classList.toggle("right", p.answer === i);
    li.innerHTML = '<span class="cr-bar-label"><span class="cr-tick"></span><span></span></span><span class="cr-bar"><span></span></span><span class="cr-bar-n"></span>';
    li.children[0].firstChild.textContent = p.answer === i ? "✓ " : "";
    li.children[0].lastChild.textContent = choice;
    li.children[1].firstChild.style.width = `${(100 * p.tally[i]) / most}%`;
    li.children[2].textContent = String(p.tally[i]);
    list.append(li);
    return li.children[0].lastChild;
  });
  el.append(h, status, list);
  if (p.result) {
    const res = document.createElement("p");
    res.className = "cr-result";
    res.textContent = "The run says: " + Object.entries(p.result)
      .map(([k, v]) => `${summaryLabel(k)}: ${typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 1 }) : v}`).join(" · ");
    el.append(res);
  }
  richPrediction(p, h, labels);
}

/** Replace a lesson prediction's plain question and choices by the lesson page's rendering. */
export async function richPrediction(p, questionEl, choiceEls) {
  const text = await lessonText(p.lesson);
  if (!text || text.choices.length !== choiceEls.length) return;
  if (text.question) showRich(questionEl, text.question, p.question);
  choiceEls.forEach((el, i) => showRich(el, text.choices[i], p.choices[i]));
}

/** The lesson step the instructor shows the class ("title — step"), or nothing. */
export async function showLesson(el, lesson) {
  el.hidden = !lesson;
  if (!lesson) return;
  const shown = (el.dataset.shown = `${lesson.id}/${lesson.step}`);
  const titled = lesson.step_title === lesson.title;       // a lesson's first step is often its title
  el.textContent = titled ? lesson.title : `${lesson.title} — ${lesson.step_title}`;
  if (titled) return;
  const step = (await lessonText(lesson.id))?.steps[lesson.step];
  if (!step || el.dataset.shown !== shown) return;
  const title = document.createElement("span");
  showRich(title, step, lesson.step_title);
  el.replaceChildren(`${lesson.title} — `, title);
}

/**
 * The address students join at, as console and presenter both write it: the room's `join_url` (the
 * QR code's too, never built from this page's Host), without "http://", which nobody needs to type.
 */
export function joinUrl(snap) {
  return (snap?.join_url || `${location.origin}/join`).replace(/^http:\/\//, "");
}

/** Show a refusal or notice from the server where the page keeps its messages. */
export function showMessage(el, text) {
  el.textContent = text;
  el.hidden = !text;
}
