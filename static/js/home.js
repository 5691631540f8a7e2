// Home page: a small live herd above the fold. One engine run, recorded (static/data/home-herd.json,
// made and checked by tests/browser/home_herd.py), is played in a readonly lab: above, no mitigation
// piles every request on the datastore until it crashes; below, promise coalescing sends one query
// that answers everyone. Played here, not run per visitor, so a busy front page costs the server
// nothing. Reduced motion: the last instant at once, no loop. Off screen or hidden tab: paused.
import { connect } from "./connection.js";
import { mountLab } from "./lab/mount.js";
import { fmt } from "./lab/format.js";

connect("/");

const SPEED = 0.3;          // virtual seconds per wall second: the 2.2 s recorded take about 7 s
const REST_MS = 3000;       // the last instant stays this long before the herd comes again

const figure = document.querySelector(".home-herd");
if (figure) start(figure);

async function start(figure) {
  // (It loops for ever: a screen reader hears the caption below it, not a running commentary.)
  const lab = mountLab(document.getElementById("home-lab"), { readonly: true, compare: true, keyboard: false, preset: "classroom",
                                                              announce: false });
  let rec;
  try {
    const res = await fetch(figure.dataset.src);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    rec = await res.json();
  } catch {
    figure.hidden = true;      // no recording, no picture: the text beside it still says it all
    return;
  }
  say(figure.querySelector('[data-role="home-say"]'), rec.started);
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  // Off screen or in a hidden tab the herd stops where it is and asks for no frames at all (it
  // redrew the same instant 60 times a second): it goes on from there when it is seen again.
  // (The lab is told it is paused there, as a server would tell it: its picture then stands still too.)
  let visible = true, round = 0, asleep = null;     // asleep: what goes on from where it stopped
  const resume = () => {
    if (!asleep || !visible || document.hidden) return;
    const wake = asleep;
    asleep = null;
    wake();
  };
  new IntersectionObserver(([entry]) => { visible = entry.isIntersecting; resume(); }).observe(figure);
  document.addEventListener("visibilitychange", resume);

  const play = () => {
    round++;
    lab.applyRemote("started", { ...rec.started, run_id: `home-${round}` });
    const runId = `home-${round}`;
    if (reduced.matches) {       // no motion: the end of the story, once
      lab.applyRemote("frame", { run_id: runId, t: rec.until_s, events: rec.events, events_b: rec.events_b });
      return;
    }
    let t = 0, ia = 0, ib = 0, last = null;
    const step = (now) => {
      if (!visible || document.hidden) {
        last = null;
        lab.applyRemote("state", { run_id: runId, status: "paused", t });
        asleep = () => {
          lab.applyRemote("state", { run_id: runId, status: "playing" });
          requestAnimationFrame(step);
        };
        return;
      }
      if (last !== null) t = Math.min(rec.until_s, t + ((now - last) / 1000) * SPEED);
      last = now;
      const a = [], b = [];
      while (ia < rec.events.length && rec.events[ia][0] <= t) a.push(rec.events[ia++]);
      while (ib < rec.events_b.length && rec.events_b[ib][0] <= t) b.push(rec.events_b[ib++]);
      lab.applyRemote("frame", { run_id: runId, t, events: a, events_b: b });
      if (t < rec.until_s) requestAnimationFrame(step);
      else setTimeout(play, REST_MS);
    };
    requestAnimationFrame(step);
  };
  play();
}

/** The caption's numbers, from the recorded run's own moments (never written by hand). */
function say(el, started) {
  const down = started.moments?.find((m) => m.what === "db_down");
  const resolved = started.moments_b?.find((m) => m.what === "resolved");
  if (!el || !down || !resolved) return;
  el.textContent = `The same ${fmt(started.viewers)} viewers twice. Above, no mitigation: every miss queries the datastore, `
    + `which crashes at t = ${down.t.toFixed(2)} s failing ${fmt(down.number)} queries. Below, promise coalescing: `
    + `one query answers ${fmt(resolved.number + 1)} viewers.`;
}
