// The playback bar: play/pause, step, restart, speed and the timeline scrubber.
// It reflects the store (status, t, speed) and turns clicks into lab commands.

import { SPEEDS, formatT, speedIndex, speedLabel } from "./playback.js";

export class Timeline {
  /**
   * @param {HTMLElement} root  the bar's markup (data-role attributes from templates/lab/_lab.html)
   * @param {{store: object, act: Function}} opts  `act(command, value)` is the lab's command entry
   */
  constructor(root, { store, act }) {
    this.store = store;
    const q = (role) => root.querySelector(`[data-role="${role}"]`);
    this.play = q("play");
    this.step = q("step");
    this.restart = q("restart");
    this.speed = q("speed");
    this.speedOut = q("speed-label");
    this.scrub = q("scrub");
    this.tOut = q("t");
    this.speed.max = String(SPEEDS.length - 1);
    this.scrubbing = false;
    this.play.addEventListener("click", () => act("toggle"));
    this.step.addEventListener("click", () => act("step"));
    this.restart.addEventListener("click", () => act("restart"));
    this.speed.addEventListener("input", () => act("speed", SPEEDS[+this.speed.value]));
    this.scrub.addEventListener("input", () => { this.scrubbing = true; this.tOut.textContent = formatT(+this.scrub.value); });
    this.scrub.addEventListener("change", () => { this.scrubbing = false; act("seek", +this.scrub.value); });
  }

  update() {
    const { store } = this;
    const live = store.live;
    const playing = store.status === "playing";
    this.play.textContent = playing ? "❚❚ Pause" : store.status === "paused" ? "▶ Resume" : "▶ Run";
    this.play.setAttribute("aria-label", playing ? "Pause" : store.status === "paused" ? "Resume" : "Run the experiment");
    this.step.disabled = store.status !== "paused";
    this.restart.disabled = !store.runId;
    this.speed.value = String(speedIndex(store.speed));
    this.speedOut.textContent = speedLabel(store.speed);
    this.speed.setAttribute("aria-valuetext", speedLabel(store.speed));
    const end = Math.max(store.duration, store.t);
    this.scrub.max = String(end || 1);
    this.scrub.disabled = !store.runId || !(live || store.status === "finished");
    if (!this.scrubbing) {
      this.scrub.value = String(store.t);
      this.tOut.textContent = `t = ${formatT(store.t)}${end ? ` of ${formatT(end)}` : ""}`;
    }
    this.scrub.setAttribute("aria-valuetext", formatT(store.t));
  }
}
