// Metric cards: the numbers beside the picture. Live values come from the exact `sample` events;
// when the run is done the engine's summary replaces them. In compare mode: A, B and the difference.

import { fmt } from "./format.js";
import { describeMitigations } from "./scenario.js";

/** Card id → label, the summary's value, the live value (from a side), and the unit. */
const CARDS = [
  ["db_queries", "Datastore queries", (s) => s.db_queries, (side) => side.sample?.db_queries, ""],
  ["peak_db", "Peak in datastore", (s) => s.peak_db_inflight, (side) => side.peakDb, ""],
  ["p99", "p99 latency", (s) => s.latency_ms?.p99, (side) => side.worstP99, " ms"],
  ["errors", "Errors", (s) => s.errors, (side) => side.sample?.errors, ""],
  ["coalesced", "Coalesced", (s) => s.coalesced, (side) => side.sample?.coalesced, ""],
];

export class Cards {
  /** @param {HTMLElement} container  the cards' row; cards are created here */
  constructor(container, store) {
    this.store = store;
    this.els = new Map();
    container.replaceChildren();
    for (const [id, label] of [...CARDS, ["saved", "Queries saved"]]) {
      const card = document.createElement("div");
      card.className = "lab-card";
      card.dataset.card = id;
      card.innerHTML = `<div class="lab-card-label"></div><div class="lab-card-value">–</div><div class="lab-card-note"></div>`;
      card.firstChild.textContent = label;
      container.append(card);
      this.els.set(id, { value: card.children[1], note: card.children[2] });
    }
    this.baseline = null;       // datastore queries of the same run without mitigation, when known
  }

  /** Value of one card for one side: exact summary when done, else the live sample. */
  value(id, side, summary) {
    const spec = CARDS.find((c) => c[0] === id);
    const v = summary ? spec[2](summary) : spec[3](side);
    return v === undefined || v === null ? null : v;
  }

  update() {
    const { store } = this;
    const done = store.status === "finished";
    for (const [id, , , , unit] of CARDS) {
      const el = this.els.get(id);
      const a = this.value(id, store.a, store.summary);
      if (!store.compare) {
        el.value.textContent = a === null ? "–" : fmt(a) + unit;
        el.note.textContent = done ? "whole run" : a === null ? "" : id === "p99" ? "worst 50 ms so far" : "so far";
      } else {
        const b = this.value(id, store.b, store.summaryB);
        el.value.textContent = `A ${a === null ? "–" : fmt(a)} · B ${b === null ? "–" : fmt(b)}`;
        el.note.textContent = a === null || b === null ? "" : `B − A = ${signed(b - a)}${unit}`;
      }
    }
    this.updateSaved(done);
  }

  /**
   * "Queries saved": against the same run without mitigation. In compare mode that run is side A
   * (same seed, same arrivals), so A − B is known live, as long as A has no mitigation and B has
   * some; otherwise the baseline comes from the lab (`this.baseline`) once the run is done.
   */
  updateSaved(done) {
    const { store } = this;
    const saved = this.els.get("saved");
    let queries = null, baseline = null, live = false;
    if (store.compare) {
      if (describeMitigations(store.scenario) === "no mitigation" && describeMitigations(store.scenarioB) !== "no mitigation") {
        queries = this.value("db_queries", store.b, store.summaryB);
        baseline = this.value("db_queries", store.a, store.summary);
        live = !done;
      }
    } else if (done) {
      queries = this.value("db_queries", store.a, store.summary);
      baseline = this.baseline;
    }
    if (baseline === null || queries === null) {
      saved.value.textContent = "–";
      saved.note.textContent = done ? "no baseline for this run" : "vs the same run without mitigation";
    } else {
      saved.value.textContent = fmt(Math.max(0, baseline - queries));
      saved.note.textContent = store.compare ? `A ${fmt(baseline)} − B ${fmt(queries)}${live ? " so far" : ""}`
        : `${fmt(baseline)} without mitigation → ${fmt(queries)}`;
    }
  }
}

function signed(n) {
  return (n > 0 ? "+" : n < 0 ? "−" : "±") + fmt(Math.abs(n));
}
