// The story's caption on the stage: a box under, beside or over the place it talks about (the promise ring, a
// server, the cache, the datastore, the viewers), on the stage of the side it narrates, with Skip and
// Replay. It reads the story and the stage; it decides nothing. Placed with CSSOM (el.style), which the
// CSP allows.

export class Caption {
  /**
   * @param {HTMLElement} box  the caption element (data-role="caption")
   * @param {import("./render/stage.js").Stage[]} stages  side A's and side B's stages (anchor points)
   */
  constructor(box, stages) {
    this.box = box;
    this.text = box.querySelector('[data-role="caption-text"]');
    this.stages = stages;
    this.stage = stages[0];
    this.shown = null;
  }

  /**
   * Show `cap` ({text, anchor, server, side, moment}) or hide with null; re-placed each call (the
   * stage may resize). The stage it points at draws a ring there (its spotlight), with the moment.
   */
  update(cap) {
    const stage = this.stages[cap?.side === "b" ? 1 : 0];
    for (const s of this.stages) s.spotlight = cap && s === stage ? { anchor: cap.anchor, server: cap.server, moment: cap.moment } : null;
    if (stage !== this.stage) {
      this.stage = stage;
      stage.canvas.parentElement.append(this.box);        // into that stage's box
    }
    if (!cap) {
      if (this.shown !== null) { this.box.hidden = true; this.text.textContent = ""; this.shown = null; }
      return;
    }
    if (this.shown !== cap.text) { this.text.textContent = cap.text; this.shown = cap.text; }
    this.box.hidden = false;
    const p = stage.anchorPoint(cap.anchor, cap.server);
    if (!p) return;
    const w = stage.w, h = stage.h;
    const bw = this.box.offsetWidth, bh = this.box.offsetHeight;
    const spot = bestSpot(p, bw, bh, w, h, stage.labels.drawn);
    this.box.style.left = `${Math.round(spot.x)}px`;
    this.box.style.top = `${Math.round(spot.y)}px`;
    const vertical = spot.side === "below" || spot.side === "above";
    this.box.style.setProperty("--point-x", `${Math.round(Math.max(10, Math.min(bw - 10, p.x - spot.x)))}px`);
    this.box.style.setProperty("--point-y", `${Math.round(Math.max(10, Math.min(bh - 10, p.y - spot.y)))}px`);
    this.box.dataset.side = vertical && p.y < spot.y ? "below" : vertical ? "above" : spot.side;
    this.box.dataset.anchor = cap.anchor;
  }
}

/** Words on the stage a caption must not hide: numbers and the datastore's state. */
const TELLS = /\d|UP|DOWN|OVERLOADED/;

/**
 * Where the caption goes: under the place it talks about, else beside it, else over it, else in a
 * corner of the stage, whichever hides least of the stage's words (a number or a state hidden
 * counts most, the place itself next); the first of equals wins. Every spot lies inside the stage.
 */
function bestSpot(p, bw, bh, w, h, labels) {
  const clampX = (x) => Math.max(2, Math.min(w - bw - 2, x)), clampY = (y) => Math.max(0, Math.min(h - bh, y));
  const cx = p.x - 24, cy = p.y - bh / 2;
  const wanted = [
    { x: cx, y: p.y + p.r + (p.below ?? 0) + 10, side: "below" },
    { x: p.x + p.r + 12, y: cy, side: "right" },
    { x: p.x - p.r - 12 - bw, y: cy, side: "left" },
    { x: cx, y: p.y - p.r - 10 - bh, side: "above" },
    { x: 2, y: 0, side: p.x > w / 2 ? "left" : "right" },
    { x: 2, y: h - bh, side: p.x > w / 2 ? "left" : "right" },
    { x: w - bw - 2, y: 0, side: p.x > w / 2 ? "left" : "right" },
    { x: w - bw - 2, y: h - bh, side: p.x > w / 2 ? "left" : "right" },
  ];
  const place = { x0: p.x - p.r, x1: p.x + p.r, y0: p.y - p.r, y1: p.y + p.r + (p.below ?? 0) };
  let best = null;
  for (const [i, s] of wanted.entries()) {
    const r = { x0: clampX(s.x), y0: clampY(s.y) };
    r.x1 = r.x0 + bw; r.y1 = r.y0 + bh;
    let cost = (r.x0 !== s.x || r.y0 !== s.y ? 40 : 0) + i;          // moved to fit: a little worse
    for (const l of labels) cost += overlap(r, l) * (TELLS.test(l.text) ? 6 : 1);
    cost += overlap(r, place) * 0.5;
    if (!best || cost < best.cost) best = { x: r.x0, y: r.y0, side: s.side, cost };
  }
  return best;
}

function overlap(a, b) {
  return Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
}
