// Plain names for the summary keys a lesson reveals, shared by the lesson page (the reveal table)
// and the classroom (the run's result beside the class's answers). A key not listed is shown in
// words made from its name, never as a raw dotted key.

const LABELS = {
  db_queries: "Datastore queries", chunks: "Chunks published", errors: "Requests that failed with an error",
  requests: "Requests", completed: "Requests answered", coalesced: "Requests served by another's fetch",
  timeouts: "Requests that timed out", retries: "Retries", cache_hits: "Cache hits", cache_misses: "Cache misses",
  stale_served: "Served stale", db_down_s: "Datastore down (s)", peak_db_inflight: "Peak at the datastore (queued + in service)",
  "latency_everyone_ms.mean": "Mean latency, everyone (ms)", "latency_everyone_ms.p50": "Median latency, everyone (ms)",
  "latency_everyone_ms.p99": "p99 latency, everyone (ms)", "latency_everyone_ms.max": "Slowest request, everyone (ms)",
  "latency_answered_ms.mean": "Mean latency, answered (ms)", "latency_answered_ms.p50": "Median latency, answered (ms)",
  "latency_answered_ms.p99": "p99 latency, answered (ms)", "latency_answered_ms.max": "Slowest answered request (ms)",
  // An engine older than contract item 1 calls the answered-only latency `latency_ms`.
  "latency_ms.mean": "Mean latency, answered (ms)", "latency_ms.p50": "Median latency, answered (ms)",
  "latency_ms.p99": "p99 latency, answered (ms)", "latency_ms.max": "Slowest answered request (ms)",
  "after_trigger.requests": "Requests that arrived after the slowdown ended",
  "after_trigger.completed": "Of them, answered",
};

/** What a count is as a share of the requests beside it ("Share of requests that failed with an error"). */
const SHARES = {
  db_queries: "Share of requests that became a datastore query", errors: "Share of requests that failed with an error",
  timeouts: "Share of requests that timed out", completed: "Share of requests answered",
  cache_hits: "Share of requests the cache answered", coalesced: "Share of requests served by another's fetch",
  "after_trigger.completed": "Share answered, of the requests after the slowdown ended",
};

/**
 * The shares a reveal can show beside its counts: each count revealed with the requests it is part
 * of (`requests`, or `X.requests` for `X.completed`), as [label, value between 0 and 1]. Times and
 * latencies are not counts of requests and get none.
 */
export function revealShares(keys, values) {
  const out = [];
  for (const key of keys) {
    const prefix = key.includes(".") ? key.slice(0, key.lastIndexOf(".") + 1) : "";
    const whole = `${prefix}requests`;
    if (key === whole || !keys.includes(whole) || /(_s|_ms)$|latency/.test(key)) continue;
    const part = values[key], total = values[whole];
    if (typeof part !== "number" || typeof total !== "number" || total <= 0) continue;
    out.push([SHARES[key] ?? `${summaryLabel(key)} per request`, part / total]);
  }
  return out;
}

/** "db_queries" → "Datastore queries"; "foo_bar.baz" → "Foo bar baz". */
export function summaryLabel(key) {
  if (LABELS[key]) return LABELS[key];
  const words = key.replace(/[._]/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
