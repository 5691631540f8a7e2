// The instructor's console: creates (or reclaims) the room, drives the lab for everyone, opens the
// presenter screen, steps through a lesson, asks the class to predict, lets the class join the herd.
import { mountLab } from "../lab/mount.js";
import { herdlab } from "../connection.js";
import { joinUrl, renderTally, roomSocket, saved, showMessage } from "./room.js";
import { lessonText } from "./lessontext.js";

// Join the herd: one background viewer, a hot key that expires fast and a slow datastore, so the
// class's taps are the herd and, with promise coalescing, visibly wait on one fetch.
export const HERD_SCENARIO = {
  duration_s: 60, clients: { count: 1, arrival: "poisson", rate_per_s: 0.01, timeout_s: 0 },
  workload: { kind: "hot_key" }, cache: { ttl_s: 0.5 },
  datastore: { service_ms: 1500, crash: false, connections: 4 },
};

const $ = (id) => document.getElementById(id);
const lessons = JSON.parse($("lessons-data").textContent);
const socket = roomSocket();
const lab = mountLab($("lab"), { preset: "classroom", controls: "all", socket });
let room = null;

socket.on("connect", () => {
  const mine = saved.get();
  if (mine?.token) socket.emit("claim", { code: mine.code, token: mine.token });
  else socket.emit("create", {});
});

socket.on("room", (snap) => {
  room = snap;
  saved.set({ code: snap.code, display: snap.display_code, ...(snap.token ? { token: snap.token } : {}) });
  $("code").textContent = snap.display_code;
  $("join-hint").textContent = joinUrl(snap);
  $("members").textContent = String(snap.members);
  $("herd").setAttribute("aria-pressed", String(snap.herd));
  renderTally($("tally"), snap.prediction);
  herdlab.roomCode = snap.code;
});

socket.on("members", (m) => { $("members").textContent = String(m.members); $("following").textContent = String(m.following); });
socket.on("prediction", (p) => renderTally($("tally"), p));
socket.on("herd", ({ on }) => $("herd").setAttribute("aria-pressed", String(on)));
socket.on("room_error", (err) => {
  if (err.event === "claim") { saved.clear(); socket.emit("create", {}); return; }
  showMessage($("message"), err.message);
});
socket.on("room_closed", (m) => { saved.clear(); showMessage($("message"), m.message); });

// The lab's switches and sliders: every change is sent to the room (debounced), so followers see it.
let settingsTimer = 0;
function sendSettings() {
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(() => {
    socket.emit("settings", { preset: lab.getPreset(), scenario: lab.getScenario(), speed: lab.store.speed });
  }, 150);
}
$("lab").addEventListener("change", sendSettings);
$("lab").addEventListener("input", sendSettings);

// Lessons: pick one, show a step to the class, ask its prediction.
for (const l of lessons) $("lesson").add(new Option(l.title, l.id));
async function showSteps() {
  const lesson = lessons.find((l) => l.id === $("lesson").value);
  $("step").replaceChildren(...(lesson?.steps || []).map((s) => new Option(s.title, s.id)));
  $("predict").disabled = !lesson?.prediction;
  // A menu shows text only: the step titles as the lesson page renders them, without Markdown.
  const text = await lessonText(lesson?.id);
  for (const option of $("step").options) {
    const html = text?.steps[option.value];
    if (html) option.textContent = new DOMParser().parseFromString(html, "text/html").body.textContent;
  }
}
$("lesson").addEventListener("change", showSteps);
showSteps();
$("show-step").addEventListener("click", () => socket.emit("lesson", { id: $("lesson").value, step: $("step").value }));
$("predict").addEventListener("click", () => socket.emit("predict", { lesson: $("lesson").value }));
$("close-answers").addEventListener("click", () => socket.emit("close_prediction", {}));

$("herd").addEventListener("click", () => socket.emit("herd", { on: $("herd").getAttribute("aria-pressed") !== "true" }));
$("herd-run").addEventListener("click", async () => {
  socket.emit("herd", { on: true });
  const coalesce = lab.getScenario().strategy?.coalesce || "none";
  lab.setPreset("classroom");
  lab.setScenario({ ...HERD_SCENARIO, strategy: { coalesce } });
  sendSettings();
  await lab.start();
});

$("present").addEventListener("click", () => window.open("/classroom/present", "herdlab-presenter"));
$("end").addEventListener("click", () => {
  if (!confirm("End the class for everyone?")) return;
  socket.emit("close", {});
  saved.clear();
});

window.herdlabRoom = { lab, socket, get room() { return room; } };
