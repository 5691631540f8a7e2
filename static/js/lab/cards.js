// Metric cards: the numbers beside the picture. Live values come from the exact `sample` events;
// when the run is done the engine's summary replaces them. In compare mode: A, B and the difference.
// Every count of answered requests has the failures beside it (errors and timeouts, named), and
// latency is shown for everyone beside answered-only (latency.js).

import { fmt, plural } from "./format.js";
import { sampleLatency, summaryLatency } from "./latency.js";

/**
 * The facts the cards show for one side: from the summary when the run is done, else from the
 * latest sample (null before the first sample).
 */
export function facts(side, summary) {
  if (summary) {
    const lat = summaryLatency(summary);
    return {
      requests: summary.requests, answered: summary.completed, errors: summary.errors, timeouts: summary.timeouts,
      open: summary.in_flight ?? 0, retries: summary.retries ?? 0, db_queries: summary.db_queries, peak: summary.peak_db_inflight,
      coalesced: summary.coalesced, p99Everyone: lat.everyone?.p99 ?? null, p99Answered: lat.answered?.p99 ?? null,
    };
  }
  const c = side.counts();
  if (!c) return null;
  const s = side.sample, lat = sampleLatency(s);
  return { ...c, retries: s.retries ?? 0, db_queries: s.db_queries, peak: side.peakDb, coalesced: s.coalesced,
           p99Everyone: lat.soFarEveryone, p99Answered: lat.soFarAnswered };
}

const ms = (v) => (v === null || v === undefined ? null : v);

/**
 * Card id → label, value from the facts, unit, and the note under it (`done`: the run is over).
 * The failures card names its errors and timeouts; the p99 cards say whose latency they are.
 */
const CARDS = [
  { id: "answered", label: "Answered", value: (f) => f.answered,
    note: (f, done) => (done ? `of ${fmt(f.requests)} ${plural(f.requests, "request")}` : `of ${fmt(f.requests)} so far`) },
  { id: "failed", label: "Failed", value: (f) => f.errors + f.timeouts,
    note: (f) => `${fmt(f.errors)} ${plural(f.errors, "error")} · ${fmt(f.timeouts)} ${plural(f.timeouts, "timeout")}` },
  { id: "db_queries", label: "Datastore queries", value: (f) => f.db_queries, note: (f, done) => (done ? "whole run" : "so far") },
  { id: "peak_db", label: "Peak at the datastore", value: (f) => f.peak, note: () => "queued + in service" },
  { id: "p99_everyone", label: "p99, everyone", unit: " ms", value: (f) => ms(f.p99Everyone),
    note: (f, done) => (f.p99Everyone === null ? (done ? "no request ended" : "known at the end") : "a failure counts its time") },
  { id: "p99_answered", label: "p99, answered", unit: " ms", value: (f) => ms(f.p99Answered),
    note: (f, done) => (f.p99Answered === null ? (done ? "none answered" : "known at the end") : "answered requests only") },
  { id: "coalesced", label: "Coalesced", value: (f) => f.coalesced, note: () => "served by another's fetch" },
];

export class Cards {
  /**
   * @param {HTMLElement} container  the cards' row; cards are created here
   * @param {() => import("./scenario.js").Mitigations} mitigations  what counts as a mitigation
   */
  constructor(container, store, mitigations) {
    this.store = store;
    this.mitigations = mitigations;
    this.els = new Map();
    container.replaceChildren();
    for (const { id, label } of [...CARDS, { id: "saved", label: "Queries saved" }]) {
      const card = document.createElement("div");
      card.className = "lab-card";
      card.dataset.card = id;
      card.innerHTML = `<div class="lab-card-label"></div><div class="lab-card-value">–</div><div class="lab-card-note"></div>`;
      card.firstChild.textContent = label;
      container.append(card);
      this.els.set(id, { value: card.children[1], note: card.children[2] });
    }
  }

  update() {
    const { store } = this;
    // The summary is the whole run's: after a seek back into a finished run, the numbers at t.
    const done = store.status === "finished";
    const a = facts(store.a, done ? store.summary : null);
    const b = store.compare ? facts(store.b, done ? store.summaryB : null) : null;
    for (const spec of CARDS) {
      const el = this.els.get(spec.id);
      const unit = spec.unit || "";
      const va = a ? spec.value(a) : null;
      const shown = (v) => (v === null ? ["–", ""] : [fmt(v), unit]);
      if (!store.compare) {
        setValue(el.value, [shown(va)]);
        el.note.textContent = a ? spec.note(a, done) : "";
      } else {
        const vb = b ? spec.value(b) : null;
        setValue(el.value, [[`A ${shown(va)[0]}`, shown(va)[1]], [`B ${shown(vb)[0]}`, shown(vb)[1]]]);
        el.note.textContent = va === null || vb === null ? "" : `B − A = ${signed(vb - va)}${unit}`;
      }
    }
    this.updateSaved(done, a, b);
  }

  /**
   * "Queries saved": against the same run without mitigation. In compare mode that run is side A
   * (same seed, same arrivals), so A − B is known live, as long as A has no mitigation and B has
   * some; otherwise the baseline is the store's, once the run is done.
   */
  updateSaved(done, a, b) {
    const { store } = this;
    const el = this.els.get("saved");
    let text = "–", note = done ? "" : "vs no mitigation, at the end";
    if (store.compare) {
      const mit = this.mitigations();
      if (!mit.on(store.scenario).length && mit.on(store.scenarioB).length && a && b) {
        text = fmt(Math.max(0, a.db_queries - b.db_queries));
        note = `A ${fmt(a.db_queries)} − B ${fmt(b.db_queries)}${done ? "" : " so far"}`;
      }
    } else if (done && a) {
      const base = store.baseline;
      if (!base) note = "finding the same run without mitigation…";
      else if (base.queries === null) note = base.why;
      else if (base.from === "self") { text = "0"; note = "this run has no mitigation"; }
      else {
        text = fmt(Math.max(0, base.queries - a.db_queries));
        const same = base.inputs ? `, same ${base.inputs === 1 ? "intervention" : `${fmt(base.inputs)} interventions`}` : "";
        note = `${fmt(base.queries)} without mitigation${same} → ${fmt(a.db_queries)}`;
      }
    }
    setValue(el.value, [[text, ""]]);
    el.note.textContent = note;
  }
}

/**
 * A card's value: one line, or two (A and B) in compare mode; each line is [number, unit], the
 * unit set smaller so the number keeps the room.
 */
function setValue(el, lines) {
  const key = JSON.stringify(lines);
  if (el.dataset.shown === key) return;
  el.dataset.shown = key;
  el.replaceChildren(...lines.map(([number, unit]) => {
    const line = Object.assign(document.createElement("span"), { textContent: number });
    if (unit) line.append(Object.assign(document.createElement("small"), { textContent: unit }));
    return line;
  }));
}

function signed(n) {
  return (n > 0 ? "+" : n < 0 ? "−" : "±") + fmt(Math.abs(n));
}
