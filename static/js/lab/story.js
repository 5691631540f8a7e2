// Guided playback ("Story"): as a moment worth seeing approaches, playback eases into slow motion;
// on it, the run is held (paused at that exact instant) with a caption anchored to its place on the
// stage for a few seconds of wall time, then it plays on at the student's own speed. Everything goes
// through the lab's ordinary commands (speed, seek with pause, step, resume), so what is drawn is
// always the run's own state at that instant. Wall-clock timing lives here, never in the store.

import { momentCaption, momentId } from "./moments.js";

/** A held moment stays on screen this long (ms of wall time) at least. */
export const HOLD_MS = 2600;
/** A two-part caption shows its "before" this long, then steps over the moment to show "after". */
const BEFORE_MS = 1400;
/** Virtual seconds shown after stepping over a two-part moment (the waiters leaving together). */
const AFTER_S = 0.06;
/** Held just before the moment (virtual s), so what is about to change is still on the stage. */
const PRE_S = 0.0005;
/** Approach: within this many virtual seconds (at 1x) of a moment, never faster than that speed. */
const EASE = [[0.04, 0.1], [0.15, 0.25], [0.45, 0.5]];
/** A moment found only after it passed (no list ahead) is replayed if it is at most this far back. */
const CATCH_BACK_S = 3;
/** Which moment wins when several share an instant (the first is narrated). */
const PRIORITY = ["resolved", "takeover", "server_down", "db_down", "db_overloaded", "retry_wave",
                  "slow_start", "herd_peak", "db_recovered", "slow_end", "first_miss"];
/** What the story holds on when nothing narrower is asked (a lesson step names its own). */
const DEFAULT_WHATS = new Set(PRIORITY.filter((w) => w !== "first_miss" && w !== "slow_end"));

/** Where the story pauses for a moment: just before the ones whose point is what they release. */
export function holdTime(m) {
  return m.what === "resolved" || m.what === "herd_peak" ? Math.max(0, m.t - PRE_S) : m.t;
}

export class Story {
  /**
   * @param {object} store  the lab's store (read only, except requestSpeed for honest speed labels)
   * @param {{speed: Function, seek: Function, step: Function, resume: Function}} commands
   *   the lab's playback commands: speed(x), seek(t, pause), step(seconds), resume()
   */
  constructor(store, commands) {
    this.store = store;
    this.cmd = commands;
    this.on = false;
    this.focus = null;            // a Set of `what`s a lesson step is about, or null for the default
    this.hold = null;             // {m, cap, since, phase: "before"|"after"}
    this.last = null;             // the last moment held (Replay)
    this.heldWhats = new Set();   // each `what` is narrated once per run (its first occurrence)
    this.heldIds = new Set();
    this.eased = null;            // the speed the story asked for while approaching, or null
    this.userSpeed = store.speed;
    this.runId = null;
  }

  /** Switch the story on or off; `focus`: the moments a lesson step names (else the default set). */
  set(on, focus = null) {
    this.on = !!on;
    this.focus = focus && focus.length ? new Set(focus) : null;
    if (!this.on) this.release(false);
  }

  /** The caption on screen: the text, the moment and where it points, or null. */
  get caption() {
    if (!this.hold) return null;
    const { cap, phase, m } = this.hold;
    // "After" only once the picture has moved past the moment (the step has landed).
    const after = phase === "after" && cap.after && this.store.t >= m.t;
    return { text: after ? cap.after : cap.before, anchor: cap.anchor, server: cap.server, moment: m };
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
    const d = next.t - store.t;
    if (d < 0) { this.begin(next, now); return; }          // found only after it passed: go back to it
    const lead = Math.max(1, this.userSpeed);
    const frameS = (store.speed || 1) / 30;                 // about one frame of virtual time
    if (d <= Math.max(0.004, 1.5 * frameS)) { this.begin(next, now); return; }
    const tier = EASE.find(([within]) => d <= within * lead);
    this.ease(tier ? Math.min(this.userSpeed, tier[1]) : null);
  }

  /** The next moment to narrate: the first not yet held, whose instant is ahead or just behind. */
  next() {
    const { store } = this;
    const whats = this.focus || DEFAULT_WHATS;
    let best = null;
    for (const m of store.a.moments.items) {
      if (!whats.has(m.what) || this.heldWhats.has(m.what) || this.heldIds.has(momentId(m))) continue;
      if (m.t < store.t - CATCH_BACK_S || !momentCaption(m)) continue;
      if (!best || m.t < best.t - 1e-9) best = m;
      else if (Math.abs(m.t - best.t) <= 1e-9 && PRIORITY.indexOf(m.what) < PRIORITY.indexOf(best.what)) best = m;
      else if (m.t > best.t + 1e-9) break;
    }
    return best;
  }

  ease(speed) {
    if (speed === this.eased) return;
    const target = speed ?? this.userSpeed;
    this.eased = speed;
    if (Math.abs(target - this.store.speed) > 1e-9) this.cmd.speed(target);
  }

  begin(m, now) {
    const cap = momentCaption(m);
    this.hold = { m, cap, since: now, phase: "before" };
    this.last = m;
    this.heldWhats.add(m.what);
    this.heldIds.add(momentId(m));
    // Other moments at the same instant are told by this caption's picture: do not hold twice.
    for (const o of this.store.a.moments.items) {
      if (Math.abs(o.t - m.t) <= 1e-9) { this.heldIds.add(momentId(o)); this.heldWhats.add(o.what); }
    }
    this.cmd.seek(holdTime(m), true);
  }

  holding(now) {
    const h = this.hold;
    const { store } = this;
    if (h.phase === "before" && h.cap.after && now - h.since >= BEFORE_MS && store.status === "paused") {
      h.phase = "after";
      this.cmd.step(h.m.t - holdTime(h.m) + AFTER_S);
    }
    if (now - h.since >= (h.cap.after ? BEFORE_MS + HOLD_MS - 1000 : HOLD_MS)) this.release(true);
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

  /** Skip: stop narrating this moment now and play on. */
  skip() {
    if (this.hold) this.release(true);
  }

  /** Replay the last moment: back a little before it, eased into and held again. */
  replay() {
    const m = this.hold?.m || this.last;
    if (!m) return false;
    this.hold = null;
    this.heldWhats.delete(m.what);
    this.heldIds.delete(momentId(m));
    this.eased = null;
    if (Math.abs(this.userSpeed - this.store.speed) > 1e-9) this.cmd.speed(this.userSpeed);
    this.cmd.seek(Math.max(0, m.t - 0.6 * Math.max(1, this.userSpeed)), false);
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
    this.heldWhats.clear();
    this.heldIds.clear();
    this.eased = null;
    this.userSpeed = this.store.speed;
  }
}
