// How fast playback really goes: virtual seconds per wall second over about the last second.
// The server says so in every frame (`speed_achieved`, docs/protocol.md); for a server that does
// not, the transport measures it from the frames' `t` as they arrive, with this meter.

const WINDOW_MS = 1000;

export class PaceMeter {
  constructor() { this.points = []; }

  /** Forget the past (a pause, a seek, a speed change or a new run breaks the measure). */
  reset() { this.points = []; }

  /** A frame at virtual time `t` arrived at wall time `now` (ms); the speed so far, or null. */
  add(t, now) {
    const pts = this.points;
    pts.push([now, t]);
    while (pts.length > 2 && now - pts[1][0] >= WINDOW_MS) pts.shift();
    const [w0, t0] = pts[0];
    return now - w0 >= WINDOW_MS * 0.8 ? Math.max(0, (t - t0) / ((now - w0) / 1000)) : null;
  }
}
