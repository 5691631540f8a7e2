// Export what the browser holds: the summary (JSON) and the events (JSON or CSV) of the last run.
// Events come from the store's bounded log, so a huge run exports its most recent events only.

/** A JSON document: scenario, summaries, and how complete the event log is. */
export function summaryJson(store) {
  return JSON.stringify({
    run_id: store.runId, scenario: store.scenario, compare: store.scenarioB,
    summary: store.summary, summary_b: store.summaryB, dot_scale: store.dotScale,
  }, null, 2);
}

/** Every logged event of both sides as JSON (side added to each record in compare mode). */
export function eventsJson(store) {
  return JSON.stringify(allEvents(store));
}

/** The same events as CSV, columns = the union of every event's fields. */
export function eventsCsv(store) {
  const events = allEvents(store);
  const cols = [];
  const seen = new Set();
  for (const ev of events) for (const k of Object.keys(ev)) if (!seen.has(k)) { seen.add(k); cols.push(k); }
  const cell = (v) => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(","), ...events.map((ev) => cols.map((c) => cell(ev[c])).join(","))].join("\n") + "\n";
}

function allEvents(store) {
  const a = store.a.log.toArray();
  if (!store.compare) return a;
  return [...a.map((ev) => ({ side: "A", ...ev })), ...store.b.log.toArray().map((ev) => ({ side: "B", ...ev }))];
}

/** Offer text as a file download (no server round trip). */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
