// Interventions while a run plays: kill an app server, expire or delete the cache key, slow the
// datastore. Each is an engine input (docs/events.md "Inputs") sent as `control {action: "input"}`;
// the server applies it at the instant the page shows and keeps it with the run. Mouse: click a box
// on the stage. Keyboard: one focusable target per box, laid over the stage, opens the same menu.

/** The datastore slowdown a click asks for: ×4 for 2 s. */
export const SLOW = { factor: 4, for_s: 2 };

/** The choices for a place on the stage: [{label, input}] (input without `t`: the server sets it). */
export function choicesFor(region, side) {
  if (region.kind === "server") {
    const name = `S${region.server + 1}`;
    return { title: `App server ${name}`, choices: [{ label: `✕ Kill ${name}`, input: { kind: "kill_server", server: region.server } }] };
  }
  if (region.kind === "cache") {
    const key = side.lastKey;
    const input = (kind) => (key ? { kind, key } : { kind });
    return { title: `Cache${key ? `: ${key}` : ""}`, choices: [
      { label: `Expire ${key ?? "the newest key"}`, input: input("expire_key") },
      { label: `Delete ${key ?? "the newest key"}`, input: input("delete_key") },
    ] };
  }
  return { title: "Datastore", choices: [{ label: `Slow it ×${SLOW.factor} for ${SLOW.for_s} s`, input: { kind: "slow_db", ...SLOW } }] };
}

export class Interventions {
  /**
   * @param {{targets: HTMLElement, poke: HTMLElement, stage: object, side: object, store: object,
   *          send: (input: object) => void, allowed: () => boolean}} opts
   *   `send` asks the server to apply an input now; `allowed` says whether this lab may intervene now
   */
  constructor({ targets, poke, stage, side, store, send, allowed }) {
    Object.assign(this, { targets, poke, stage, side, store, send, allowed });
    this.signature = "";
    this.returnTo = null;
    this.title = poke.querySelector('[data-role="poke-title"]');
    this.actions = poke.querySelector('[data-role="poke-actions"]');
    targets.addEventListener("click", (e) => {
      const btn = e.target.closest("button[data-kind]");
      if (!btn) return;
      const region = { kind: btn.dataset.kind, server: btn.dataset.server !== undefined ? Number(btn.dataset.server) : undefined };
      const box = btn.getBoundingClientRect();
      this.open(region, box.left + box.width / 2, box.top + box.height / 2, btn);
    });
    this.actions.addEventListener("click", (e) => {
      const btn = e.target.closest("button[data-choice]");
      if (!btn) return;
      const input = JSON.parse(btn.dataset.choice);
      this.close();
      this.send(input);
    });
    poke.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); this.close(); } });
  }

  /** A click on the stage that hit no dot: open the menu if it hit a box. True when it did. */
  click(x, y, clientX, clientY) {
    if (!this.allowed()) return false;
    const region = this.stage.regionAt(x, y);
    if (!region) return false;
    this.open(region, clientX, clientY, this.stage.canvas);
    return true;
  }

  open(region, clientX, clientY, returnTo) {
    if (!this.allowed()) return;
    const { title, choices } = choicesFor(region, this.side);
    this.title.textContent = title;
    this.actions.replaceChildren(...choices.map((c) => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.choice = JSON.stringify(c.input);
      b.textContent = c.label;
      return b;
    }));
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => this.close());
    this.actions.append(cancel);
    this.poke.hidden = false;
    const lab = this.poke.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0, width: innerWidth };
    const w = this.poke.offsetWidth;
    this.poke.style.left = `${Math.max(4, Math.min(lab.width - w - 4, clientX - lab.left - w / 2))}px`;
    this.poke.style.top = `${Math.max(4, clientY - lab.top + 12)}px`;
    this.returnTo = returnTo;
    this.actions.querySelector("button")?.focus();
  }

  close() {
    if (this.poke.hidden) return false;
    this.poke.hidden = true;
    this.returnTo?.focus?.();
    this.returnTo = null;
    return true;
  }

  /** Keep one focusable target over each box of the stage (only while interventions are possible). */
  update() {
    const L = this.stage.L;
    const on = this.allowed() && !!L;
    if (!on) this.close();
    const signature = on ? `${this.stage.w}x${this.stage.h}|${L.servers.length}` : "off";
    if (signature === this.signature) return;
    this.signature = signature;
    if (!on) { this.targets.replaceChildren(); return; }
    const place = (b, box, label) => {
      b.type = "button";
      b.className = "lab-target";
      b.setAttribute("aria-label", label);
      b.style.left = `${box.x0}px`; b.style.top = `${box.y0}px`;
      b.style.width = `${box.x1 - box.x0}px`; b.style.height = `${box.y1 - box.y0}px`;
      return b;
    };
    const out = L.servers.map((box, i) => {
      const b = place(document.createElement("button"), box, `App server S${i + 1}: intervene (kill it)`);
      b.dataset.kind = "server"; b.dataset.server = String(i);
      return b;
    });
    const cache = place(document.createElement("button"), L.cache, "Cache: intervene (expire or delete the key)");
    cache.dataset.kind = "cache";
    const db = place(document.createElement("button"), L.db, "Datastore: intervene (slow it down)");
    db.dataset.kind = "db";
    this.targets.replaceChildren(...out, cache, db);
  }
}
