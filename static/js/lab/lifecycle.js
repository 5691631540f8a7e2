// One request's events as a student reads them in the lifecycle panel: times in seconds, durations
// in milliseconds with their unit and no spurious digits ("service 2,320 ms", not
// "service_ms 2319.993571"), servers as S1.., and what a fetch's role means.

import { ROLE_WORDS } from "./states.js";

const MS = (v) => `${Number(v).toLocaleString("en-US", { maximumFractionDigits: v < 10 ? 2 : 0 })} ms`;

/** Field → how it reads; fields not listed read as "name value". */
const FIELDS = {
  attempt: (v) => (v > 0 ? `attempt ${v + 1}` : ""),
  server: (v) => `S${v + 1}`,
  service_ms: (v) => `service ${MS(v)}`,
  latency_ms: (v) => `after ${MS(v)}`,
  delay_ms: (v) => `waits ${MS(v)} first`,
  ttl_s: (v) => `for ${Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 })} s`,
  query: (v) => `query #${v}`,
  queued: (v) => `${Number(v).toLocaleString("en-US")} in the queue`,
  leader: (v) => `waits on request ${v}`,
  leader_server: (v) => `marker held by S${v + 1}`,
  previous_server: (v) => `took over from S${v + 1}`,
  status: (v) => v,
  source: (v) => `from the ${v === "db" ? "datastore" : v}`,
  reason: (v) => v.replace(/_/g, " "),
  waiters: (v) => `${Number(v).toLocaleString("en-US")} waiting`,
  ok: (v) => (v ? "ok" : "failed"),
};
const SKIP = new Set(["t", "kind", "req", "viewer", "key"]);

/**
 * `{time, kind, detail}` for one event. `coalesce` is the side's mode: with none, a fetch leads
 * no one, whatever an older engine calls its role.
 */
export function eventLine(ev, coalesce) {
  const parts = [];
  if (ev.key) parts.push(ev.key);
  for (const [k, v] of Object.entries(ev)) {
    if (SKIP.has(k) || v === null || v === undefined) continue;
    if (k === "role") { parts.push(ROLE_WORDS[v === "leader" && coalesce === "none" ? "direct" : v] ?? v); continue; }
    const text = FIELDS[k] ? FIELDS[k](v) : `${k.replace(/_/g, " ")} ${v}`;
    if (text) parts.push(text);
  }
  return { time: `${ev.t.toFixed(3)} s`, kind: ev.kind.replace(/_/g, " "), detail: parts.join(" · ") };
}
