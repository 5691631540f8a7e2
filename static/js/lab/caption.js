// The story's caption on the stage: a box under (or over) the place it talks about (the promise ring, a
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
    // Under the place, its pointer aimed at it; above it when there is no room below; never off the stage.
    const x = Math.max(4, Math.min(w - bw - 4, p.x - 24));
    let y = p.y + p.r + 10, below = true;
    if (y + bh > h - 2) { y = p.y - p.r - 10 - bh; below = false; }
    y = Math.max(2, Math.min(h - bh - 2, y));
    this.box.style.left = `${Math.round(x)}px`;
    this.box.style.top = `${Math.round(y)}px`;
    this.box.style.setProperty("--point-x", `${Math.round(Math.max(10, Math.min(bw - 10, p.x - x)))}px`);
    this.box.classList.toggle("lab-caption-above", !below);
    this.box.dataset.anchor = cap.anchor;
  }
}
