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

/** JSON with sorted keys: two scenarios are the same experiment whatever their keys' order. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A mitigation that is on, in words ("promise coalescing"); keys the table lacks use their name. */
const COALESCE_WORDS = { distributed: "shared-marker coalescing", notify: "a lock that notifies" };
const WORDS = {
  "strategy.coalesce": (v) => COALESCE_WORDS[v] ?? `${v} coalescing`,
  "strategy.stale_while_revalidate": () => "stale-while-revalidate",
  "strategy.early_refresh_beta": () => "early refresh",
  "strategy.prewarm": () => "pre-warming",
  "cache.ttl_jitter": () => "TTL jitter",
  "clients.backoff": (v) => `${String(v).replace(/_/g, " ")} backoff`,
  "clients.retry_budget": (v) => `a retry budget of ${Math.round(v * 100)}%`,
  "datastore.queue_limit": (v) => `load shedding past ${v} queued`,
  "strategy.traffic_shift_s": (v) => `traffic shifted over ${v} s`,
  "strategy.preload_keys": (v) => `the top ${v} keys pre-loaded`,
  "cache.local_ttl_ms": (v) => `local copies for ${v} ms`,
  "cache.replicas": (v) => `${v} copies of each key`,
  "cache.negative_ttl_ms": (v) => `"not found" cached for ${v} ms`,
  "strategy.hit_for_pass_s": () => "hit-for-pass",
  "strategy.wait_timeout_ms": (v) => `waiters give up after ${v} ms`,
};

/**
 * What counts as a mitigation, and its "off" value, read from the engine's schema rows (`off`:
 * the value that means "this mitigation is off"; null for keys that are not mitigations). Captions,
 * compare mode, the baseline run and the controls' sections all ask this one object.
 */
export class Mitigations {
  /** @param {object[]} schema  rows of GET /api/schema */
  constructor(schema = []) {
    this.off = new Map(schema.filter((r) => r.off !== undefined && r.off !== null).map((r) => [r.key, r.off]));
  }

  /** Is `key` a mitigation switch? */
  has(key) { return this.off.has(key); }

  /** Is mitigation `key` on in `nested` (a key it does not set is off)? */
  isOn(nested, key) {
    const v = getPath(nested, key);
    return v !== undefined && v !== this.off.get(key);
  }

  /** Keys of the mitigations that are on in `nested`. */
  on(nested) { return [...this.off.keys()].filter((k) => this.isOn(nested, k)); }

  /** `nested` with every mitigation switched off (the "without mitigation" run). */
  without(nested) {
    let out = structuredClone(nested || {});
    for (const [k, v] of this.off) out = setPath(out, k, v);
    return out;
  }

  /** Only the mitigation keys of `nested` (side B of a compare run: "your mitigations"). */
  only(nested) {
    let out = {};
    for (const k of this.off.keys()) {
      const v = getPath(nested, k);
      if (v !== undefined) out = setPath(out, k, v);
    }
    return out;
  }

  /** The mitigations a full scenario has on, in words ("promise coalescing, TTL jitter"), or "no mitigation". */
  describe(scn) {
    if (!scn) return "";
    const on = this.on(scn).map((k) => (WORDS[k] ? WORDS[k](getPath(scn, k)) : k.split(".").pop().replace(/_/g, " ")));
    return on.length ? on.join(", ") : "no mitigation";
  }
}
