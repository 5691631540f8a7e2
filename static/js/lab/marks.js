// The timeline's marks: the run's moments (from the engine) and its inputs (the interventions), each
// a small button under the scrubber at its virtual time. Clicking one seeks there and pauses, so the
// student lands on the very instant. Rebuilt only when the list or the timeline's length changes.

import { instantOf, momentTitle } from "./moments.js";
import { holdTime } from "./story.js";

/** Most marks drawn (moments are capped by the engine; inputs by the server): a bounded row. */
const MARKS_LIMIT = 400;

/** An input record in words: "t = 1.20 s · kill S2". */
export function inputTitle(rec) {
  const what = {
    kill_server: () => `kill S${(rec.server ?? 0) + 1}`,
    expire_key: () => `expire ${rec.key ?? "the newest key"}`,
    delete_key: () => `delete ${rec.key ?? "the newest key"}`,
    slow_db: () => `slow the datastore ×${rec.factor}${rec.for_s ? ` for ${rec.for_s} s` : ""}`,
    set: () => `switch ${rec.key} to ${JSON.stringify(rec.value)}`,
    inject: () => "one more viewer",
  }[rec.kind];
  return `t = ${Number(rec.t ?? 0).toFixed(2)} s · ${what ? what() : rec.kind}`;
}

export class Marks {
  /**
   * @param {HTMLElement} root  the marks row (data-role="marks")
   * @param {{store: object, seek: (t: number) => void}} opts  `seek` goes there and pauses
   */
  constructor(root, { store, seek }) {
    this.root = root;
    this.store = store;
    this.signature = "";
    root.addEventListener("click", (e) => {
      const btn = e.target.closest("button[data-t]");
      if (btn && !btn.disabled) seek(Number(btn.dataset.t));
    });
  }

  update() {
    const { store } = this;
    const length = store.length || 0;
    const moments = store.a.moments.items, inputs = store.inputs;
    const seekable = !!store.runId && (store.live || store.status === "finished" || store.status === "stopped");
    const signature = `${store.runId}|${length}|${moments.length}|${moments.at(-1)?.t}|${moments.at(-1)?.at}|${inputs.length}|${inputs.at(-1)?.t}|${seekable}`;
    if (signature === this.signature) return;
    this.signature = signature;
    const marks = [];
    if (store.runId && length > 0) {
      for (const m of moments) marks.push({ t: instantOf(m), at: holdTime(m), cls: `lab-mark lab-mark-${m.what}`, title: momentTitle(m), what: m.what });
      for (const rec of inputs) marks.push({ t: rec.t ?? 0, at: rec.t ?? 0, cls: "lab-mark lab-mark-input", title: `intervention: ${inputTitle(rec)}`, what: "input" });
    }
    marks.sort((a, b) => a.t - b.t);
    this.root.replaceChildren(...marks.slice(0, MARKS_LIMIT).map((m) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = m.cls;
      b.dataset.t = String(m.at);
      b.dataset.what = m.what;
      b.title = m.title;
      b.setAttribute("aria-label", m.title);
      b.disabled = !seekable;
      b.style.left = `${Math.max(0, Math.min(100, (m.t / length) * 100))}%`;
      return b;
    }));
  }
}
