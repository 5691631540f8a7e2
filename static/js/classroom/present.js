// The presenter screen (the projector): the join code, URL and QR code, how many have joined, the
// live run, the class's answers beside the result. Fullscreen on a button; a clicker's Page Down or
// "." moves the class to the lesson's next step, Page Up back.
import { mountLab } from "../lab/mount.js";
import { herdlab } from "../connection.js";
import { applySettings, catchUp, follow, joinUrl, renderTally, roomSocket, saved, showLesson, showMessage } from "./room.js";

const $ = (id) => document.getElementById(id);
const guessedJoin = `${$("present").dataset.joinBase}/join`;   // the page's own guess, for an older server
const socket = roomSocket();
const lab = mountLab($("lab"), { readonly: true, keyboard: false, presentation: true });
let lesson = null;

follow(socket, lab);

socket.on("connect", () => {
  const mine = saved.get();
  if (mine?.token) socket.emit("claim", { code: mine.code, token: mine.token });
  else showMessage($("message"), "Open this screen from the instructor's console (it needs the room's control token).");
});
socket.on("room", (snap) => {
  $("code").textContent = snap.display_code;
  $("join-url").textContent = joinUrl(snap, guessedJoin).replace(/^https?:\/\//, "");
  $("qr").src = `/classroom/qr.svg?code=${encodeURIComponent(snap.display_code)}`;
  $("members").textContent = String(snap.members);
  lesson = snap.lesson;
  showLesson($("lesson"), lesson);
  renderTally($("tally"), snap.prediction);
  catchUp(lab, snap);
  herdlab.roomCode = snap.code;
});
socket.on("members", (m) => { $("members").textContent = String(m.members); });
socket.on("prediction", (p) => renderTally($("tally"), p));
socket.on("lesson", (l) => { lesson = l; showLesson($("lesson"), lesson); });
socket.on("settings", (s) => applySettings(lab, s));
socket.on("room_error", (err) => showMessage($("message"), err.message));
socket.on("room_closed", (m) => showMessage($("message"), m.message));

function moveStep(by) {
  if (!lesson) return;
  const i = lesson.steps.indexOf(lesson.step) + by;
  if (i >= 0 && i < lesson.steps.length) socket.emit("lesson", { id: lesson.id, step: lesson.steps[i] });
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
