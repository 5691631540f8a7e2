// Playback vocabulary shared by controls, keyboard and the live summary: speeds and how to say them.

/** The speeds offered (the protocol allows 0.05..20); a slider indexes this list. */
export const SPEEDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20];

/** "slow motion 10x" for 0.1, "real time" for 1, "fast forward 4x" for 4: plain words for students. */
export function speedLabel(speed) {
  if (Math.abs(speed - 1) < 1e-9) return "real time";
  if (speed < 1) return `slow motion ${trim(1 / speed)}x`;
  return `fast forward ${trim(speed)}x`;
}

function trim(x) {
  return Number.isInteger(Math.round(x * 100) / 100) ? String(Math.round(x)) : x.toFixed(1);
}

/** Index of the offered speed closest to `speed` (so any server value maps onto the slider). */
export function speedIndex(speed) {
  let best = 0;
  SPEEDS.forEach((s, i) => { if (Math.abs(Math.log(s / speed)) < Math.abs(Math.log(SPEEDS[best] / speed))) best = i; });
  return best;
}

/** The next offered speed up (dir = +1) or down (dir = -1), clamped to the ends. */
export function stepSpeed(speed, dir) {
  return SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, speedIndex(speed) + dir))];
}

/** Seconds with the precision a timeline needs. */
export function formatT(t, digits = 2) {
  return `${(t || 0).toFixed(digits)} s`;
}

/**
 * Virtual seconds one Step advances: a hundredth of the run, between 0.05 and 0.5 s, so that each
 * step visibly moves the picture (a 1/120 s step changed nothing a student could see).
 */
export function stepSize(store) {
  const length = store.length || 1;
  return Math.min(0.5, Math.max(0.05, Math.round(length) / 100));
}
