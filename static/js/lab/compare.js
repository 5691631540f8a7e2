// Compare any two: side B's own mitigation picker. A runs the scenario as set in the sidebar; B runs
// the same scenario with only the mitigation picked here (so "lock vs promise" is the sidebar on
// lock and B on promise). The first choice keeps the classic pair: A without mitigation, B yours.
// B's overrides are sent as `start.compare` unchanged (the server makes B = A + them), as a
// lesson's declared pair is: so each option spells out every mitigation, the others off.

import { canonical, merge } from "./scenario.js";

/** Mitigations that are switches, with the value that turns each on for side B. */
const SWITCHES = [
  ["strategy.stale_while_revalidate", true], ["strategy.early_refresh_beta", 1], ["strategy.prewarm", true],
  ["cache.ttl_jitter", 0.2],
];

function nested(dotted, value) {
  const keys = dotted.split(".");
  return keys.reduceRight((inner, k) => ({ [k]: inner }), value);
}

function option(label, overrides) {
  const o = document.createElement("option");
  o.textContent = label;
  o.value = overrides ? canonical(overrides) : "";
  if (overrides) o.dataset.overrides = JSON.stringify(overrides);
  return o;
}

/** The picker's options, from the schema: every coalescing mode, each switch, and "none". */
export function compareChoices(schema, mitigations) {
  const rows = Object.fromEntries(schema.map((r) => [r.key, r]));
  const out = [option("A: no mitigation · B: the sidebar's", null)];
  const only = (b) => merge(mitigations.without({}), b);
  for (const mode of rows["strategy.coalesce"]?.choices ?? []) {
    if (mode === "none") continue;
    const b = { strategy: { coalesce: mode } };
    out.push(option(`A: the sidebar's · B: ${mitigations.describe(b)} only`, only(b)));
  }
  for (const [key, on] of SWITCHES) {
    if (!mitigations.has(key)) continue;
    const b = nested(key, on);
    out.push(option(`A: the sidebar's · B: ${mitigations.describe(b)} only`, only(b)));
  }
  out.push(option("A: the sidebar's · B: no mitigation", only({})));
  return out;
}

/**
 * The picker's value for side B's overrides (null: the classic pair). A pair no option names (a
 * lesson's own) gets its own option, so the picker always says what B runs.
 */
export function compareLabel(b, select, mitigations) {
  if (!b) return "";
  const value = canonical(b);
  if (![...select.options].some((o) => o.value === value)) {
    select.append(option(`A: the sidebar's · B: ${mitigations ? mitigations.describe(b) : value}`, b));
  }
  return value;
}
