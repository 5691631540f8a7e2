// The only module that talks to the server: protocol messages in (into the store), commands out.
// In follow mode (classroom) there is no socket: messages arrive through `receive` from outside.

/** The run's messages, server to browser (docs/protocol.md); classroom followers relay the same ones. */
export const INBOUND = ["started", "frame", "state", "done", "error"];
/** Messages sent kept for diagnostics and tests (window.herdlab.sent). */
const SENT_LIMIT = 64;

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
    this.handlers = [];
    this.sent = [];
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
      store.started(payload);
      this.hooks.onStarted?.(payload);
    } else if (name === "frame") {
      store.frame(payload);
    } else if (name === "state") {
      store.state(payload);
    } else if (name === "done") {
      if (payload.run_id !== store.runId) return;
      store.done(payload);
      this.hooks.onDone?.(payload.summary, payload.summary_b ?? null);
    } else if (name === "error") {
      if (payload.run_id && payload.run_id !== store.runId) return;
      // A refused pause or speed says so and changes nothing: arriving late, just after Run,
      // it must not be taken for the refusal of that start (the run would then be ignored).
      const startRefused = !payload.run_id && payload.answers !== "control";
      if (startRefused) this.awaitingStart = false;
      store.fail(payload, startRefused);
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
    this.emit("start", payload);
  }

  /** One playback command for the current run (pause, resume, speed, stop, restart). */
  control(action, value) {
    if (!this.socket || !this.store.runId) return;
    if (action === "restart") this.awaitingStart = true;
    const msg = { run_id: this.store.runId, action };
    if (value !== undefined) msg.value = value;
    this.emit("control", msg);
  }

  /**
   * An intervention: the engine input `input` ({kind, ...fields}, no `t`) acts at the instant the
   * page shows; the server answers with `state {action: "inputs"}`, or an `error` keyed `input…`.
   */
  input(input) {
    if (!this.socket || !this.store.runId) return;
    this.emit("control", { run_id: this.store.runId, action: "input", input });
  }

  /** Send, and keep the last few messages sent (window.herdlab.sent: what the page asked for). */
  emit(name, payload) {
    this.sent.push({ name, payload });
    if (this.sent.length > SENT_LIMIT) this.sent.shift();
    this.socket.emit(name, payload);
  }

  /** Advance a paused run by `seconds` of virtual time and stay paused. */
  step(seconds) {
    this.control("step", seconds);
  }

  /** Jump to virtual time `t`; with `pause`, stay there (scrubbing) instead of playing on. */
  seek(t, pause = false) {
    if (!this.socket || !this.store.runId) return;
    const msg = { run_id: this.store.runId, action: "seek", value: t };
    if (pause) msg.pause = true;
    this.emit("control", msg);
  }

  destroy() {
    if (this.socket) {
      if (this.store.runId && this.store.live) this.control("stop");
      for (const [name, handler] of this.handlers) this.socket.off(name, handler);
    }
    this.handlers = [];
  }
}
