// Live strip charts (uPlot) over the run's samples: one x axis, the run's virtual time.
// Fed from the store's bounded series; redrawn by the lab's single animation loop, a few times a second,
// and rebuilt at their container's new width when it changes (a window resized, a phone turned,
// presentation mode), paused or not: at most once per animation frame.
// A stretch when the datastore was slowed (`db_slow`) is shaded on every chart, as far as the run has got,
// its factor written over the lines.

import uPlot from "uplot";
import { compact } from "../format.js";

/**
 * Each chart: title and its lines (series field of side.js, label, colour). Latency lines are per
 * sampling interval and often empty (no request ended in it): they span the gaps, and show their
 * points while there are few, so a sparse line is never a few unreadable specks.
 */
const CHARTS = [
  // Requests in flight (arrived, not yet answered or failed) beside the datastore's queue: Little's
  // law reads the one off the other (lesson 10), and a collapse shows as the two climbing together.
  { title: "In flight and at the datastore",
    // In flight is shaded under its line: in a collapse it runs just above the queued line.
    lines: [["inflight", "requests in flight", "#0072B2", "rgba(0, 114, 178, 0.12)"], ["queued", "queued", "#D55E00"],
            ["in_service", "in service", "#CC79A7"]] },
  // A herd's signature in production metrics (lesson 14): misses and retries jump with the answers.
  { title: "Per second", lines: [["rps", "answered", "#0072B2"], ["miss_rate", "cache misses", "#E69F00"],
                                  ["retry_rate", "retries", "#000000"]] },
  { title: "p99 latency (ms)", gaps: true,
    lines: [["p99_everyone", "everyone", "#D55E00"], ["p99_answered", "answered", "#009E73"]] },
  { title: "Failed (total)", lines: [["errors", "errors", "#000000"], ["timeouts", "timed out", "#E69F00"]] },
];
const FEW_POINTS = 40;
const SLOW_FILL = "rgba(230, 159, 0, 0.16)", SLOW_INK = "#8a5a00";

export class Charts {
  /** @param {HTMLElement} container  gets one figure per chart */
  constructor(container, store) {
    this.container = container;
    this.store = store;
    this.plots = [];
    this.shape = "";
    this.built = null;              // [compare, big] of the plots on screen
    this.pending = 0;               // the animation frame a resize asked for
    this.observer = new ResizeObserver(() => this.resized());
    this.observer.observe(container);
  }

  /**
   * The container changed size. The lab rebuilds its plots only when the run's data changes, so a
   * paused run's would keep their old width (wrapped, or overflowing): rebuild them here, once in
   * the next animation frame however many resizes come before it.
   */
  resized() {
    if (this.pending || !this.built) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.build(...this.built);
      this.update();
    });
  }

  /** (Re)build the plots when the run's shape (compare or not) or the type size changes. */
  build(compare, big) {
    // A page may ask for shorter plots with --lab-chart-height (the classroom's presenter, in compare mode).
    const asked = parseFloat(getComputedStyle(this.container).getPropertyValue("--lab-chart-height"));
    const height = asked > 0 ? asked : big ? 125 : 130;
    const shape = `${compare}/${big}/${this.container.clientWidth}/${height}`;
    this.built = [compare, big];
    if (shape === this.shape) return;
    this.shape = shape;
    for (const p of this.plots) p.destroy();
    this.container.replaceChildren();
    // Four abreast on a laptop, two on a tablet, one above the other on a phone.
    const full = this.container.clientWidth;
    const columns = full < 560 ? 1 : full < 900 ? 2 : CHARTS.length;
    const width = Math.max(160, Math.floor(full / columns) - 12);
    const font = `${big ? 15 : 11}px system-ui, sans-serif`;
    const stroke = big ? 3 : 1.6;
    this.plots = CHARTS.map((spec) => {
      const fig = document.createElement("figure");
      fig.className = "lab-chart";
      fig.style.flexBasis = `${width}px`;           // the row wraps where the plots would not fit
      const cap = document.createElement("figcaption");
      cap.textContent = spec.title;
      fig.append(cap);
      this.container.append(fig);
      const series = [{ label: "t (s)", value: (u, v) => (v == null ? "–" : `${v.toFixed(2)} s`) }];
      for (const side of compare ? ["A", "B"] : ["A"]) {
        for (const [, label, color, fill] of spec.lines) {
          series.push({ label: compare ? `${label} ${side}` : label, stroke: color, width: stroke, fill,
                        dash: side === "B" ? [6, 4] : undefined, spanGaps: !!spec.gaps,
                        points: { show: spec.gaps ? sparse : false, size: big ? 7 : 5 } });
        }
      }
      const opts = {
        width, height, series, legend: { show: true, live: false },
        hooks: { drawClear: [(u) => this.shadeSlow(u)], draw: [(u) => this.labelSlow(u, big)] },
        // (left: room for the first time tick, "0 s", centred on the edge when a chart has no y values yet)
        cursor: { show: false }, padding: [6, 8, 0, big ? 14 : 10],
        // Every chart spans the whole run, its drain included, so they line up with the timeline.
        scales: { x: { time: false, range: (u, lo, hi) => [0, Math.max(this.store.length || 1, hi || 0)] } },
        axes: [
          { font, size: big ? 36 : 28, values: timeTicks, grid: { stroke: "#eee" } },
          { font, size: big ? 56 : 44, grid: { stroke: "#eee" }, values: (u, vals) => vals.map(compact) },
        ],
      };
      const plot = new uPlot(opts, this.emptyData(series.length), fig);
      plot.spec = spec;
      return plot;
    });
  }

  /** The stretches the datastore was slowed, up to now, as [x0, x1, factor] in canvas pixels. */
  slowStretches(u) {
    const { bbox } = u;
    const now = this.store.t;
    const windows = this.store.compare ? [...this.store.a.slowWindows, ...this.store.b.slowWindows] : this.store.a.slowWindows;
    const out = [];
    for (const w of windows) {
      if (w.from > now) continue;
      const x0 = Math.max(bbox.left, u.valToPos(w.from, "x", true));
      const x1 = Math.min(bbox.left + bbox.width, u.valToPos(Math.min(w.until, now), "x", true));
      if (x1 > x0) out.push([x0, x1, w.factor]);
    }
    return out;
  }

  /** Shade each slowed stretch, under the lines. */
  shadeSlow(u) {
    u.ctx.fillStyle = SLOW_FILL;
    for (const [x0, x1] of this.slowStretches(u)) u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
  }

  /** Write each slowed stretch's factor at its top, over the lines (on a white halo, so they never cross it). */
  labelSlow(u, big) {
    const { ctx, bbox } = u;
    ctx.font = `700 ${Math.round((big ? 13 : 10) * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    ctx.lineWidth = 3 * devicePixelRatio;
    ctx.lineJoin = "round";
    for (const [x0, , factor] of this.slowStretches(u)) {
      const text = `slow ×${+factor.toFixed(1)}`, x = x0 + 3 * devicePixelRatio, y = bbox.top + (big ? 14 : 11) * devicePixelRatio;
      ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
      ctx.strokeText(text, x, y);
      ctx.fillStyle = SLOW_INK;
      ctx.fillText(text, x, y);
    }
  }

  emptyData(n) {
    return Array.from({ length: n }, () => []);
  }

  /** Push the store's current series into every plot (x = virtual time; B shares A's clock). */
  update() {
    const { a, b, compare } = this.store;
    const xs = a.series.t;
    for (const plot of this.plots) {
      const data = [xs];
      for (const side of compare ? [a, b] : [a]) {
        for (const [field] of plot.spec.lines) {
          const ys = side.series[field];
          data.push(ys.length === xs.length ? ys : xs.map((_, i) => ys[i] ?? null));
        }
      }
      plot.setData(data);
    }
  }

  destroy() {
    this.observer.disconnect();
    cancelAnimationFrame(this.pending);
    for (const p of this.plots) p.destroy();
    this.plots = [];
  }
}

/**
 * The time axis' tick labels ("0 s", "0.25 s", "0.5 s"): as many decimals as the ticks' spacing
 * needs, so no tick reads as another (0.25 once showed as "0.3s" beside a "0.8s").
 */
export function timeTicks(u, vals, axis, space, incr) {
  const step = incr || (vals.length > 1 ? Math.abs(vals[1] - vals[0]) : 1);
  const digits = decimals(step);
  return vals.map((v) => (v == null ? "" : `${+v.toFixed(digits)} s`));
}

/** Decimals that show every multiple of `step` exactly (0.25 needs 2, 0.5 one, 2 none). */
function decimals(step) {
  for (let d = 0; d < 4; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 4;
}

/** uPlot's points.show: draw a series' points while it has few values (else the line says it). */
function sparse(u, si) {
  let n = 0;
  for (const v of u.data[si]) if (v !== null && v !== undefined && ++n > FEW_POINTS) return false;
  return true;
}
