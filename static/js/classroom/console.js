// The instructor's console: creates (or reclaims) the room, drives the lab for everyone, opens the
// presenter screen, steps through a lesson, asks the class to predict, lets the class join the herd.
// A reload (or reconnect) takes the room back with this tab's token and resumes the class's run at
// the class's instant, with the class's lesson step; this browser's other open rooms are listed to
// resume or close (myrooms.js).
import { mountLab } from "../lab/mount.js";
import { herdlab } from "../connection.js";
import { catchUp, joinUrl, reclaim, renderTally, roomSocket, saved, showMessage } from "./room.js";
import { lessonText } from "./lessontext.js";
import { RoomList, remembered } from "./myrooms.js";

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
const myRooms = new RoomList($("my-rooms"), socket, {
  current: () => room?.code,
  // Resume another of this browser's rooms in this tab: the reload path (claim with its token).
  resume: (r) => { saved.clear(); saved.set(r); location.reload(); },
});

socket.on("connect", () => { if (!reclaim(socket)) openRoom(); });

/** A tab with no room of its own: a new room, unless this browser has rooms open to choose from. */
let openings = 0;
async function openRoom() {
  const asked = ++openings;
  const open = await myRooms.check();
  if (room || asked !== openings) return;        // a room came, or a reconnect asked again meanwhile
  if (!open.length) { socket.emit("create", {}); return; }
  showRoomless();
  showMessage($("message"), `This browser has ${open.length === 1 ? "a room" : `${open.length} rooms`} open: resume one below, or open a new room.`);
}
$("new-room").addEventListener("click", () => socket.emit("create", {}));

/** This tab drives no room (yet, or any more): offer a new one; nothing to present or end. */
function showRoomless() {
  room = null;
  $("code-box").hidden = $("count-box").hidden = true;
  $("no-room").hidden = false;
  $("new-room").hidden = false;
  $("present").disabled = $("end").disabled = true;
}

socket.on("room", (snap) => {
  room = snap;
  showMessage($("message"), "");
  $("new-room").hidden = $("no-room").hidden = true;
  $("code-box").hidden = $("count-box").hidden = false;
  $("present").disabled = $("end").disabled = false;
  saved.set({ code: snap.code, display: snap.display_code, ...(snap.token ? { token: snap.token } : {}) });
  if (snap.token) remembered.add({ code: snap.code, display: snap.display_code, token: snap.token });
  $("code").textContent = snap.display_code;
  $("join-hint").textContent = joinUrl(snap);
  $("members").textContent = String(snap.members);
  $("following").textContent = String(snap.following);
  $("herd").setAttribute("aria-pressed", String(snap.herd));
  renderTally($("tally"), snap.prediction);
  pickStep(snap.lesson);
  catchUp(lab, snap);            // back mid-run (a reload): the class's run, at the class's instant
  herdlab.roomCode = snap.code;
  myRooms.check();
});

socket.on("members", (m) => { $("members").textContent = String(m.members); $("following").textContent = String(m.following); });
socket.on("prediction", (p) => renderTally($("tally"), p));
socket.on("herd", ({ on }) => $("herd").setAttribute("aria-pressed", String(on)));
socket.on("lesson", pickStep);   // the presenter's clicker (Page Down / Page Up) moves this picker too
socket.on("room_error", (err) => {
  if (err.event === "claim" && !room) { saved.clear(); openRoom(); return; }   // that room is gone
  if (err.event === "room_status") return;
  showMessage($("message"), err.message);
  if (err.event === "create" && !room) {
    showRoomless();                     // e.g. the address's room cap: close a room below, try again
    myRooms.check();
  }
});
socket.on("room_closed", (m) => {
  showMessage($("message"), m.message);
  if (m.reason === "owner_lost" && reclaim(socket)) return;      // its process died: reopen it here
  if (room) remembered.remove(room.code);
  saved.clear();
  showRoomless();
});

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

/** Show the class's lesson step in the pickers (after a reload, or a step moved from the presenter). */
function pickStep(lesson) {
  if (!lesson || !lessons.some((l) => l.id === lesson.id)) return;
  if ($("lesson").value !== lesson.id) { $("lesson").value = lesson.id; showSteps(); }
  $("step").value = lesson.step;
}
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
});

window.herdlabRoom = { lab, socket, get room() { return room; } };
