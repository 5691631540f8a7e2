// Shareable links: the scenario, switches and compare mode in the query string, and back.
// `?preset=classroom&strategy.coalesce=promise&compare=1&b.strategy.coalesce=lock&speed=4&inputs=[{"t":1.2,"kind":"kill_server","server":1}]`

import { coerce, flatten, setPath } from "./scenario.js";

/** Most inputs a link carries (the server's own cap per run, MAX_RUN_INPUTS). */
export const LINK_INPUTS_LIMIT = 100;
/** Longest `inputs=` value read from a link (characters of compact JSON). */
const LINK_INPUTS_CHARS = 8000;
/** The fields an input record may carry (docs/events.md "Inputs"); anything else is dropped. */
const INPUT_FIELDS = ["t", "kind", "server", "key", "factor", "for_s", "value"];

/** The query string for a lab configuration (with its interventions and side B, if any). */
export function toQuery({ preset, overrides, compare, compareB, speed, story, inputs }) {
  const params = new URLSearchParams();
  if (preset) params.set("preset", preset);
  for (const [k, v] of flatten(overrides)) params.set(k, String(v));
  if (compare) params.set("compare", "1");
  for (const [k, v] of flatten(compare ? compareB : null)) params.set(`b.${k}`, String(v));
  if (speed && speed !== 1) params.set("speed", String(speed));
  if (story) params.set("story", "1");
  const kept = cleanInputs(inputs);
  if (kept.length) params.set("inputs", JSON.stringify(kept));
  return params.toString();
}

/**
 * Input records as a link keeps them: plain objects with a finite `t`, a string `kind` and only
 * the known fields, at most LINK_INPUTS_LIMIT. The server checks them again (S1) like any start.
 */
export function cleanInputs(list) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const rec of list) {
    if (out.length >= LINK_INPUTS_LIMIT) break;
    if (!rec || typeof rec !== "object" || typeof rec.kind !== "string" || !Number.isFinite(rec.t)) continue;
    const clean = {};
    for (const k of INPUT_FIELDS) if (rec[k] !== undefined && rec[k] !== null) clean[k] = rec[k];
    out.push(clean);
  }
  return out;
}

function parseInputs(raw) {
  if (!raw || raw.length > LINK_INPUTS_CHARS) return [];
  try { return cleanInputs(JSON.parse(raw)); } catch { return []; }
}

/**
 * Read a configuration from a query string, keeping only keys the schema knows, coerced to their
 * types (a hand-edited link cannot inject anything the server would not accept anyway).
 */
export function fromQuery(search, schema, presets) {
  const params = new URLSearchParams(search);
  const rows = Object.fromEntries(schema.map((r) => [r.key, r]));
  let overrides = {}, compareB = {};
  for (const [k, raw] of params) {
    const b = k.startsWith("b.");
    const v = coerce(rows[b ? k.slice(2) : k], raw);
    if (v === undefined) continue;
    if (b) compareB = setPath(compareB, k.slice(2), v); else overrides = setPath(overrides, k, v);
  }
  const preset = presets[params.get("preset")] ? params.get("preset") : null;
  const speed = Number(params.get("speed"));
  return { preset, overrides, compare: params.get("compare") === "1", compareB,
           speed: Number.isFinite(speed) && speed > 0 ? speed : null,
           story: params.get("story") === "1", inputs: parseInputs(params.get("inputs")) };
}
