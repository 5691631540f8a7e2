// One side of a run (A, or B in compare mode): what the views draw, built only from events.
// Bounded: the event log is a ring, chart series are decimated, the keys table is capped, and a
// request that ended is retired once the run's virtual time has moved on (so the store stays small
// whether or not anything draws it). No DOM, no wall clock: everything here is in virtual time.

import { STARTS, STATE, applyEvent } from "./states.js";
import { sampleLatency } from "./latency.js";
import { MomentList } from "./moments.js";

/** Most events kept per side for export and the lifecycle panel (oldest are overwritten). */
export const EVENT_LOG_LIMIT = 200_000;
/** Most chart points per series; past it every other point is dropped (the run stays whole). */
export const SERIES_LIMIT = 2_400;
/** Virtual seconds an ended request stays in the store (the stage fades it meanwhile). */
export const RETAIN_S = 0.5;
/** Cache keys whose state is remembered (the newest ones; the stage shows the latest). */
const KEYS_LIMIT = 256;
/** Promise resolutions remembered for the stage's pulses. */
const RESOLUTIONS_LIMIT = 64;
/** States a dot passed through, remembered so a view can replay a hop it drew no frame for. */
const HOPS_LIMIT = 6;
/** A request's latest events kept on its dot (the code panel follows the branch it is in). */
const RECENT_LIMIT = 8;
/** Datastore slowdowns remembered for the charts (a run has a handful; inputs may add a few). */
const SLOW_LIMIT = 64;
/** Answers that show the value was fetched just now (and so written to the cache). */
const FETCHED_SOURCES = new Set(["db", "promise", "lock", "marker"]);

/**
 * Series kept per sample: the sample's field, a derived latency value, or the peak at the datastore
 * so far (so a seek back in time shows the peak up to then).
 */
const SERIES = {
  peak: (s, side) => side.peakDb,
  t: (s) => s.t, queued: (s) => s.queued, in_service: (s) => s.in_service, inflight: (s) => s.inflight_requests,
  rps: (s) => s.rps,
  miss_rate: (s, side) => perSecond(s, side.prevSample, "cache_misses"),
  retry_rate: (s, side) => perSecond(s, side.prevSample, "retries"),
  errors: (s) => s.errors, timeouts: (s) => s.timeouts,
  p99_everyone: (s) => sampleLatency(s).p99Everyone, p99_answered: (s) => sampleLatency(s).p99Answered,
};

/** A cumulative counter's rate over the interval since the previous sample (null for the first). */
function perSecond(s, prev, field) {
  if (!prev || !(s.t > prev.t)) return null;
  return Math.max(0, (s[field] ?? 0) - (prev[field] ?? 0)) / (s.t - prev.t);
}

/** A fixed-size ring of events: cheap append, ordered read for export. */
class Ring {
  constructor(limit) { this.limit = limit; this.items = []; this.start = 0; this.total = 0; }
  push(item) {
    this.total++;
    if (this.items.length < this.limit) this.items.push(item);
    else { this.items[this.start] = item; this.start = (this.start + 1) % this.limit; }
  }
  toArray() { return this.items.slice(this.start).concat(this.items.slice(0, this.start)); }
  get overwritten() { return this.total - this.items.length; }
}

export class Side {
  constructor(name) {
    this.name = name;
    this.epoch = 0;
    this.clear();
  }

  /** A new run: `scenario` is this side's full scenario (from `started`), or null. */
  clear(scenario = null) {
    this.scenario = scenario;
    this.coalesce = scenario?.strategy?.coalesce ?? "none";
    this.cacheOn = scenario?.cache?.enabled !== false;
    this.ttlS = scenario?.cache?.ttl_s ?? 60;
    this.staleS = scenario?.strategy?.stale_while_revalidate ? scenario?.strategy?.stale_ttl_s ?? 0 : 0;
    this.leaseS = (scenario?.strategy?.lease_ms ?? 5000) / 1000;
    this.log = new Ring(EVENT_LOG_LIMIT);
    this.series = Object.fromEntries(Object.keys(SERIES).map((k) => [k, []]));
    this.sample = null;             // the latest sample event (exact counters)
    this.prevSample = null;         // the grid's sample before it (per-second rates)
    this.provisional = false;       // the charts' last point is a paused instant's, not the grid's
    this.peakDb = 0;
    this.db = { state: "up", recoverAt: null };
    this.slowWindows = [];          // [{from, until, factor}]: when the datastore was slowed (db_slow)
    this.moments = new MomentList(); // the run's moments: kept across seeks (they belong to the whole run)
    this.refused = null;            // the last input the engine could not apply: {t, input, reason}
    this.forget();
  }

  /** Forget the picture at this instant (dots, keys, markers), keeping the run's identity. */
  forget() {
    this.epoch++;                   // views drop what they drew for the old picture
    this.dots = new Map();          // req -> dot {req, viewer, server, key, state, ...} (no positions)
    this.keys = new Map();          // key -> {setAt, expiresAt, staleUntil, exact}: the cache as last seen
    this.lastKey = null;
    this.markers = new Map();       // key -> {server, since, leaseEnd, takenFrom}: "being fetched" markers
    this.deadServers = new Map();   // server -> virtual time it died
    this.resolutions = [];          // recent promise resolutions {seq, server, key, ok, t}
    this.resolved = 0;
  }

  /** Forget what happened after virtual time t (a seek: the server replays from there). */
  truncate(t) {
    this.forget();
    const keep = this.series.t.findIndex((x) => x > t);
    if (keep >= 0) {
      for (const k of Object.keys(SERIES)) this.series[k].length = keep;
      this.provisional = false;     // (it was the last point: cut)
    }
    if (this.sample && this.sample.t > t) this.sample = null;
    this.peakDb = this.series.peak.at(-1) ?? 0;
    this.slowWindows = this.slowWindows.filter((w) => w.from <= t);
  }

  /** The datastore's slowdown at virtual time t ({from, until, factor}), or null. */
  slowAt(t) {
    const w = this.slowWindows[this.slowWindows.length - 1];
    return w && w.from <= t && t < w.until ? w : null;
  }

  /** One event of frame number `frameSeq`; `exactAt`: the instant a peek or resume frame is of. */
  apply(ev, frameSeq, exactAt = null) {
    this.log.push(ev);
    const kind = ev.kind;
    if (kind === "sample") return this.applySample(ev, ev.t === exactAt);
    if (kind === "db_state") { this.db = { state: ev.state, recoverAt: ev.recover_at ?? null }; return; }
    if (kind === "db_slow") return this.applySlow(ev);
    if (kind === "server_down") { this.deadServers.set(ev.server, ev.t); return; }
    if (kind === "moment") { this.moments.add(ev); return; }
    if (kind === "input") return this.applyInput(ev);
    if (kind === "chunk_published") { this.lastKey = ev.key ?? this.lastKey; return; }
    this.applyKey(ev);
    if (ev.req === null || ev.req === undefined) return;

    let dot = this.dots.get(ev.req);
    if (!dot) {
      if (kind !== STARTS) return;
      dot = { req: ev.req, viewer: ev.viewer, server: ev.server, key: ev.key, state: STATE.travel, since: ev.t,
              attempt: 0, query: null, leader: false, role: null, waitsOn: null, polled: 0,
              hops: [], hopCount: 0, endT: null, endSeq: null, status: null, latency: null, source: null, recent: [] };
      this.dots.set(ev.req, dot);
    }
    if (ev.server !== null && ev.server !== undefined && dot.endT === null) dot.server = ev.server;
    dot.recent.push(ev);
    if (dot.recent.length > RECENT_LIMIT) dot.recent.shift();
    const next = applyEvent(dot, ev, this.coalesce);
    if (dot.endT !== null && dot.endSeq === null) dot.endSeq = frameSeq;
    if (!next || next === dot.state) return;
    dot.state = next;
    dot.since = ev.t;
    dot.hops.push(next);
    if (dot.hops.length > HOPS_LIMIT) dot.hops.shift();
    dot.hopCount++;
  }

  /**
   * What the cache and the "being fetched" markers hold, from every event that shows it. The
   * transport animates a sample of viewers, so a key's own `cache_set` may not be sent; an answer
   * fetched just now, a hit or a miss of an animated request say as much, and are used too.
   */
  applyKey(ev) {
    const key = ev.key;
    if (key === null || key === undefined) return;
    const kind = ev.kind, t = ev.t;
    if (kind === "cache_miss") this.lastKey = key;
    if (!this.cacheOn) return;
    const entry = this.keys.get(key);
    switch (kind) {
      case "cache_set": this.setKey(key, t, ev.ttl_s ?? this.ttlS, true); break;
      case "cache_hit": if (!entry || entry.expiresAt <= t) this.setKey(key, t, this.ttlS, false); break;
      case "cache_miss": if (entry && entry.expiresAt > t) entry.expiresAt = t; break;
      case "stale_served": if (entry && entry.expiresAt > t) entry.expiresAt = t; break;
      case "respond":
        if (ev.status === "ok" && FETCHED_SOURCES.has(ev.source) && !(entry && entry.expiresAt > t && entry.setAt <= t)) {
          this.setKey(key, t, this.ttlS, false);
        }
        break;
      case "fetch_start":
        if (this.coalesce === "distributed" && ev.role === "leader") this.setMarker(key, ev.server, t, null);
        break;
      case "marker_wait":
        if (!this.markers.has(key)) this.setMarker(key, ev.leader_server, t, null);
        break;
      case "marker_expired": this.setMarker(key, ev.server, t, ev.previous_server); break;
      case "promise_resolved":
        this.resolutions.push({ seq: ++this.resolved, server: ev.server, key, ok: ev.ok, t });
        if (this.resolutions.length > RESOLUTIONS_LIMIT) this.resolutions.shift();
        break;
    }
  }

  /**
   * An `input` event (an intervention acted): a key expired or deleted by hand changes what the cache
   * holds now (a killed server comes as its own `server_down`). A refused one is remembered to say why.
   */
  applyInput(ev) {
    if (ev.applied === false) { this.refused = { t: ev.t, input: ev.input, reason: ev.reason ?? "" }; return; }
    const entry = ev.key !== null && ev.key !== undefined ? this.keys.get(ev.key) : null;
    if (!entry) return;
    if (ev.input === "expire_key" && entry.expiresAt > ev.t) entry.expiresAt = ev.t;
    if (ev.input === "delete_key") this.keys.delete(ev.key);
  }

  setKey(key, t, ttl, exact) {
    const old = this.keys.get(key);
    this.keys.delete(key);                  // re-insert: the Map's order is recency
    this.keys.set(key, { setAt: t, expiresAt: t + ttl, staleUntil: t + ttl + this.staleS, exact: exact || !!old?.exact && old.setAt === t });
    if (this.keys.size > KEYS_LIMIT) this.keys.delete(this.keys.keys().next().value);
    this.markers.delete(key);               // a value written ends its fetch: the marker is deleted
    this.lastKey = key;
  }

  setMarker(key, server, t, takenFrom) {
    this.markers.set(key, { server, since: t, leaseEnd: t + this.leaseS, takenFrom });
  }

  /**
   * `db_slow`: from now queries take `factor` times as long, until `until`; factor 1 ends it early
   * or on time. The same start seen twice (a resume frame after a seek) is one window.
   */
  applySlow(ev) {
    const w = this.slowWindows;
    const last = w[w.length - 1];
    if (ev.factor > 1) {
      if (last && last.from === ev.t) w.pop();
      w.push({ from: ev.t, until: ev.until ?? Infinity, factor: ev.factor });
      if (w.length > SLOW_LIMIT) w.shift();
    } else if (last && last.until > ev.t) last.until = ev.t;
  }

  /**
   * A sample: the cards' numbers, and a point of every chart. A `provisional` one is of a paused
   * instant between the grid's samples (its rate and p99 cover only part of an interval): the
   * grid's next sample, which covers the whole interval, takes its place in the charts.
   */
  applySample(s, provisional = false) {
    // per-second rates run from the grid's previous sample, never from a paused instant's
    if (this.sample && !this.provisional) this.prevSample = this.sample;
    this.sample = s;
    this.peakDb = Math.max(this.peakDb, (s.queued || 0) + (s.in_service || 0));
    this.db.state = s.state || this.db.state;
    const series = this.series;
    if (series.t.at(-1) === s.t) return;      // a resume frame repeats the sample the charts already have
    if (this.provisional) for (const k of Object.keys(SERIES)) series[k].pop();
    this.provisional = provisional;
    for (const [k, get] of Object.entries(SERIES)) series[k].push(get(s, this) ?? null);
    if (series.t.length > SERIES_LIMIT) {
      for (const k of Object.keys(SERIES)) series[k] = series[k].filter((_, i) => i % 2 === 0);
      if (series.t.at(-1) !== s.t) this.provisional = false;   // (the paused instant's point went)
    }
  }

  /**
   * Retire requests that ended before `t - RETAIN_S` and at least one frame ago (so a view drew
   * them once, whatever the speed). With `over`, the run has ended: a request whose end never
   * arrived (its events were dropped to keep up) is retired too, as nothing is open any more.
   */
  retire(t, frameSeq, over = false) {
    for (const [req, dot] of this.dots) {
      if (dot.endT === null ? over : dot.endT <= t - RETAIN_S && dot.endSeq < frameSeq - 1) this.dots.delete(req);
    }
  }

  /** The cache's state of `key` at virtual time t: "empty", "fresh", "stale" or "expired". */
  keyState(key, t) {
    const entry = this.keys.get(key);
    if (!entry) return "empty";
    if (t < entry.expiresAt) return "fresh";
    return t < entry.staleUntil ? "stale" : "expired";
  }

  /** Requests answered, failed and still open, from the exact counters of the latest sample. */
  counts() {
    const s = this.sample;
    if (!s) return null;
    const open = s.inflight_requests ?? s.in_flight ?? 0;
    const errors = s.errors ?? 0, timeouts = s.timeouts ?? 0, answered = s.completed ?? 0;
    return { answered, errors, timeouts, open, requests: answered + errors + timeouts + open };
  }

  /** Every event of one request still in the log, in time order (the lifecycle panel). */
  lifecycle(req) {
    return this.log.toArray().filter((ev) => ev.req === req);
  }
}
