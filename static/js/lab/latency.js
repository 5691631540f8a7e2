// Latency, honestly: percentiles over *everyone* (a failed or timed-out request counts with its time
// to failure) beside percentiles over the *answered* requests only. Answered-only percentiles make a
// run that fails fast look fastest, so the page never shows them alone (issue 10, contract item 1).
// This is the one place that reads the engine's latency keys, so every view says the same thing.

/** The summary's two latency dicts ({mean, p50, p95, p99, max}, ms, null when empty). */
export function summaryLatency(summary) {
  return { everyone: summary?.latency_everyone_ms ?? null, answered: summary?.latency_answered_ms ?? null };
}

/**
 * A `sample`'s latency fields. Per interval: p50/p99 over every request that ended in it, and p99
 * over the answered ones; so far: cumulative p99s since t = 0.
 */
export function sampleLatency(s) {
  return {
    p50Everyone: s?.lat_p50_ms ?? null,
    p99Everyone: s?.lat_p99_ms ?? null,
    p99Answered: s?.lat_p99_answered_ms ?? null,
    soFarEveryone: s?.p99_ms ?? null,
    soFarAnswered: s?.p99_answered_ms ?? null,
  };
}
