// Text on the canvas that always fits where it is put: each label gets a box (the room it may
// use), shrinks down to a minimum size, then wraps onto a second line at a space, then is
// shortened with "…". Every label drawn in a frame is recorded with its box, so a test can prove
// that no text leaves its box or sits on another (issue 10: "000,000 viewers", "OVERLOADED" over
// its edge), and that presentation mode's text is large enough for the back row. Labels are laid
// out when asked for but painted last (`flush`), over the dots, with a light halo, so a crowd
// passing through the cache never hides what the cache holds.

const FAMILY = "system-ui, sans-serif";

export class Labels {
  /** @param {CanvasRenderingContext2D} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.drawn = [];            // this frame's labels: {text, lines, px, x0, x1, y0, y1, box}
    this.queue = [];            // and how to paint them
    this.minPx = 9;
  }

  /** A new frame: forget the last one's labels; `minPx` is the smallest type allowed now. */
  begin(minPx, height) {
    this.drawn = [];
    this.queue = [];
    this.minPx = minPx;
    this.height = height;
  }

  /** Paint every label of this frame, on top of everything else. */
  flush() {
    const { ctx } = this;
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.lineJoin = "round";
    for (const { font: f, color, runs } of this.queue) {
      ctx.font = f;
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,0.85)";
      for (const [line, x, y] of runs) ctx.strokeText(line, x, y);
      ctx.fillStyle = color;
      for (const [line, x, y] of runs) ctx.fillText(line, x, y);
    }
    this.queue = [];
  }

  /**
   * Draw `text` centred on (or aligned at) x, with its first baseline at y, inside `box`
   * ({x0, x1}: the room it may use). `px` is the wished size; the text shrinks to `minPx` at most,
   * then wraps at a space (when `wrap`), then is shortened. With `avoid`, a label that would sit on
   * one already drawn moves a line or two up or down, else is not drawn. With `upward`, a wrapped label
   * keeps its last line at y (labels at the canvas's foot). Returns the recorded label, or null
   * when nothing was drawn.
   */
  text(text, x, y, { px, weight = "", color = "#1b1b1f", align = "center", box, wrap = false, avoid = false, upward = false }) {
    if (!text) return null;
    const { ctx } = this;
    const width = Math.max(1, box.x1 - box.x0);
    let size = Math.max(this.minPx, px);
    ctx.font = font(size, weight);
    while (size > this.minPx && ctx.measureText(text).width > width) ctx.font = font(--size, weight);
    let lines = [text];
    if (ctx.measureText(text).width > width && wrap && text.includes(" ")) lines = splitInTwo(ctx, text);
    lines = lines.map((line) => shorten(ctx, line, width));
    const lineH = Math.round(size * 1.15);
    if (upward) y -= (lines.length - 1) * lineH;       // wrapped at the bottom edge: grow upwards
    const widths = lines.map((l) => ctx.measureText(l).width);
    const widest = Math.max(...widths);
    let left = align === "center" ? x - widest / 2 : align === "right" ? x - widest : x;
    left = Math.max(box.x0, Math.min(box.x1 - widest, left));     // slide inside the box
    const rect = (top) => ({ x0: left, x1: left + widest, y0: top - size * 0.8, y1: top + (lines.length - 1) * lineH + size * 0.25 });
    let r = rect(y);
    if (avoid) {
      // Where it was asked for, else a line or two up or down, always on the canvas; else nowhere.
      const free = (c) => c.y0 >= 0 && c.y1 <= this.height && !this.drawn.some((o) => overlaps(o, c));
      const shift = [0, -1, 1, -2, 2].find((k) => free(rect(y + k * lineH)));
      if (shift === undefined) return null;
      y += shift * lineH;
      r = rect(y);
    }
    this.queue.push({ font: ctx.font, color, runs: lines.map((line, i) => [
      line, align === "center" ? left + (widest - widths[i]) / 2 : align === "right" ? left + widest - widths[i] : left, y + i * lineH]) });
    const label = { text, lines, px: size, ...r, box };
    this.drawn.push(label);
    return label;
  }
}

function overlaps(a, b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

export function font(px, weight = "") {
  return `${weight} ${px}px ${FAMILY}`.trim();
}

/** Two lines of about equal width, split at the space nearest the middle. */
function splitInTwo(ctx, text) {
  const spaces = [...text.matchAll(/ /g)].map((m) => m.index);
  const mid = text.length / 2;
  const at = spaces.reduce((best, i) => (Math.abs(i - mid) < Math.abs(best - mid) ? i : best), spaces[0]);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** The line, shortened with "…" until it fits `width` (a single "…" at worst). */
function shorten(ctx, line, width) {
  if (ctx.measureText(line).width <= width) return line;
  let s = line;
  while (s.length > 1 && ctx.measureText(`${s}…`).width > width) s = s.slice(0, -1);
  return `${s.trimEnd()}…`;
}
