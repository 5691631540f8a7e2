// "Queries saved": a mitigated run against the same run without mitigation -- the same scenario with
// every mitigation off and the same inputs (a server killed, the key expired, the datastore slowed,
// viewers injected: what happened to the world), leaving out only the inputs that switched a
// mitigation. The baseline comes from a run of it this lab has already seen (a lesson's student
// usually runs it first), else from POST /api/run when the run is small enough for the server to
// answer at once.

import { canonical } from "./scenario.js";

/** POST /api/run refuses bigger runs (docs/protocol.md); don't ask. */
export const BASELINE_MAX_VIEWERS = 200_000;
/** Baseline runs remembered (most recent first). */
const REMEMBERED = 16;

/** The inputs a run without mitigation keeps: all but the switches of mitigations (`set`). */
export function worldInputs(inputs) {
  return (inputs || []).filter((rec) => rec.kind !== "set");
}

export class Baselines {
  /** @param {import("./scenario.js").Mitigations} mitigations */
  constructor(mitigations) {
    this.mitigations = mitigations;
    this.known = new Map();       // canonical (scenario with every mitigation off, inputs) -> datastore queries
  }

  /** A run has no mitigation: none in its scenario, and no input switched one on. */
  plain(scenario, inputs) {
    return !this.mitigations.on(scenario).length && !(inputs || []).some((rec) => rec.kind === "set");
  }

  key(scenario, inputs) {
    return canonical({ scenario, inputs: worldInputs(inputs) });
  }

  /** A finished run: remember it if it had no mitigation (it is its own baseline). */
  remember(scenario, summary, inputs = []) {
    if (!scenario || !summary || !this.plain(scenario, inputs)) return;
    const key = this.key(scenario, inputs);
    this.known.delete(key);
    this.known.set(key, summary.db_queries);
    if (this.known.size > REMEMBERED) this.known.delete(this.known.keys().next().value);
  }

  /**
   * The baseline of a finished run: `{queries, from, inputs}` with `from` "self" (the run has no
   * mitigation), "seen" (a run of it this lab saw) or "computed" (asked of the server), `inputs`
   * how many inputs it shares with the run; or `{queries: null, why}` when it cannot be known
   * without running it.
   */
  async lookup(scenario, summary, viewers, inputs = []) {
    const world = worldInputs(inputs);
    if (this.plain(scenario, inputs)) return { queries: summary.db_queries, from: "self", inputs: world.length };
    const plain = this.mitigations.without(scenario);
    const seen = this.known.get(this.key(plain, world));
    if (seen !== undefined) return { queries: seen, from: "seen", inputs: world.length };
    if (viewers > BASELINE_MAX_VIEWERS) return { queries: null, why: "run it with no mitigation to compare" };
    try {
      const res = await fetch("/api/run", { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify({ scenario: plain, inputs: world }) });
      if (!res.ok) return { queries: null, why: "the server could not compute it" };
      const computed = await res.json();
      this.remember(plain, computed, world);
      return { queries: computed.db_queries, from: "computed", inputs: world.length };
    } catch {
      return { queries: null, why: "the server could not be reached" };
    }
  }
}
