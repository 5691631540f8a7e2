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
};

/** "db_queries" → "Datastore queries"; "foo_bar.baz" → "Foo bar baz". */
export function summaryLabel(key) {
  if (LABELS[key]) return LABELS[key];
  const words = key.replace(/[._]/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
