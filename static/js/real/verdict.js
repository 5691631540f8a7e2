// Real against the simulation of the same arrivals: the numbers side by side, and in words where
// they agree (the count of queries, waiters released together) and where they differ (the tails),
// with the reason the real run gives (its arrival lateness, its pools, the app servers' own time
// around each query and each waiter's look, which the simulation beside it was fed).

import { fmt } from "../lab/format.js";

const ms = (v) => (v === null || v === undefined ? "–" : `${fmt(v < 10 ? Math.round(v * 10) / 10 : Math.round(v))} ms`);

/** Table rows: [label, real, simulated] (strings). */
export function rows(real, sim) {
  const r = real.latency_everyone_ms ?? {}, s = sim.latency_everyone_ms ?? {};
  const failed = (x) => fmt((x.errors ?? 0) + (x.timeouts ?? 0));
  return [
    ["Requests answered", fmt(real.completed), fmt(sim.completed)],
    ["Failed (error or timeout)", failed(real), failed(sim)],
    ["Datastore queries", `${fmt(real.db_queries)} (PostgreSQL's count)`, fmt(sim.db_queries)],
    ["The value first in the cache at", ms(real.first_value_ms), ms(sim.first_value_ms)],
    ["Queries cancelled before a connection", fmt(real.db_cancelled ?? 0), fmt(sim.db_cancelled ?? 0)],
    ["Latency p50, everyone", ms(r.p50), ms(s.p50)],
    ["Latency p99, everyone", ms(r.p99), ms(s.p99)],
    ["Slowest request", ms(r.max), ms(s.max)],
    ["Arrivals late by (p99)", ms(real.real?.arrival_lateness_ms?.p99), "the same (fed the real arrivals)"],
  ];
}

/** Sentences: [kind ("agree" | "differ"), text]. */
export function says(real, sim) {
  const out = [];
  if (real.real?.herd?.notice) out.push(["differ", real.real.herd.notice]);
  const q = real.db_queries, qs = sim.db_queries;
  const dispatch = real.dispatch_ms?.p99;
  if (q === qs) {
    out.push(["agree", `Both sent ${fmt(q)} ${q === 1 ? "query" : "queries"} to the datastore: the mitigation is the same code on both sides, so it lets the same requests through.`]);
  } else {
    const landed = real.first_value_ms, landedSim = sim.first_value_ms;
    const when = landed !== null && landed !== undefined && landedSim !== null && landedSim !== undefined
      ? ` The value first landed in the cache at ${ms(landed)} for real and ${ms(landedSim)} in the model, and every lookup before that missed.`
      : "";
    const busy = landed > landedSim
      ? ` The real app servers worked through the herd's lookups first, and sent their queries up to ${ms(dispatch)} (p99) after a request decided to fetch; `
        + "the model sends them at once."
      : "";
    out.push(["differ", `The real run sent ${fmt(q)} ${q === 1 ? "query" : "queries"}, the simulation ${fmt(qs)}.${when}${busy} `
      + "Real requests of one instant are milliseconds apart, in several processes: one that looks the cache up just before the value lands, "
      + "or claims a lock just after its holder let go, fetches again; the model's single clock has no such gaps."]);
  }
  const r = real.released_ms, s = sim.released_ms;
  if (r?.count && s?.count) {
    out.push([r.p99 <= Math.max(50, 3 * s.p99) ? "agree" : "differ",
      `Waiters are released together: once the value landed, ${fmt(r.count)} coalesced ${r.count === 1 ? "request was" : "requests were"} answered `
      + `within ${ms(r.p99)} (p99) for real, ${fmt(s.count)} within ${ms(s.p99)} in the model. One fetch answers them all: `
      + "a promise's waiters at the instant it resolves, a lock's or a marker's when they next look (a poll, or a wake-up through Redis)."]);
  }
  const e = real.latency_everyone_ms ?? {}, es = sim.latency_everyone_ms ?? {};
  if (e.p99 !== null && es.p99 !== null && e.p99 !== undefined) {
    const late = real.real?.arrival_lateness_ms?.p99;
    const pool = real.real?.pool_per_server;
    const fed = sim.fed ?? {};
    const held = fed.service_from === "pool" ? fed.service_ms?.p50 : null, own = fed.pg_service_ms?.p50;
    const looks = fed.look_ms?.p50;
    const why = [
      late !== null && late !== undefined ? `its requests started up to ${ms(late)} late (${fmt(real.real.processes)} Python ${real.real.processes === 1 ? "process" : "processes"} on a shared machine)` : null,
      dispatch > 5 ? `its queries went out up to ${ms(dispatch)} after a request decided to fetch` : null,
      held !== null && held !== undefined && own ? `a pool connection was busy ${ms(held)} per query (p50) for PostgreSQL's own ${ms(own)}: the rest is the app server's time around it` : null,
      looks !== null && looks !== undefined ? `a waiter's poll or wake-up had its answer ${ms(looks)} (p50) after it was due` : null,
      "the model was fed each of these times as measured, so what is left is what it does differently",
      pool ? `each app server has its own pool of ${fmt(pool)} ${pool === 1 ? "connection" : "connections"}, where the model has one queue for all` : null,
    ].filter(Boolean);
    const diff = e.p99 - es.p99;
    const close = Math.abs(diff) <= Math.max(25, 0.15 * es.p99);
    out.push([close ? "agree" : "differ",
      `The tail: p99 ${ms(e.p99)} for real against ${ms(es.p99)} in the model (${diff >= 0 ? "+" : "−"}${ms(Math.abs(diff))}). `
      + (close ? `Close: what the model leaves out cost little here (${why.join("; ")}).` : `Why: ${why.join("; ")}.`)]);
  }
  return out;
}
