// The only module that talks to the server: protocol messages in (into the store), commands out.
// In follow mode (classroom) there is no socket: messages arrive through `receive` from outside.

import { PaceMeter } from "./pacing.js";

/** A server that takes no step size advances 1/30 s x speed per `step` (its frame rate). */
const OLD_STEP_FRAMES = 30;
/** Most plain steps sent for one Step on such a server (its control queue holds 16). */
const OLD_STEP_MAX = 15;

/** The run's messages, server to browser (docs/protocol.md); classroom followers relay the same ones. */
export const INBOUND = ["started", "frame", "state", "done", "error"];

export class LabTransport {
  /**
   * @param {import("./store.js").Store} store  where every inbound message lands
   * @param {{socket?: any, onStarted?: Function, onDone?: Function, onError?: Function}} hooks
   *   `socket` is a Socket.IO socket on `/lab` (absent in follow mode).
   */
  constructor(store, { socket = null, onStarted, onDone, onError } = {}) {
    this.store = store;
    this.socket = socket;
    this.hooks = { onStarted, onDone, onError };
    this.awaitingStart = false;
    this.pace = new PaceMeter();
    this.handlers = [];
    if (socket) {
      for (const name of INBOUND) {
        const handler = (payload, ack) => {
          if (typeof ack === "function") ack();     // flow control: acknowledge every frame
          this.receive(name, payload, true);
        };
        socket.on(name, handler);
        this.handlers.push([name, handler]);
      }
    }
  }

  /**
   * Feed one protocol message. `own` is true for our socket: a `started` counts only when we asked
   * for it (the socket may be shared with another lab on the page); follow mode accepts every run.
   */
  receive(name, payload, own = false) {
    const store = this.store;
    if (!payload || typeof payload !== "object") return;
    if (name === "started") {
      if (own && !this.awaitingStart) return;
      this.awaitingStart = false;
      this.pace.reset();
      store.started(payload);
      this.hooks.onStarted?.(payload);
    } else if (name === "frame") {
      if (payload.speed_achieved === undefined && store.status === "playing" && payload.run_id === store.runId) {
        const achieved = this.pace.add(payload.t ?? store.t, performance.now());
        store.frame(achieved === null ? payload : { ...payload, speed_achieved: achieved });
      } else store.frame(payload);
    } else if (name === "state") {
      this.pace.reset();
      store.state(payload);
    } else if (name === "done") {
      if (payload.run_id !== store.runId) return;
      store.done(payload);
      this.hooks.onDone?.(payload.summary, payload.summary_b ?? null);
    } else if (name === "error") {
      if (payload.run_id && payload.run_id !== store.runId) return;
      this.awaitingStart = false;
      store.fail(payload);
      this.hooks.onError?.(payload);
    }
  }

  /** Ask the server for a run: `{scenario, preset?, compare?, speed}` (see docs/protocol.md). */
  start(payload) {
    if (!this.socket) return;
    if (this.store.runId && this.store.live) this.control("stop");
    this.awaitingStart = true;
    this.store.status = "starting";
    this.store.error = null;
    this.store.touch();
    this.socket.emit("start", payload);
  }

  /** One playback command for the current run (pause, resume, speed, stop, restart). */
  control(action, value) {
    if (!this.socket || !this.store.runId) return;
    if (action === "restart") this.awaitingStart = true;
    const msg = { run_id: this.store.runId, action };
    if (value !== undefined) msg.value = value;
    this.socket.emit("control", msg);
  }

  /**
   * Advance a paused run by `seconds` of virtual time and stay paused. A server that takes no step
   * size (it does not send `end_s`) advances 1/30 s x speed per step: send enough of them.
   */
  step(seconds) {
    if (!this.socket || !this.store.runId) return;
    if (this.store.endKnown) { this.socket.emit("control", { run_id: this.store.runId, action: "step", value: seconds }); return; }
    const each = this.store.speed / OLD_STEP_FRAMES;
    const n = Math.min(OLD_STEP_MAX, Math.max(1, Math.round(seconds / each)));
    for (let i = 0; i < n; i++) this.socket.emit("control", { run_id: this.store.runId, action: "step" });
  }

  /** Jump to virtual time `t`; with `pause`, stay there (scrubbing) instead of playing on. */
  seek(t, pause = false) {
    if (!this.socket || !this.store.runId) return;
    const msg = { run_id: this.store.runId, action: "seek", value: t };
    if (pause && this.store.endKnown) msg.pause = true;
    this.socket.emit("control", msg);
  }

  destroy() {
    if (this.socket) {
      if (this.store.runId && this.store.live) this.control("stop");
      for (const [name, handler] of this.handlers) this.socket.off(name, handler);
    }
    this.handlers = [];
  }
}
