// The presenter screen (the projector): the join code, URL and QR code, how many have joined, the
// live run, the class's answers beside the result, all on one screen (classroom.css lays it out; a
// long question's type shrinks to fit, below). Fullscreen on a button; a clicker's Page Down or "."
// moves the class to the lesson's next step, Page Up back.
import { mountLab } from "../lab/mount.js";
import { herdlab } from "../connection.js";
import { applySettings, catchUp, follow, joinUrl, reclaim, renderTally, roomSocket, showLesson, showMessage } from "./room.js";

const $ = (id) => document.getElementById(id);
const socket = roomSocket();
const lab = mountLab($("lab"), { readonly: true, keyboard: false, presentation: true });
let lesson = null;
// The steps this screen asked for that the room has not announced yet, oldest first. A clicker
// pressed again before the first answer came used to start from the last announced step: Page
// Down twice moved the class one step, and Page Down then Page Up went back past where it began
// (seen on a busy machine). Each press now starts from the last step asked for; an announcement
// that is not the next one asked for (the console moved the class, or a refusal) drops them all.
let asked = [];

follow(socket, lab);

socket.on("connect", () => {
  if (!reclaim(socket)) showMessage($("message"), "Open this screen from the instructor's console (it needs the room's control token).");
});
socket.on("room", (snap) => {
  showMessage($("message"), "");
  $("code").textContent = snap.display_code;
  $("join-url").textContent = joinUrl(snap);
  $("qr").src = `/classroom/qr.svg?code=${encodeURIComponent(snap.display_code)}`;
  $("members").textContent = String(snap.members);
  lesson = snap.lesson;
  asked = [];
  showLesson($("lesson"), lesson);
  showTally(snap.prediction);
  catchUp(lab, snap);
  herdlab.roomCode = snap.code;
});
socket.on("members", (m) => { $("members").textContent = String(m.members); });
socket.on("prediction", (p) => showTally(p));

/**
 * The class's answers take the room the layout gives them; a long question or long choices must not
 * push the charts off the projector, so their type shrinks, a step at a time, until the page fits the
 * screen (not below FIT_FLOOR of its size: past that the text would not be read from the back).
 * Run a frame after anything changed size (the answers, the lab's parts, the window), never inside
 * the ResizeObserver's own callback.
 */
const FIT_STEP = 0.05, FIT_FLOOR = 0.7;
let fitting = 0;
function fitTally() {
  fitting = 0;
  const tally = $("tally");
  let fit = 1;
  tally.style.setProperty("--fit", "1");
  const overflows = () => document.documentElement.scrollHeight > window.innerHeight;
  while (!tally.hidden && overflows() && fit - FIT_STEP >= FIT_FLOOR - 1e-9) {
    fit -= FIT_STEP;
    tally.style.setProperty("--fit", fit.toFixed(2));
  }
}
const scheduleFit = () => { fitting ||= requestAnimationFrame(fitTally); };
new ResizeObserver(scheduleFit).observe(document.body);
window.addEventListener("resize", scheduleFit);
// The answers coming and going move the lab's parts, maybe while the run is paused and no frame
// redraws it: the lab rebuilds its charts for their new width when told something changed.
new ResizeObserver(() => lab.store.touch()).observe($("lab").querySelector('[data-role="charts"]'));

function showTally(prediction) {
  renderTally($("tally"), prediction);
  scheduleFit();
}
socket.on("lesson", (l) => {
  if (asked.length && l.id === lesson?.id && asked[0] === l.step) asked.shift();
  else asked = [];
  lesson = l;
  showLesson($("lesson"), lesson);
});
socket.on("settings", (s) => applySettings(lab, s));
socket.on("room_error", (err) => { asked = []; showMessage($("message"), err.message); });
socket.on("room_closed", (m) => {
  showMessage($("message"), m.message);
  if (m.reason === "owner_lost") reclaim(socket);
});

function moveStep(by) {
  if (!lesson) return;
  const from = asked.length ? asked[asked.length - 1] : lesson.step;
  const i = lesson.steps.indexOf(from) + by;
  if (i < 0 || i >= lesson.steps.length) return;
  asked.push(lesson.steps[i]);
  socket.emit("lesson", { id: lesson.id, step: lesson.steps[i] });
}

document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, select, textarea")) return;
  if (e.key === "PageDown" || e.key === ".") { e.preventDefault(); moveStep(+1); }
  else if (e.key === "PageUp") { e.preventDefault(); moveStep(-1); }
  else if (e.key === "f") toggleFullscreen();
});

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.().catch(() => {});
}
$("fullscreen").addEventListener("click", toggleFullscreen);
