// Guided playback ("Story"): as a moment worth seeing approaches, playback eases into slow motion;
// on it, the run is held at that exact instant with a caption anchored to its place on the stage,
// then it plays on at the student's own speed. Everything goes through the lab's ordinary commands
// (speed, seek with pause, step, resume), so what is drawn is always the run's own state there:
// the server re-runs to the instant and sends its state with a sample of it (docs/protocol.md).
//
// The hold is measured on screen: its clock starts only once the page shows the instant (the
// seek's resume frame has arrived, paused there), it lasts at least HOLD_MS and longer for a long
// caption, and nothing moves on until it is over: no moment begins, and no "play on" is sent,
// while a seek or a step is still on its way. Wall-clock timing lives here, never in the store.

import { instantOf, momentCaption, momentId } from "./moments.js";

/** A held moment stays on screen this long (ms of wall time) at least. */
export const HOLD_MS = 2600;
/** Reading time: a caption stays up at least this long per character (ms) plus READ_BASE_MS. */
const READ_MS_PER_CHAR = 40;
const READ_BASE_MS = 1000;
const READ_MAX_MS = 7000;
/** A two-part caption shows its "before" at least this long, then steps over to show "after". */
const BEFORE_MS = 1400;
/** Virtual seconds shown after stepping over a two-part moment (the waiters leaving together). */
const AFTER_S = 0.06;
/**
 * A resolution is held just before its instant, so its waiters are still on the stage: one
 * microsecond before the time it carries (rounded to the microsecond on the wire), before any
 * event at it, and after every one before it that matters (arrivals are microseconds apart).
 */
const PRE_S = 1e-6;
/**
 * Times on the wire are rounded to the microsecond, so a moment's real instant may lie up to half
 * a microsecond after the one it carries: the story seeks that much past it, to show everything
 * that happened at it.
 */
const PAST_S = 5e-7;
/** Approach: within this many virtual seconds (at 1x) of a moment, never faster than that speed. */
const EASE = [[0.04, 0.1], [0.15, 0.25], [0.45, 0.5]];
/** A moment found only after it passed (no list ahead) is replayed if it is at most this far back. */
const CATCH_BACK_S = 3;
/** A seek or step the server has not answered in this long (ms) is given up: the run plays on. */
const LAND_TIMEOUT_MS = 60_000;
/** Which moment wins when several share an instant (the first is narrated). */
const PRIORITY = ["resolved", "takeover", "server_down", "db_down", "db_overloaded", "retry_wave",
                  "slow_start", "herd_peak", "db_recovered", "slow_end", "first_miss"];
/** What the story holds on when nothing narrower is asked (a lesson step names its own). */
const DEFAULT_WHATS = new Set(PRIORITY.filter((w) => w !== "first_miss" && w !== "slow_end"));

/**
 * The instant the story shows a moment at: just before a resolution (its waiters still there; it
 * then steps over it), the last arrival of a retry wave (all of it there), else the moment's own
 * instant (`at` for a herd's peak) with everything that happened at it.
 */
export function holdTime(m) {
  if (m.what === "resolved") return Math.max(0, m.t - PRE_S);
  if (m.what === "retry_wave" && typeof m.until === "number") return m.until + PAST_S;
  return instantOf(m) + PAST_S;
}

/** How long a caption of this text stays up (ms of wall time): never under `least`. */
export function readMs(text, least = HOLD_MS) {
  return Math.max(least, Math.min(READ_MAX_MS, READ_BASE_MS + READ_MS_PER_CHAR * (text?.length ?? 0)));
}

const near = (a, b) => Math.abs(a - b) <= 1e-6;

export class Story {
  /**
   * @param {object} store  the lab's store (read only)
   * @param {{speed: Function, seek: Function, step: Function, resume: Function}} commands
   *   the lab's playback commands: speed(x), seek(t, pause), step(seconds), resume()
   */
  constructor(store, commands) {
    this.store = store;
    this.cmd = commands;
    this.on = false;
    this.focus = null;            // [{what, nth}] a lesson step is about, or null for the default set
    this.side = "a";              // the side narrated ("b": a pair's side B, as a step names it)
    // The hold: {m, cap, phase, target, sent, asked, due}; phase: "seek" (sent when `sent` frames
    // had arrived, at `asked`: waiting for the picture), "before" (shown until `due`), "step"
    // (stepping over it), "after" (shown until `due`).
    this.hold = null;
    this.last = null;             // the last moment held (Replay)
    this.held = new Set();        // moment ids narrated in this run (each once)
    this.eased = null;            // the speed the story asked for while approaching, or null
    this.userSpeed = store.speed;
    this.runId = null;
  }

  /**
   * Switch the story on or off. `focus`: the moments a lesson step names, as `what` strings or
   * `{what, nth}` (the nth of them in the run, 1-based), else null for the default set; `side`:
   * the side it narrates ("a" or "b").
   */
  set(on, focus = null, side = "a") {
    this.on = !!on;
    const list = (focus || []).map((f) => (typeof f === "string" ? { what: f, nth: 1 } : { what: f.what, nth: f.nth || 1 }));
    this.focus = list.length ? list : null;
    this.side = side === "b" ? "b" : "a";
    if (!this.on) this.release(false);
  }

  /** The narrated side of the store. */
  get sideOf() { return this.side === "b" ? this.store.b : this.store.a; }

  /** The caption on screen: the text, the moment and where it points, or null. */
  get caption() {
    const h = this.hold;
    if (!h || h.phase === "seek") return null;           // not before the picture is there
    const after = (h.phase === "after") && h.cap.after;
    return { text: after ? h.cap.after : h.cap.before, anchor: h.cap.anchor, server: h.cap.server,
             moment: h.m, side: this.side, at: h.target };
  }

  /** The student chose a speed: it is the one the run returns to after each moment. */
  chose(speed) {
    this.userSpeed = speed;
    this.eased = null;
  }

  /** Called by the lab's loop on every animation frame (cheap when there is nothing to do). */
  tick(now) {
    const store = this.store;
    if (store.runId !== this.runId) this.reset();
    if (!this.on || !store.runId) return;
    if (this.hold) return this.holding(now);
    if (store.status !== "playing") return;
    const next = this.next();
    if (!next) { this.ease(null); return; }
    const d = holdTime(next) - store.t;
    if (d < 0) { this.begin(next, now); return; }          // found only after it passed: go back to it
    const lead = Math.max(1, this.userSpeed);
    const frameS = (store.speed || 1) / 30;                 // about one frame of virtual time
    if (d <= Math.max(0.004, 1.5 * frameS)) { this.begin(next, now); return; }
    const tier = EASE.find(([within]) => d <= within * lead);
    this.ease(tier ? Math.min(this.userSpeed, tier[1]) : null);
  }

  /** The narrated side's moments the story holds on, in the order of their instants. */
  wanted() {
    const items = this.sideOf.moments.items;
    if (this.focus) {
      const out = [];
      for (const { what, nth } of this.focus) {
        const m = items.filter((x) => x.what === what).sort((a, b) => instantOf(a) - instantOf(b))[nth - 1];
        if (m) out.push(m);
      }
      return out;
    }
    const first = new Map();        // each `what` is narrated once: its first occurrence
    for (const m of items) {
      if (!DEFAULT_WHATS.has(m.what) || !momentCaption(m)) continue;
      const had = first.get(m.what);
      if (!had || instantOf(m) < instantOf(had)) first.set(m.what, m);
    }
    return [...first.values()];
  }

  /** The next moment to narrate: not yet held, its instant ahead or just behind. */
  next() {
    const t = this.store.t;
    let best = null;
    for (const m of this.wanted()) {
      if (this.held.has(momentId(m))) continue;
      const at = holdTime(m);
      if (at < t - CATCH_BACK_S) continue;
      if (!best || at < holdTime(best) - 1e-9
          || (Math.abs(at - holdTime(best)) <= 1e-9 && PRIORITY.indexOf(m.what) < PRIORITY.indexOf(best.what))) best = m;
    }
    return best;
  }

  ease(speed) {
    if (speed === this.eased) return;
    const target = speed ?? this.userSpeed;
    this.eased = speed;
    if (Math.abs(target - this.store.speed) > 1e-9) this.cmd.speed(target);
  }

  /** Go to the moment's instant, paused; the hold begins when the page shows it. */
  begin(m, now) {
    const cap = momentCaption(m);
    const target = holdTime(m);
    this.hold = { m, cap, phase: "seek", target, sent: this.store.frames, asked: now, due: 0 };
    this.last = m;
    this.held.add(momentId(m));
    // Other wanted moments at the same instant are told by this caption's picture: not held twice.
    for (const o of this.wanted()) if (Math.abs(holdTime(o) - target) <= 1e-9) this.held.add(momentId(o));
    this.cmd.seek(target, true);
  }

  /**
   * The page shows `t`, paused, from a frame newer than the command sent when `sent` frames had
   * arrived: after a seek, its resume frame (the state there); after a step, the step's frame.
   */
  landed(t, sent, seek) {
    const s = this.store;
    if (s.status !== "paused" || !near(s.t, t)) return false;
    return seek ? s.resumeSeq > sent && near(s.resumedAt, t) : s.frames > sent;
  }

  holding(now) {
    const h = this.hold;
    const s = this.store;
    if (s.status === "finished" || s.status === "stopped" || s.status === "idle") { this.hold = null; return; }
    if (h.phase === "seek" || h.phase === "step") {
      const t = h.phase === "seek" ? h.target : h.stepTo;
      if (this.landed(t, h.sent, h.phase === "seek")) {
        h.phase = h.phase === "seek" ? "before" : "after";
        const text = h.phase === "before" ? h.cap.before : h.cap.after;
        h.due = now + (h.cap.after ? (h.phase === "before" ? readMs(text, BEFORE_MS) : readMs(text, HOLD_MS - BEFORE_MS + 400)) : readMs(text));
      } else if (now - h.asked > LAND_TIMEOUT_MS) {
        this.release(true);                 // the server never showed it: do not hold the run for ever
      }
      return;
    }
    if (now < h.due) return;
    if (h.phase === "before" && h.cap.after) {
      h.phase = "step";
      h.stepTo = h.m.t + AFTER_S;
      h.sent = s.frames;
      h.asked = now;
      this.cmd.step(h.stepTo - s.t);
      return;
    }
    this.release(true);
  }

  /** End the hold: with `play`, back to the student's speed and on with the run. */
  release(play) {
    if (!this.hold) return;
    this.hold = null;
    if (!play) return;
    this.eased = null;
    if (Math.abs(this.userSpeed - this.store.speed) > 1e-9) this.cmd.speed(this.userSpeed);
    this.cmd.resume();
  }

  /** Skip: stop narrating this moment now and play on (once the picture is there). */
  skip() {
    if (this.hold) this.release(true);
  }

  /** Replay the last moment: back a little before it, eased into and held again. */
  replay() {
    const m = this.hold?.m || this.last;
    if (!m) return false;
    this.hold = null;
    this.held.delete(momentId(m));
    this.eased = null;
    if (Math.abs(this.userSpeed - this.store.speed) > 1e-9) this.cmd.speed(this.userSpeed);
    this.cmd.seek(Math.max(0, holdTime(m) - 0.6 * Math.max(1, this.userSpeed)), false);
    return true;
  }

  /** The student took over playback (pause, scrub, restart): stop holding, keep their choice. */
  yieldControl() {
    this.hold = null;
    this.eased = null;
  }

  reset() {
    this.runId = this.store.runId;
    this.hold = null;
    this.last = null;
    this.held.clear();
    this.eased = null;
    this.userSpeed = this.store.speed;
  }
}
