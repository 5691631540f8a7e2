// Latency, honestly: percentiles over *everyone* (a failed or timed-out request counts with its time
// to failure) beside percentiles over the *answered* requests only. Answered-only percentiles make a
// run that fails fast look fastest, so the page never shows them alone (issue 10, contract item 1).
// This is the one place that reads the engine's latency keys, so every view says the same thing.

/**
 * The summary's two latency dicts ({mean, p50, p95, p99, max}, ms, null when empty). A summary of
 * an older engine has only `latency_ms`, over answered requests: then `everyone` is null (unknown),
 * never a copy of the answered numbers.
 */
export function summaryLatency(summary) {
  if (!summary) return { everyone: null, answered: null };
  return {
    everyone: summary.latency_everyone_ms ?? null,
    answered: summary.latency_answered_ms ?? summary.latency_ms ?? null,
  };
}

/**
 * A `sample`'s latency fields. Per interval: p50/p99 over every request that ended in it, and p99
 * over the answered ones; so far: cumulative p99s since t = 0. An older engine's sample has only
 * `lat_p50_ms`/`lat_p99_ms` over answered requests: they are reported as answered-only.
 */
export function sampleLatency(s) {
  const honest = !!s && "lat_p99_answered_ms" in s;
  return {
    p50Everyone: honest ? s.lat_p50_ms ?? null : null,
    p99Everyone: honest ? s.lat_p99_ms ?? null : null,
    p99Answered: honest ? s.lat_p99_answered_ms ?? null : s?.lat_p99_ms ?? null,
    soFarEveryone: s?.p99_ms ?? null,
    soFarAnswered: s?.p99_answered_ms ?? null,
  };
}
