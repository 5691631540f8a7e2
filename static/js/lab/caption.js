// The story's caption on the stage: a box under, beside or over the place it talks about (the promise ring, a
// server, the cache, the datastore, the viewers), with Skip and Replay. It reads the story and the
// stage; it decides nothing. Placed with CSSOM (el.style), which the CSP allows.

export class Caption {
  /**
   * @param {HTMLElement} box  the caption element (data-role="caption")
   * @param {import("./render/stage.js").Stage} stage  side A's stage (anchor points)
   */
  constructor(box, stage) {
    this.box = box;
    this.text = box.querySelector('[data-role="caption-text"]');
    this.stage = stage;
    this.shown = null;
  }

  /** Show `cap` ({text, anchor, server}) or hide with null; re-placed each call (the stage may resize). */
  update(cap) {
    this.stage.spotlight = cap ? { anchor: cap.anchor, server: cap.server } : null;
    if (!cap) {
      if (this.shown !== null) { this.box.hidden = true; this.text.textContent = ""; this.shown = null; }
      return;
    }
    if (this.shown !== cap.text) { this.text.textContent = cap.text; this.shown = cap.text; }
    this.box.hidden = false;
    const p = this.stage.anchorPoint(cap.anchor, cap.server);
    if (!p) return;
    const w = this.stage.w, h = this.stage.h;
    const bw = this.box.offsetWidth, bh = this.box.offsetHeight;
    // Under the place, else beside it, else over it: the first spot that fits the stage whole;
    // its pointer aims at the place. A stage too small for any (a phone) gets the closest fit.
    const cx = Math.max(4, Math.min(w - bw - 4, p.x - 24)), cy = Math.max(2, Math.min(h - bh - 2, p.y - bh / 2));
    const spots = [
      { x: cx, y: p.y + p.r + 10, side: "below" },
      { x: p.x + p.r + 12, y: cy, side: "right" },
      { x: p.x - p.r - 12 - bw, y: cy, side: "left" },
      { x: cx, y: p.y - p.r - 10 - bh, side: "above" },
    ];
    const fits = (s) => s.x >= 2 && s.x + bw <= w - 2 && s.y >= 0 && s.y + bh <= h;
    const spot = spots.find(fits) ?? { x: cx, y: Math.max(2, Math.min(h - bh - 2, p.y + p.r + 10)), side: "below" };
    this.box.style.left = `${Math.round(spot.x)}px`;
    this.box.style.top = `${Math.round(spot.y)}px`;
    const vertical = spot.side === "below" || spot.side === "above";
    this.box.style.setProperty("--point-x", `${Math.round(Math.max(10, Math.min(bw - 10, p.x - spot.x)))}px`);
    this.box.style.setProperty("--point-y", `${Math.round(Math.max(10, Math.min(bh - 10, p.y - spot.y)))}px`);
    this.box.dataset.side = vertical && p.y < spot.y ? "below" : vertical ? "above" : spot.side;
    this.box.dataset.anchor = cap.anchor;
  }
}
