// Moments: the instants worth seeing that the engine marks in a run (docs/events.md "Moments"), and
// the words the page says about them. Pure: no DOM. Every number in a caption is a field of the
// moment itself (`number`, `until`, `factor`, `server`), never worked out again on the page.

import { fmt, plural } from "./format.js";

/** At most this many moments are kept per side (the engine makes at most 100 per `what`). */
export const MOMENTS_LIMIT = 1200;

/** The compact dict of a `moment` event (what `started.moments` carries): `{t, what, ...fields that apply}`. */
export function compactMoment(ev) {
  const out = { t: ev.t, what: ev.what };
  for (const k of ["key", "server", "req", "number", "until", "next", "from_server", "factor", "ok", "at"]) {
    if (ev[k] !== null && ev[k] !== undefined) out[k] = ev[k];
  }
  return out;
}

/**
 * The instant a moment shows: `at` when the engine knew it only a little later (a herd's peak, a
 * retry wave: docs/events.md "Moments"), else its `t`.
 */
export function instantOf(m) {
  return typeof m.at === "number" ? m.at : m.t;
}

/** One moment's identity: the same moment from `started`, a `state` and a frame is kept once. */
export function momentId(m) {
  return `${Number(m.t).toFixed(6)}|${m.what}|${m.key ?? ""}|${m.server ?? ""}`;
}

/** The moments of one side, in the order of their instants, each kept once whichever message told of it. */
export class MomentList {
  constructor() { this.clear(); }

  clear() {
    this.items = [];
    this.ids = new Set();
    this.complete = false;          // the server sent the whole run's list (started or state)
  }

  /** Replace the list with the server's whole-run list (`started.moments`, `state` moments). */
  setAll(list) {
    this.items = [];
    this.ids = new Set();
    for (const m of list || []) this.add(m);
    this.complete = true;
  }

  /** Add one (a `moment` event from a frame, or a compact dict); false when already known. */
  add(m) {
    if (!m || typeof m.t !== "number" || typeof m.what !== "string") return false;
    const id = momentId(m);
    if (this.ids.has(id) || this.items.length >= MOMENTS_LIMIT) return false;
    this.ids.add(id);
    const c = compactMoment(m);
    let i = this.items.length;
    while (i > 0 && instantOf(this.items[i - 1]) > instantOf(c)) i--;
    this.items.splice(i, 0, c);
    return true;
  }
}

const server = (i) => `S${(i ?? 0) + 1}`;
const at = (t) => `t = ${Number(t).toFixed(2)} s`;

/** A short title per `what` (timeline marks, the story's list). */
const TITLES = {
  first_miss: "first miss", herd_peak: "herd at its peak", resolved: "one query answers the rest",
  db_overloaded: "datastore overloaded", db_down: "datastore down", db_recovered: "datastore back",
  server_down: "server died", takeover: "fetch taken over", retry_wave: "retry wave",
  slow_start: "datastore slowed", slow_end: "slowdown over",
};

/** "t = 0.23 s · one query answers the rest (57 waiting)": the mark's tooltip and accessible name. */
export function momentTitle(m) {
  const n = typeof m.number === "number" ? ` (${fmt(m.number)})` : "";
  return `${at(instantOf(m))} · ${TITLES[m.what] ?? m.what.replace(/_/g, " ")}${n}`;
}

/**
 * What the story says about a moment, and where on the stage it points:
 * `{anchor: "ring"|"cache"|"db"|"server"|"viewers", server, before, after}`. `before` is shown
 * while the picture is held just before the moment; `after` (when it has one) once it happened.
 * Null for a `what` the story does not narrate.
 */
export function momentCaption(m) {
  const n = m.number ?? 0;
  switch (m.what) {
    case "first_miss": {
      const next = { all_fetch: "every request that misses goes to the datastore",
                     one_per_server: "one request per server fetches; the rest will wait on its promise",
                     one_fetches: "one request fetches; the rest will wait for it" }[m.next] ?? "here they come";
      return { anchor: "cache", before: `${m.key ?? "The key"} is not in the cache: ${next}.` };
    }
    case "herd_peak":
      return { anchor: "cache", before: `${fmt(n)} ${plural(n, "request is", "requests are")} waiting for ${m.key ?? "this key"} at once: the herd at its peak.` };
    case "resolved": {
      const waiting = `${fmt(n)} ${plural(n, "request is", "requests are")} waiting on this one query`;
      const after = m.ok === false ? `The query failed: all ${fmt(n)} waiting ${plural(n, "request gets", "requests get")} its error.`
        : m.next === "answered" ? `One query answered ${fmt(n + 1)} viewers: its leader and the ${fmt(n)} waiting on it.`
        : m.next === "next_poll" ? `One query filled the cache: the ${fmt(n)} waiting find it at their next poll.`
        : m.next === "handover" ? `The lock passes on: ${fmt(n)} still ${plural(n, "waits", "wait")}.`
        : `One query answered the ${fmt(n)} waiting on it.`;
      return { anchor: m.next === "next_poll" || m.next === "handover" ? "cache" : "ring", server: m.server, before: `${waiting}.`, after };
    }
    case "db_overloaded":
      return { anchor: "db", before: `${fmt(n)} queries queued: the datastore is overloaded${m.next === "crash" && m.until != null ? `; it crashes at ${at(m.until)} if this lasts` : ""}.` };
    case "db_down":
      return { anchor: "db", before: `The datastore crashed, failing ${fmt(n)} ${plural(n, "query", "queries")}${m.until != null ? `; it is back at ${at(m.until)}` : ""}.` };
    case "db_recovered":
      return { anchor: "db", before: "The datastore is back up." };
    case "server_down": {
      const next = m.next === "retry_elsewhere" ? ": they retry on the other servers" : m.next === "fail" ? ": with no retries, they fail" : "";
      return { anchor: "server", server: m.server, before: `${server(m.server)} died, failing ${fmt(n)} ${plural(n, "request", "requests")}${next}.` };
    }
    case "takeover":
      return { anchor: "server", server: m.server, before: `${server(m.from_server)} died while fetching: ${server(m.server)} takes the fetch over.` };
    case "retry_wave": {
      const ms = typeof m.at === "number" && typeof m.until === "number" ? Math.round((m.until - m.at) * 1000) : null;
      const within = ms === null ? "together" : ms < 1 ? "at the same instant" : `within ${ms} ms`;
      return { anchor: "viewers", before: `${fmt(n)} ${plural(n, "retry arrives", "retries arrive")} ${within}: a retry wave.` };
    }
    case "slow_start":
      return { anchor: "db", before: `The datastore slows down: every query takes ×${m.factor ?? 1} as long${m.until != null ? ` until ${at(m.until)}` : ""}.` };
    case "slow_end":
      return { anchor: "db", before: "The slowdown is over: queries take their usual time again." };
    default:
      return null;
  }
}
