// The real page's experiments: each is the `fleet` preset with a few keys set. A burst of 500
// identical reads of one cold key, all planned for the same instant: the real requests arrive as
// fast as the app-server processes can start them (the run says how late: its arrival spread),
// and the simulation beside it replays those very arrival times. Queries of 200 ms keep the key
// cold for longer than that spread, so the herd forms.

/** Every experiment starts here: 500 reads, 4 app servers, 40 pool connections in all (10 each),
 *  200 ms queries. */
export const PRESET = "fleet";
const BASE = {
  duration_s: 1,
  clients: { count: 500, arrival: "burst", window_s: 0, timeout_s: 0, retries: 0 },
  servers: { count: 4 },
  workload: { kind: "hot_key", keys: 1, warm_start: false },
  datastore: { connections: 40, service_ms: 200, service_dist: "constant" },
  strategy: { coalesce: "none" },
};

/** [id, title, what to expect, overrides over BASE] */
export const STORIES = [
  ["herd", "The herd", "No mitigation: every request that misses queries PostgreSQL, through 40 connections.",
   { strategy: { coalesce: "none" } }],
  ["promise", "A promise per app server", "Each process coalesces its own requests: one query per app server.",
   { strategy: { coalesce: "promise" } }],
  ["marker", "A shared marker", "A \"being fetched\" marker in Redis, shared by every process: one query.",
   { strategy: { coalesce: "distributed", marker_poll_ms: 50 } }],
  ["notify", "A lock that wakes its waiters", "The holder wakes the waiters of every process through Redis: one query.",
   { strategy: { coalesce: "notify" } }],
  ["saturated", "The pool saturates", "No mitigation and clients that give up after 0.4 s: their queued queries are cancelled.",
   { clients: { timeout_s: 0.4 }, datastore: { connections: 8 } }],
];

/** The lab's controls on this page (dotted schema keys). */
export const CONTROLS = ["strategy.coalesce", "clients.count", "servers.count", "datastore.connections",
  "datastore.service_ms", "clients.timeout_s"];

/** The overrides of experiment `id`, merged over BASE (nested objects, one level deep). */
export function overridesOf(id) {
  const story = STORIES.find(([key]) => key === id) ?? STORIES[0];
  const out = structuredClone(BASE);
  for (const [section, values] of Object.entries(story[3])) {
    out[section] = typeof values === "object" ? { ...out[section], ...values } : values;
  }
  return out;
}
