// The playback bar: play/pause, step, restart, speed and the timeline scrubber.
// It reflects the store (status, t, the run's length, the speed really achieved) and turns clicks
// into lab commands. The timeline's length is the run's end, known when it starts (or its
// arrivals' duration with an "unknown drain" hatch on an older server), so it never jumps.

import { SPEEDS, formatT, speedIndex, speedLabel, stepSize } from "./playback.js";

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
    this.pace = q("pace");
    this.scrub = q("scrub");
    this.scrubBox = this.scrub.closest(".lab-scrub");
    this.tOut = q("t");
    this.speed.max = String(SPEEDS.length - 1);
    this.scrubbing = false;
    this.play.addEventListener("click", () => act("toggle"));
    this.step.addEventListener("click", () => act("step"));
    this.restart.addEventListener("click", () => act("restart"));
    this.speed.addEventListener("input", () => act("speed", SPEEDS[+this.speed.value]));
    this.scrub.addEventListener("input", () => { this.scrubbing = true; this.tOut.textContent = `t = ${formatT(+this.scrub.value)}`; });
    // Scrubbing freezes the run at the chosen instant; Resume plays on from there.
    this.scrub.addEventListener("change", () => { this.scrubbing = false; act("scrub", +this.scrub.value); });
  }

  update() {
    const { store } = this;
    const playing = store.status === "playing";
    this.play.textContent = playing ? "❚❚ Pause" : store.status === "paused" ? "▶ Resume" : "▶ Run";
    this.play.setAttribute("aria-label", playing ? "Pause" : store.status === "paused" ? "Resume" : "Run the experiment");
    this.step.disabled = store.status !== "paused";
    const step = stepSize(store);
    this.step.textContent = `Step ${formatT(step, 2)} ▸`;
    this.step.setAttribute("aria-label", `Step ${formatT(step, 2)} of virtual time`);
    this.restart.disabled = !store.runId;
    this.speed.value = String(speedIndex(store.speed));
    this.speedOut.textContent = speedLabel(store.speed);
    this.speed.setAttribute("aria-valuetext", speedLabel(store.speed));
    // Honest pacing: when the server cannot keep the chosen speed, say how fast it really goes.
    this.pace.hidden = !store.heavy;
    if (store.heavy) this.pace.textContent = `playing at ${formatSpeed(store.achieved)} — this run is heavy`;

    const length = store.length;
    const unknownEnd = store.runId && store.endS === null;
    this.scrubBox.classList.toggle("drain-unknown", !!unknownEnd);
    this.scrub.max = String(length || 1);
    this.scrub.disabled = !store.runId || !(store.live || store.status === "finished" || store.status === "stopped");
    if (!this.scrubbing) {
      this.scrub.value = String(Math.min(store.t, length || 1));
      this.tOut.textContent = `t = ${formatT(store.t)}${length ? ` of ${formatT(length)}${unknownEnd ? " + drain" : ""}` : ""}`;
    }
    this.scrub.setAttribute("aria-valuetext", formatT(store.t));
  }
}

/** 0.3 → "0.3x", 0.04 → "0.04x". */
function formatSpeed(x) {
  return `${x >= 0.1 ? x.toFixed(1) : x.toFixed(2)}x`;
}
