// Shareable links: the scenario, switches and compare mode in the query string, and back.
// `?preset=classroom&strategy.coalesce=promise&compare=1&speed=4`

import { coerce, flatten, setPath } from "./scenario.js";

/** The query string for a lab configuration. */
export function toQuery({ preset, overrides, compare, speed }) {
  const params = new URLSearchParams();
  if (preset) params.set("preset", preset);
  for (const [k, v] of flatten(overrides)) params.set(k, String(v));
  if (compare) params.set("compare", "1");
  if (speed && speed !== 1) params.set("speed", String(speed));
  return params.toString();
}

/**
 * Read a configuration from a query string, keeping only keys the schema knows, coerced to their
 * types (a hand-edited link cannot inject anything the server would not accept anyway).
 */
export function fromQuery(search, schema, presets) {
  const params = new URLSearchParams(search);
  const rows = Object.fromEntries(schema.map((r) => [r.key, r]));
  let overrides = {};
  for (const [k, raw] of params) {
    const v = coerce(rows[k], raw);
    if (v !== undefined) overrides = setPath(overrides, k, v);
  }
  const preset = presets[params.get("preset")] ? params.get("preset") : null;
  const speed = Number(params.get("speed"));
  return { preset, overrides, compare: params.get("compare") === "1", speed: Number.isFinite(speed) && speed > 0 ? speed : null };
}
