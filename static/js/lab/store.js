// The lab's model: everything the views draw, built only from protocol messages (no DOM, no socket).
// Run identity and playback live here; each side's picture lives in a `Side` (side.js). Finished
// requests are retired by virtual time as frames arrive, so the store stays bounded whether or not
// anything draws it. `version` increases on every change so the render loop can skip idle frames,
// and each change calls the store's watchers: the page's loops sleep while nothing changes.

import { Side } from "./side.js";

export { STATE } from "./states.js";

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

/** The whole lab's state: run identity, playback status, the sides, summaries. */
export class Store {
  constructor() {
    this.sides = [new Side("A"), new Side("B")];
    this.runId = null;
    this.status = "idle";           // idle | starting | playing | paused | finished | stopped
    this.t = 0;
    this.speed = 1;
    this.duration = 0;              // scenario duration_s: arrivals stop here, then the run drains
    this.endS = null;               // virtual time the run ends (after its drain), null while unknown
    this.achieved = null;           // virtual s per wall s over about the last second of playback
    this.dotScale = 1;
    this.viewers = 0;
    this.compare = false;
    this.scenario = null;
    this.scenarioB = null;
    this.summary = null;
    this.summaryB = null;
    this.baseline = null;           // {queries, from}: the same run without mitigation, when known
    this.error = null;
    this.notice = null;             // a calm word from the server (e.g. an idle run was put away)
    this.putAway = false;           // the server put this paused run away (idle): play seeks back to t
    this.eventsReceived = 0;
    this.eventsDropped = 0;
    this.behind = false;
    this.speedRequested = null;
    this.frames = 0;                // frames applied in this run (dots are retired a frame late)
    this.resumedAt = null;          // virtual time of the last resume frame (the state after a seek)
    this.resumeSeq = 0;             // the frame number (`frames`) of that resume frame
    this.decode = eventDecoder(null);
    this.inputs = [];               // the run's checked inputs (interventions), each with its virtual t
    this.version = 0;
    this.watchers = new Set();
  }

  get a() { return this.sides[0]; }
  get b() { return this.sides[1]; }
  /** A run is under way (playing or paused): it can be paused, stepped, sped up or stopped. */
  get live() { return this.status === "playing" || this.status === "paused"; }
  /** The timeline's length: the run's end when known, else its arrivals' duration. */
  get length() { return this.endS ?? this.duration; }
  /** Playing noticeably slower than chosen: the server cannot keep up with this run. */
  get heavy() { return this.status === "playing" && this.achieved !== null && this.achieved < 0.9 * this.speed; }

  touch() {
    this.version++;
    for (const fn of this.watchers) fn();
  }

  /** Call `fn` after every change (a loop that sleeps while nothing changes wakes on it); returns what stops it. */
  watch(fn) {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** `started`: a new run (or a restart) replaces everything shown. */
  started(msg) {
    this.runId = msg.run_id;
    this.status = "playing";
    this.t = 0;
    this.speed = msg.speed ?? this.speed;
    this.speedRequested = null;          // (a new run's speed is the one it states)
    this.duration = msg.duration_s ?? msg.scenario?.duration_s ?? 0;
    this.endS = msg.end_s ?? null;
    this.achieved = null;
    this.dotScale = msg.dot_scale ?? 1;
    this.viewers = msg.viewers ?? msg.scenario?.clients?.count ?? 0;
    this.scenario = msg.scenario ?? null;
    this.scenarioB = msg.compare ?? null;
    this.compare = !!msg.compare;
    this.summary = this.summaryB = this.error = this.notice = this.baseline = null;
    this.putAway = false;
    this.eventsDropped = 0;
    this.frames = 0;
    this.resumedAt = null;
    this.resumeSeq = 0;
    this.behind = false;
    this.decode = eventDecoder(msg.event_fields);
    this.a.clear(this.scenario);
    this.b.clear(this.scenarioB);
    this.inputs = Array.isArray(msg.inputs) ? msg.inputs : [];
    if (Array.isArray(msg.moments)) this.a.moments.setAll(msg.moments);
    if (Array.isArray(msg.moments_b)) this.b.moments.setAll(msg.moments_b);
    this.touch();
  }

  /**
   * `frame`: apply its events in order, then retire what ended; false for another run's frame. A
   * `resume` frame (after a seek) carries the state at its `t`: the picture is cleared first.
   */
  frame(msg) {
    if (msg.run_id !== this.runId) return false;
    const decode = this.decode;
    const seq = ++this.frames;
    if (msg.resume) {
      for (const side of this.sides) side.forget();
      this.resumedAt = msg.t;
      this.resumeSeq = seq;
    }
    // A peek frame (a paused instant's exact numbers) or a resume frame ends with a sample of its
    // own instant, off the sampling grid: the charts keep it only until the grid's next sample.
    const exactAt = msg.peek || msg.resume ? msg.t : null;
    const events = msg.events || [];
    for (const ev of events) this.a.apply(decode(ev), seq, exactAt);
    const eventsB = msg.events_b || [];
    for (const ev of eventsB) this.b.apply(decode(ev), seq, exactAt);
    this.eventsReceived += events.length + eventsB.length;
    this.eventsDropped += msg.dropped || 0;
    this.behind = !!msg.behind;
    this.t = msg.t ?? this.t;
    if (msg.speed_achieved !== undefined) this.achieved = msg.speed_achieved;
    for (const side of this.sides) side.retire(this.t, seq);
    this.touch();
    return true;
  }

  /** `state`: playback status from the server (after every control, and on its own). */
  state(msg) {
    if (msg.run_id !== this.runId) return;
    // The whole run's moments (known ahead, or changed by an input) and its checked inputs.
    if (Array.isArray(msg.moments)) this.a.moments.setAll(msg.moments);
    if (Array.isArray(msg.moments_b)) this.b.moments.setAll(msg.moments_b);
    if (Array.isArray(msg.inputs)) this.inputs = msg.inputs;
    if (msg.end_s !== undefined) this.endS = msg.end_s;
    if (msg.status === undefined) { this.touch(); return; }       // news about the run, not playback
    // A seek (ours, or the instructor's in follow mode) replays from msg.t: forget what came after.
    if (msg.action === "seek") for (const side of this.sides) side.truncate(msg.t ?? 0);
    if (msg.action === "seek" || msg.action === "speed" || msg.status !== "playing") this.achieved = null;
    this.putAway = msg.action === "idle";
    this.notice = this.putAway ? msg.message || "This run was idle and has been put away." : null;
    this.status = msg.status;
    // Several quick speed changes: older `state` echoes must not undo the newest request.
    if (msg.speed !== undefined && (this.speedRequested === null || msg.speed === this.speedRequested)) {
      this.speed = msg.speed;
      this.speedRequested = null;
    }
    this.t = msg.t ?? this.t;
    this.touch();
  }

  /** `done`: the engine's exact summaries; every request has ended, so no dot stays open. */
  done(msg) {
    if (msg.run_id !== this.runId) return;
    this.summary = msg.summary;
    this.summaryB = msg.summary_b ?? null;
    if (Array.isArray(msg.inputs)) this.inputs = msg.inputs;
    this.status = "finished";
    this.achieved = null;
    if (this.endS === null) this.endS = Math.max(this.duration, this.t);   // now it is known
    for (const side of this.sides) side.retire(this.t, this.frames, true);
    this.touch();
  }

  /** The user chose a speed; the server's `state` will confirm it. */
  requestSpeed(speed) {
    this.speed = speed;
    this.speedRequested = speed;
    this.touch();
  }

  /** The same run without mitigation, for "queries saved" (only for the run it was asked for). */
  setBaseline(runId, baseline) {
    if (runId !== this.runId) return;
    this.baseline = baseline;
    this.touch();
  }

  /** `error`: shown to the user; it stops the run it names, or ends the wait for a refused start
   * (`startRefused`: the previous run stays on screen). */
  fail(msg, startRefused) {
    this.error = msg;
    // A refused intervention leaves the run untouched (it goes on playing): only say why.
    if (String(msg.field ?? msg.key ?? "").startsWith("input")) { this.touch(); return; }
    if (this.status === "starting" && startRefused) this.status = this.runId ? "stopped" : "idle";
    else if (msg.run_id && msg.run_id === this.runId) this.status = "stopped";
    this.touch();
  }
}
