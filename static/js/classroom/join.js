// A student's page: join with a code, follow the instructor's lab, answer the class question, tap to
// join the herd, detach to experiment alone and rejoin the live view. The room and the student's
// signed member token are kept in this tab (sessionStorage), so a reload rejoins the same room as
// the same student, with their answer, their requests and their tap budget, without the code.
import { mountLab } from "../lab/mount.js";
import { herdlab } from "../connection.js";
import { applySettings, catchUp, follow, renderTally, richPrediction, roomSocket, showLesson, showMessage } from "./room.js";

const $ = (id) => document.getElementById(id);
const socket = roomSocket();
const followLab = mountLab($("follow-lab"), { readonly: true, keyboard: false });
let ownLab = null;
let joined = null, following = true, prediction = null, chosen = null;
let taps = { left: 0, budget: 0 };
const mine = new Map();   // my request id -> its latest status text
const mineItems = new Map();   // its item in the list (showMine): {li, status: its Text node}

/** The room this tab joined and the student's member token: `{code, display, member}`, or null. */
const member = {
  KEY: "herdlab.member",
  get() { try { return JSON.parse(sessionStorage.getItem(member.KEY)) || null; } catch { return null; } },
  set(value) { sessionStorage.setItem(member.KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(member.KEY); },
};
const canonical = (code) => code.replace(/[\s_.-]+/g, "").toUpperCase();
if (!$("code").value && member.get()) $("code").value = member.get().display;   // a reload: no code to type

follow(socket, followLab, () => following);
// Read-only facts for tests and diagnostics: when (Date.now()) the last settings and run arrived.
const seen = { settingsAt: 0, startedAt: 0 };
herdlab.room = { get joined() { return joined; }, get following() { return following; }, mine, seen };
// A new run, a new herd: request ids belong to one run, and the old ids would mark strangers.
socket.on("started", () => {
  seen.startedAt = Date.now();
  mine.clear();
  followLab.highlight([]);
  taps.left = taps.budget;
  showMine();
});

/** Join a room; this tab's member token for it (if any) makes it the same student again. */
function join(code) {
  const mineBefore = member.get();
  const same = mineBefore && mineBefore.code === canonical(code);
  socket.emit("join", { code, ...(same ? { member: mineBefore.member } : {}) });
}

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  join($("code").value);
});
socket.on("connect", () => {
  if (joined) join(joined.code);                          // reconnected: same member, same room
  else if ($("code").value) join($("code").value);       // came from the QR code
});

socket.on("joined", (snap) => {
  joined = snap;
  member.set({ code: snap.code, display: snap.display_code, member: snap.member });
  $("join-view").hidden = true;
  $("room-view").hidden = false;
  $("room-code").textContent = snap.display_code;
  showMessage($("message"), "");
  setFollowing(true);
  applySnapshot(snap);
});
socket.on("snapshot", (snap) => { setFollowing(true); applySnapshot(snap); });
socket.on("detached", () => setFollowing(false));
socket.on("settings", showSettings);
socket.on("lesson", (lesson) => showLesson($("lesson"), lesson));
socket.on("members", (m) => { $("members").textContent = `${m.members} in the room`; });
socket.on("prediction", showPrediction);
socket.on("answered", ({ choice }) => { chosen = choice; showPrediction(prediction); });
socket.on("herd", ({ on }) => { $("herd-box").hidden = !on; });
socket.on("tapped", ({ req }) => { mine.set(req, "sent"); taps.left = Math.max(0, taps.left - 1); followLab.highlight([...mine.keys()]); showMine(); });
socket.on("room_error", (err) => {
  showMessage($("message"), err.message);
  if (err.event === "join" && err.reason === "no_room" && !joined) member.clear();   // that room is gone
});
socket.on("room_closed", (m) => {
  // Its process died ("owner_lost"): the instructor reopens it with the same code, so one tap on Join rejoins.
  if (m.reason === "owner_lost" && joined) $("code").value = joined.display_code;
  else member.clear();
  joined = null;
  showMessage($("message"), m.message);
  $("room-view").hidden = true;
  $("join-view").hidden = false;
});
// The follow lab applied the frame already (it listens first): read my requests' states from it.
socket.on("frame", describeMine);

/** My requests' states in the stage's own words; a request that has left the stage keeps its last words. */
function describeMine() {
  if (!mine.size) return;
  for (const req of mine.keys()) {
    const words = followLab.describeRequest(req);
    if (words) mine.set(req, words);
  }
  showMine();
}

function applySnapshot(snap) {
  catchUp(followLab, snap);
  showSettings(snap.settings);
  showLesson($("lesson"), snap.lesson);
  prediction = snap.prediction;              // the room's question now, and (you) my answer to it
  if (snap.you) mineAgain(snap.you);
  showPrediction(snap.prediction);
  $("herd-box").hidden = !snap.herd;
  $("members").textContent = `${snap.members} in the room`;
}

function setFollowing(on) {
  following = on;
  $("follow-lab").hidden = !on;
  $("own-lab").hidden = on;
  $("follow-state").textContent = on ? "Following the instructor" : "On your own — the class carries on without you";
  $("detach").textContent = on ? "Detach: experiment on my own" : "Rejoin the class";
  if (!on && !ownLab) {
    ownLab = mountLab($("own-lab"), { controls: "all", keyboard: true, globals: false });
    applySettings(ownLab, joined?.settings);
  }
}
$("detach").addEventListener("click", () => socket.emit(following ? "detach" : "rejoin", {}));

async function showSettings(settings) {
  seen.settingsAt = Date.now();
  if (joined) joined.settings = settings;
  const lines = await followLab.settingLines(settings);
  if (joined && joined.settings !== settings) return;        // newer settings arrived meanwhile
  $("settings").replaceChildren(...lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
  $("settings-box").hidden = !lines.length;
}

/**
 * What the room kept of mine (a reload, a reconnect): my answer, my requests, my taps left. A request
 * still in flight is on the stage already (the snapshot's catch-up): its live state at once.
 */
function mineAgain(you) {
  chosen = you.choice;
  taps = { left: you.taps_left, budget: you.tap_budget };
  mine.clear();
  for (const req of you.taps) mine.set(req, "sent before you rejoined");
  followLab.highlight([...mine.keys()]);
  showMine();
  describeMine();
}

function showPrediction(p) {
  if (p?.id !== prediction?.id && prediction) chosen = null;   // a new question: no answer yet
  prediction = p;
  const box = $("question");
  box.hidden = !p;
  if (!p) return;
  $("question-text").textContent = p.question;
  const choices = $("choices");
  const buttons = p.choices.map((text, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.disabled = !p.open;
    b.setAttribute("aria-pressed", String(chosen === i));
    b.addEventListener("click", () => socket.emit("answer", { choice: i }));
    return b;
  });
  choices.replaceChildren(...buttons);
  richPrediction(p, $("question-text"), buttons);
  $("question-state").textContent = p.open ? (chosen === null ? "Tap your answer." : "Answer sent — you can change it until the run starts.") : "Answers are closed.";
  renderTally($("class-answers"), p.result ? p : null, { title: false });
}

$("tap").addEventListener("click", () => socket.emit("tap", {}));

/**
 * My requests, newest last; each opens its lifecycle in the lab (its dot is the one marked "you").
 * Updated in place: the list is refreshed on every frame of the run, and a button made anew each
 * time was gone between a press and its release (a tap on a phone lasts ~100 ms), so the press
 * opened nothing.
 */
function showMine() {
  $("taps-left").textContent = `${taps.left} of ${taps.budget} taps left in this run`;
  const shown = [...mine].slice(-8);
  const keep = new Set(shown.map(([req]) => req));
  for (const [req, item] of mineItems) if (!keep.has(req)) { item.li.remove(); mineItems.delete(req); }
  for (const [req, status] of shown) {
    let item = mineItems.get(req);
    if (!item) {
      const li = document.createElement("li");
      const b = Object.assign(document.createElement("button"), { type: "button", className: "cr-mine-req", textContent: `#${req}` });
      b.setAttribute("aria-label", `Show the lifecycle of my request ${req}`);
      b.addEventListener("click", () => followLab.showRequest(req));
      item = { li, status: document.createTextNode("") };
      li.append(b, item.status);
      $("mine").append(li);          // (a new request is the newest: it goes last)
      mineItems.set(req, item);
    }
    if (item.status.data !== `: ${status}`) item.status.data = `: ${status}`;
  }
}
