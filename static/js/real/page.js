// The /real page: the lab (mountLab, unchanged) driving runs against the real services over the
// /real namespace. The page adds what only a real run has: its settings (sent with `start`), its
// place in the datastore's line and its progress (`real` messages), and, beside the simulation,
// a comparison of the two once both are done.
import { connect } from "../connection.js";
import { mountLab } from "../lab/mount.js";
import { fmt } from "../lab/format.js";
import { CONTROLS, PRESET, STORIES, overridesOf } from "./stories.js";
import { rows, says } from "./verdict.js";

const $ = (sel) => document.querySelector(sel);
const root = document.getElementById("lab");
const status = $("[data-role=real-status]");
const notice = $("[data-role=real-notice]");
const verdict = $("[data-role=verdict]");
let started = null;        // the current run's `started` (mode real), for the captions
let pending = null;        // the run_id of our run that has not started yet (from `real` messages)

/** The settings a real run is started with, read from the page's own controls. */
function realSettings() {
  return {
    real: { processes: Number($("[data-real=processes]").value), query: $("[data-real=query]").value },
    beside: $("[data-real=beside]").checked,
  };
}

// mountLab talks to a socket; this one adds the real settings to every `start` it sends.
const socket = connect("/real");
const realSocket = {
  on: (name, fn) => socket.on(name, fn),
  off: (name, fn) => socket.off(name, fn),
  emit: (name, payload) => socket.emit(name, name === "start" ? { ...payload, ...realSettings() } : payload),
};

// ?story=ID chooses the experiment (a lesson links to one).
const asked = new URLSearchParams(location.search).get("story");
const first = STORIES.some(([id]) => id === asked) ? asked : "herd";

const lab = mountLab(root, {
  preset: PRESET,
  overrides: overridesOf(first),
  controls: CONTROLS,
  presetPicker: false,
  socket: realSocket,
  caption: (side, text) => {
    if (!started) return side === "a" ? "Real: PostgreSQL + Redis" : text;   // not the preset title
    const bare = text.replace(/^[AB] — /, "");
    if (side === "b") return `B — the simulation of the same arrivals · ${bare}`;
    const processes = started.processes ?? 1;
    return `${started.beside ? "A — " : ""}Real: PostgreSQL + Redis, ${fmt(processes)} app-server ${processes === 1 ? "process" : "processes"} · ${bare}`;
  },
  onStarted: (msg) => {
    started = msg.mode === "real" ? msg : null;
    pending = null;
    verdict.hidden = true;
    status.textContent = msg.beside
      ? "Recorded. Playing the real run (A) and the simulation of the same arrivals (B) together."
      : "Live: the dots are the real requests, as PostgreSQL and Redis answer them.";
  },
  onDone: (summary, summaryB) => {
    status.textContent = "";
    if (summary?.mode === "real" && summaryB) showVerdict(summary, summaryB);
  },
});
// A real run has no A/B of two mitigations (its B is the simulation), and its link would not
// replay it: those two tools are the simulated lab's.
for (const role of ["compare", "share"]) root.querySelector(`[data-role=${role}]`).hidden = true;

socket.on("real", (msg) => {
  if (!msg) return;
  if (typeof msg.run_id === "string" && msg.run_id !== pending) {
    pending = msg.run_id;
    showNotice(null);                        // a new run: the last one's notice is not its
  }
  // Before the run starts: it measured that this machine cannot make the planned herd, and
  // stretches its queries. Shown apart from the status (which moves on), until the next run.
  if (msg.phase === "notice" && typeof msg.notice === "string") showNotice(msg.notice);
  if (typeof msg.message !== "string") return;
  status.textContent = msg.message;
  verdict.hidden = true;
});
// A real run can fail before it starts (its plan refused, services that will not start, a
// deadline): the server says so with that run's id, which the lab does not know yet (it knows
// runs from `started`), so it would drop it. Handed to the lab without the id, it is shown as
// any refused start is (the lab's alert, "Starting…" gone), with the reason and what to do.
socket.on("error", (msg) => {
  status.textContent = "";
  const id = msg?.run_id;
  if (!id || id === lab.store.runId) return;        // the lab's own (it showed it)
  if (id === pending || lab.store.status === "starting") {
    pending = null;
    lab.applyRemote("error", { ...msg, run_id: null });
  }
});

// ---- the experiments ---------------------------------------------------------------------------
const stories = $("[data-role=stories]");
for (const [id, title, expect] of STORIES) {
  const label = document.createElement("label");
  label.className = "real-story";
  label.innerHTML = `<input type="radio" name="real-story"><span><strong></strong><small></small></span>`;
  const input = label.querySelector("input");
  input.value = id;
  input.checked = id === first;
  label.querySelector("strong").textContent = title;
  label.querySelector("small").textContent = expect;
  input.addEventListener("change", () => {
    lab.setScenario(overridesOf(id));
    showNotice(null);
    status.textContent = "Changed: press Run to run it for real.";
  });
  stories.append(label);
}

/** The run's notice (or none): what this machine could not do, said before the run plays. */
function showNotice(text) {
  notice.textContent = text ?? "";
  notice.hidden = !text;
}

// ---- real against simulated ----------------------------------------------------------------------
function showVerdict(real, sim) {
  const body = $("[data-role=verdict-rows]");
  body.replaceChildren(...rows(real, sim).map(([label, a, b]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = "<th scope=\"row\"></th><td></td><td></td>";
    [label, a, b].forEach((text, i) => { tr.children[i].textContent = text; });
    return tr;
  }));
  $("[data-role=verdict-says]").replaceChildren(...says(real, sim).map(([kind, text]) => {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    return li;
  }));
  verdict.hidden = false;
}
