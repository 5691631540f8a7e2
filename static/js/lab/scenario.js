// Scenario helpers: the engine's nested keys ({"clients": {"count": 500}}) seen as dotted paths
// ("clients.count"), as controls, share links and the baseline request all need them.

/** The value at a dotted key of a nested object, or undefined. */
export function getPath(nested, dotted) {
  return dotted.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), nested);
}

/** A copy of `nested` with `dotted` set to `value` (or removed when value is undefined). */
export function setPath(nested, dotted, value) {
  const out = structuredClone(nested || {});
  const keys = dotted.split(".");
  const chain = [out];
  for (const k of keys.slice(0, -1)) {
    const o = chain[chain.length - 1];
    o[k] = o[k] && typeof o[k] === "object" ? o[k] : {};
    chain.push(o[k]);
  }
  const leaf = keys[keys.length - 1];
  if (value === undefined) delete chain[chain.length - 1][leaf]; else chain[chain.length - 1][leaf] = value;
  for (let i = keys.length - 2; i >= 0; i--) {          // drop sections left empty
    if (!Object.keys(chain[i + 1]).length) delete chain[i][keys[i]];
  }
  return out;
}

/** [[dotted, value], ...] for every leaf of a nested object. */
export function flatten(nested, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(nested || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(...flatten(v, key));
    else out.push([key, v]);
  }
  return out;
}

/** `b` merged over `a` (nested, neither modified). */
export function merge(a, b) {
  let out = structuredClone(a || {});
  for (const [k, v] of flatten(b)) out = setPath(out, k, v);
  return out;
}

/** A string from a URL turned into the type the schema row says (or undefined if it cannot be). */
export function coerce(row, raw) {
  if (!row) return undefined;
  if (row.type === "bool") return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : undefined;
  if (row.type === "int" || row.type === "float") {
    const n = Number(raw);
    if (!Number.isFinite(n) || (row.type === "int" && !Number.isInteger(n))) return undefined;
    return n;
  }
  return row.choices && !row.choices.includes(raw) ? undefined : raw;
}

/** Mitigation keys and the value that turns each off (the "without mitigation" baseline). */
export const MITIGATIONS_OFF = {
  "strategy.coalesce": "none",
  "strategy.stale_while_revalidate": false,
  "strategy.early_refresh_beta": 0,
  "strategy.prewarm": false,
  "cache.ttl_jitter": 0,
  "clients.backoff": "none",
};

/** `nested` with every mitigation switched off. */
export function withoutMitigations(nested) {
  let out = structuredClone(nested || {});
  for (const [k, v] of Object.entries(MITIGATIONS_OFF)) out = setPath(out, k, v);
  return out;
}

/** Only the mitigation keys of `nested` (side B of a compare run: "your mitigations"). */
export function mitigationsOf(nested) {
  let out = {};
  for (const k of Object.keys(MITIGATIONS_OFF)) {
    const v = getPath(nested, k);
    if (v !== undefined) out = setPath(out, k, v);
  }
  return out;
}

/**
 * The mitigations a full scenario (as `started` returns it) has on, in words: "promise coalescing,
 * TTL jitter", or "no mitigation". Captions, the baseline request and the cards all ask this one.
 */
export function describeMitigations(scn) {
  if (!scn) return "";
  const on = [];
  const coalesce = getPath(scn, "strategy.coalesce");
  if (coalesce && coalesce !== "none") on.push(`${coalesce === "distributed" ? "shared marker" : coalesce} coalescing`);
  if (getPath(scn, "strategy.stale_while_revalidate")) on.push("stale-while-revalidate");
  if (getPath(scn, "strategy.early_refresh_beta") > 0) on.push("early refresh");
  if (getPath(scn, "cache.ttl_jitter") > 0) on.push("TTL jitter");
  if (getPath(scn, "strategy.prewarm")) on.push("pre-warming");
  const backoff = getPath(scn, "clients.backoff");
  if (backoff && backoff !== "none" && getPath(scn, "clients.retries") > 0) on.push(`${backoff.replace("_", " ")} backoff`);
  return on.length ? on.join(", ") : "no mitigation";
}
