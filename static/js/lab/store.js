// The lab's model: everything the views draw, built only from protocol messages (no DOM, no socket).
// Bounded: the event log is a ring, chart series are decimated, finished dots are forgotten.
// `version` increases on every change so the render loop can skip frames where nothing happened.

/** Most events kept per side for export and the lifecycle panel (oldest are overwritten). */
export const EVENT_LOG_LIMIT = 200_000;
/** Most chart points per series; past it every other point is dropped (the run stays whole). */
export const SERIES_LIMIT = 2_400;

/** Dot states (the visual vocabulary of ui.md); one per request, set only by events. */
export const STATE = {
  travel: "travel", hit: "hit", miss: "miss", wait: "wait", marker: "marker", poll: "poll",
  queued: "queued", service: "service", fetched: "fetched", ok: "ok", failed: "failed",
};

// Event kind → the state it puts its request in. Kinds absent here leave the state alone.
const KIND_STATE = {
  arrive: STATE.travel, retry: STATE.travel, cache_hit: STATE.hit, stale_served: STATE.hit,
  cache_miss: STATE.miss, fetch_start: STATE.miss, promise_wait: STATE.wait, marker_wait: STATE.marker,
  lock_wait: STATE.poll, lock_poll: STATE.poll, db_queued: STATE.queued, db_started: STATE.service,
  db_finished: STATE.fetched, db_rejected: STATE.failed, db_failed: STATE.failed, timeout: STATE.failed,
};

const SERIES = ["t", "queued", "in_service", "rps", "lat_p50_ms", "lat_p99_ms", "errors"];

/**
 * Events arrive as arrays in the engine's order, `[t, kind, req, viewer, server, key, ...fields]`,
 * with the names sent once per run in `started.event_fields` (docs/protocol.md). This is the one
 * place that turns them back into the objects everything else reads (`Event.to_dict()`'s shape).
 * A decoder per kind is built once per schema; objects (an older server) pass through unchanged.
 */
export function eventDecoder(schema) {
  const common = schema?.common ?? ["t", "kind", "req", "viewer", "server", "key"];
  const cache = new Map();
  const namesOf = (kind) => {
    let names = cache.get(kind);
    if (!names) { names = common.concat(schema?.[kind] ?? []); cache.set(kind, names); }
    return names;
  };
  return (ev) => {
    if (!Array.isArray(ev)) return ev;
    const names = namesOf(ev[1]);
    const out = {};
    for (let i = 0; i < names.length; i++) out[names[i]] = i < ev.length ? ev[i] : null;
    return out;
  };
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

/** One side of a run (A, or B in compare mode): live dots, datastore state, samples, events. */
export class Side {
  constructor(name) {
    this.name = name;
    this.clear();
  }

  /** A new run: `scenario` is this side's full scenario (from `started`), or null. */
  clear(scenario = null) {
    this.coalesce = scenario?.strategy?.coalesce ?? "none";
    this.dots = new Map();          // req -> dot {req, viewer, server, key, state, leader, ...}
    this.log = new Ring(EVENT_LOG_LIMIT);
    this.series = Object.fromEntries(SERIES.map((k) => [k, []]));
    this.sample = null;             // the latest sample event (exact counters)
    this.peakDb = 0;
    this.worstP99 = null;           // worst per-interval p99 so far (the summary has the true p99)
    this.db = { state: "up", recoverAt: null };
    this.markers = new Map();       // key -> server holding the distributed "being fetched" marker
    this.pulses = [];               // promise resolutions not yet drawn: {server, key, ok, t}
    this.cachedKeys = new Set();
    this.lastKey = null;
  }

  /** Forget what happened after virtual time t (a seek backwards replays it from the server). */
  truncate(t) {
    this.dots.clear();
    this.markers.clear();
    this.pulses = [];
    const keep = this.series.t.findIndex((x) => x > t);
    if (keep >= 0) for (const k of SERIES) this.series[k].length = keep;
  }

  apply(ev) {
    this.log.push(ev);
    const kind = ev.kind;
    if (kind === "sample") return this.applySample(ev);
    if (kind === "db_state") {
      this.db = { state: ev.state, recoverAt: ev.recover_at ?? null };
      return;
    }
    if (kind === "cache_set") { this.cachedKeys.add(ev.key); this.lastKey = ev.key; }
    if (kind === "chunk_published") { this.lastKey = ev.key ?? this.lastKey; return; }
    if (kind === "promise_resolved") { this.pulses.push({ server: ev.server, key: ev.key, ok: ev.ok, t: ev.t }); }
    if (kind === "fetch_start" && ev.role === "leader" && this.coalesce === "distributed") this.markers.set(ev.key, ev.server);
    if (kind === "marker_expired" || kind === "cache_set") this.markers.delete(ev.key);
    if (kind === "cache_miss") this.lastKey = ev.key;
    if (ev.req === null || ev.req === undefined) return;

    let dot = this.dots.get(ev.req);
    if (!dot) {
      dot = { req: ev.req, viewer: ev.viewer, server: ev.server, key: ev.key, state: STATE.travel,
              leader: false, since: ev.t, path: [] };
      this.dots.set(ev.req, dot);
    }
    if (ev.server !== null && ev.server !== undefined) dot.server = ev.server;
    // A leader only means something when others wait on it (with no coalescing everyone fetches).
    if (kind === "fetch_start" && this.coalesce !== "none") dot.leader = true;
    if (kind === "lock_poll") dot.polled = (dot.polled || 0) + 1;
    let next = KIND_STATE[kind];
    if (kind === "respond") { next = ev.status === "ok" ? STATE.ok : STATE.failed; dot.latency = ev.latency_ms; }
    if (!next || next === dot.state) return;
    dot.state = next;
    dot.since = ev.t;
    // The states passed through since the last drawn frame: the stage turns them into waypoints,
    // so a hit that arrives and is answered within one frame still visibly bounces off the cache.
    if (dot.path.length < 6) dot.path.push(next);
  }

  applySample(s) {
    this.sample = s;
    this.peakDb = Math.max(this.peakDb, (s.queued || 0) + (s.in_service || 0));
    if (s.lat_p99_ms !== null && s.lat_p99_ms !== undefined) this.worstP99 = Math.max(this.worstP99 ?? 0, s.lat_p99_ms);
    this.db.state = s.state || this.db.state;
    const series = this.series;
    for (const k of SERIES) series[k].push(s[k] ?? null);
    if (series.t.length > SERIES_LIMIT) {
      for (const k of SERIES) series[k] = series[k].filter((_, i) => i % 2 === 0);
    }
  }

  /** Every event of one request still in the log, in time order (the lifecycle panel). */
  lifecycle(req) {
    return this.log.toArray().filter((ev) => ev.req === req);
  }
}

/** The whole lab's state: run identity, playback status, the sides, summaries. */
export class Store {
  constructor() {
    this.sides = [new Side("A"), new Side("B")];
    this.runId = null;
    this.status = "idle";           // idle | starting | playing | paused | finished | stopped | error
    this.t = 0;
    this.speed = 1;
    this.duration = 0;
    this.dotScale = 1;
    this.viewers = 0;
    this.compare = false;
    this.scenario = null;
    this.scenarioB = null;
    this.summary = null;
    this.summaryB = null;
    this.error = null;
    this.eventsReceived = 0;
    this.eventsDropped = 0;
    this.behind = false;
    this.speedRequested = null;
    this.decode = eventDecoder(null);
    this.version = 0;
  }

  get a() { return this.sides[0]; }
  /** A run is under way (playing or paused): it can be paused, stepped, sped up or stopped. */
  get live() { return this.status === "playing" || this.status === "paused"; }
  get b() { return this.sides[1]; }

  touch() { this.version++; }

  /** `started`: a new run (or a restart) replaces everything shown. */
  started(msg) {
    this.runId = msg.run_id;
    this.status = "playing";
    this.t = 0;
    this.speed = msg.speed ?? this.speed;
    this.duration = msg.duration_s ?? msg.scenario?.duration_s ?? 0;
    this.dotScale = msg.dot_scale ?? 1;
    this.viewers = msg.viewers ?? msg.scenario?.clients?.count ?? 0;
    this.scenario = msg.scenario ?? null;
    this.scenarioB = msg.compare ?? null;
    this.compare = !!msg.compare;
    this.summary = this.summaryB = this.error = null;
    this.eventsDropped = 0;
    this.behind = false;
    this.decode = eventDecoder(msg.event_fields);
    this.a.clear(this.scenario);
    this.b.clear(this.scenarioB);
    this.touch();
  }

  /** `frame`: apply its events in order; returns false for a frame of another run. */
  frame(msg) {
    if (msg.run_id !== this.runId) return false;
    const decode = this.decode;
    const events = msg.events || [];
    for (const ev of events) this.a.apply(decode(ev));
    const eventsB = msg.events_b || [];
    for (const ev of eventsB) this.b.apply(decode(ev));
    this.eventsReceived += events.length + eventsB.length;
    this.eventsDropped += msg.dropped || 0;
    this.behind = !!msg.behind;
    this.t = msg.t ?? this.t;
    this.touch();
    return true;
  }

  /** `state`: playback status from the server (after every control). */
  state(msg) {
    if (msg.run_id !== this.runId) return;
    // A seek (ours, or the instructor's in follow mode) replays from msg.t: forget what came after.
    if (msg.action === "seek") for (const side of this.sides) side.truncate(msg.t ?? 0);
    this.status = msg.status;
    // Several quick speed changes: older `state` echoes must not undo the newest request.
    if (msg.speed !== undefined && (this.speedRequested === null || msg.speed === this.speedRequested)) {
      this.speed = msg.speed;
      this.speedRequested = null;
    }
    this.t = msg.t ?? this.t;
    this.touch();
  }

  /** `done`: the engine's exact summaries (they replace the live estimates on the cards). */
  done(msg) {
    if (msg.run_id !== this.runId) return;
    this.summary = msg.summary;
    this.summaryB = msg.summary_b ?? null;
    this.status = "finished";
    this.touch();
  }

  /** The user chose a speed; the server's `state` will confirm it. */
  requestSpeed(speed) {
    this.speed = speed;
    this.speedRequested = speed;
    this.touch();
  }

  /** `error`: shown to the user; a refused start leaves the previous run on screen. */
  fail(msg) {
    this.error = msg;
    if (this.status === "starting") this.status = this.runId ? "stopped" : "idle";
    else if (msg.run_id && msg.run_id === this.runId) this.status = "stopped";
    this.touch();
  }
}
