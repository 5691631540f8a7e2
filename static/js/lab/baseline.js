// "Queries saved": a mitigated run against the same run without mitigation. The baseline comes
// from a run of it this lab has already seen (a lesson's student usually runs it first), else from
// POST /api/run when the run is small enough for the server to answer at once.

import { canonical } from "./scenario.js";

/** POST /api/run refuses bigger runs (docs/protocol.md); don't ask. */
export const BASELINE_MAX_VIEWERS = 200_000;
/** Baseline runs remembered (most recent first). */
const REMEMBERED = 16;

export class Baselines {
  /** @param {import("./scenario.js").Mitigations} mitigations */
  constructor(mitigations) {
    this.mitigations = mitigations;
    this.known = new Map();       // canonical scenario with every mitigation off -> datastore queries
  }

  /** A finished run: remember it if it had no mitigation (it is its own baseline). */
  remember(scenario, summary) {
    if (!scenario || !summary || this.mitigations.on(scenario).length) return;
    const key = canonical(scenario);
    this.known.delete(key);
    this.known.set(key, summary.db_queries);
    if (this.known.size > REMEMBERED) this.known.delete(this.known.keys().next().value);
  }

  /**
   * The baseline of a finished run: `{queries, from}` with `from` "self" (the run has no
   * mitigation), "seen" (a run of it this lab saw) or "computed" (asked of the server); or
   * `{queries: null, why}` when it cannot be known without running it.
   */
  async lookup(scenario, summary, viewers) {
    if (!this.mitigations.on(scenario).length) return { queries: summary.db_queries, from: "self" };
    const plain = this.mitigations.without(scenario);
    const seen = this.known.get(canonical(plain));
    if (seen !== undefined) return { queries: seen, from: "seen" };
    if (viewers > BASELINE_MAX_VIEWERS) return { queries: null, why: "run it with no mitigation to compare" };
    try {
      const res = await fetch("/api/run", { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify({ scenario: plain }) });
      if (!res.ok) return { queries: null, why: "the server could not compute it" };
      const computed = await res.json();
      this.remember(plain, computed);
      return { queries: computed.db_queries, from: "computed" };
    } catch {
      return { queries: null, why: "the server could not be reached" };
    }
  }
}
