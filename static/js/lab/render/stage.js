// The stage: viewers → app servers → cache → datastore, drawn on one canvas per side.
// Dot states come only from the store (events); this file only decides where things sit and how
// they move there. Drawing is batched by shape (one path per state) so 5,000 dots stay smooth.

import { fmt } from "../format.js";
import { STATE } from "../store.js";

/** Okabe–Ito colours and a distinct shape per state (ui.md), so nothing relies on colour alone. */
export const LOOK = {
  travel: { color: "#999999", shape: "circle", label: "on its way" },
  hit: { color: "#009E73", shape: "diamond", label: "cache hit" },
  miss: { color: "#E69F00", shape: "triangle", label: "cache miss → datastore" },
  wait: { color: "#56B4E9", shape: "ring", label: "waiting on a promise" },
  marker: { color: "#56B4E9", shape: "ring", label: "waiting on another server's fetch" },
  poll: { color: "#F0E442", shape: "square", label: "polling a lock" },
  queued: { color: "#D55E00", shape: "square", label: "queued at the datastore" },
  service: { color: "#CC79A7", shape: "circle", label: "in service" },
  fetched: { color: "#E69F00", shape: "triangle", label: "fetched, returning" },
  ok: { color: "#009E73", shape: "tick", label: "answered" },
  failed: { color: "#000000", shape: "cross", label: "failed / timed out" },
};

const ORDER = ["travel", "hit", "miss", "fetched", "wait", "marker", "poll", "queued", "service", "ok", "failed"];
const FADE_MS = { ok: 700, failed: 1600 };
const BLINK_MIN_MS = 340;            // lock pollers blink at most ~3 times a second (seizure safety)
const PULSE_MS = 550;
const CROWD_MAX = 1500;              // viewer homes drawn in the viewers column
const EASE_S = 0.09;

/**
 * A well-mixed 0..1 from an integer (murmur3's finaliser): sampled viewer ids are multiples of the
 * dot scale, and a plain multiplicative hash lines their homes up in visible diagonal streaks.
 */
function hash01(n, salt) {
  let h = Math.imul(n | 0, 0x9E3779B1) ^ Math.imul(salt, 0x85EBCA6B);
  h ^= h >>> 16; h = Math.imul(h, 0x85EBCA6B);
  h ^= h >>> 13; h = Math.imul(h, 0xC2B2AE35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** One side's canvas. `draw` returns true while something still moves (the loop keeps going). */
export class Stage {
  constructor(canvas, side, store, scenarioOf) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.side = side;
    this.store = store;
    this.scenarioOf = scenarioOf;      // () => the full scenario of this side (servers, connections)
    this.buckets = Object.fromEntries(ORDER.map((s) => [s, []]));
    this.pulses = [];
    this.lastPulse = new Map();
    this.w = this.h = 0;
    this.dpr = 1;
    this.highlighted = new Set();      // the viewer's own requests (classroom "join the herd")
    this.crowd = { key: "", xs: null, ys: null };
  }

  /** Match the canvas backing store to its CSS size × devicePixelRatio; true when it changed. */
  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    if (w === this.w && h === this.h && dpr === this.dpr) return false;
    this.w = w; this.h = h; this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(w * dpr));
    this.canvas.height = Math.max(1, Math.round(h * dpr));
    return true;
  }

  layout(servers) {
    const { w, h } = this;
    const top = 26, bottom = h - 8, mid = (top + bottom) / 2;
    const col = (a, b) => ({ x0: w * a, x1: w * b });
    const srv = col(0.19, 0.27), cache = col(0.41, 0.49), queue = col(0.55, 0.745), db = col(0.755, 0.86);
    const gap = Math.min(10, (bottom - top) / (servers * 4));
    const sh = Math.max(6, Math.min(120, (bottom - top - gap * (servers - 1)) / servers));
    const stackTop = mid - (sh * servers + gap * (servers - 1)) / 2;
    const serverBoxes = Array.from({ length: servers }, (_, i) => {
      const y0 = stackTop + i * (sh + gap);
      return { x0: srv.x0, x1: srv.x1, y0, y1: y0 + sh, cy: y0 + sh / 2 };
    });
    return {
      top, bottom, mid,
      viewers: { x0: w * 0.015, x1: w * 0.13 },
      servers: serverBoxes,
      ring: { x: srv.x1 + Math.min(46, w * 0.04) },
      cache: { ...cache, y0: mid - (bottom - top) * 0.3, y1: mid + (bottom - top) * 0.3 },
      queue: { ...queue, y0: top + 14, y1: bottom - 4 },
      db: { ...db, y0: mid - (bottom - top) * 0.32, y1: mid + (bottom - top) * 0.32 },
      gauge: { x0: w * 0.875, x1: w * 0.895, y0: mid - (bottom - top) * 0.32, y1: mid + (bottom - top) * 0.32 },
    };
  }

  /**
   * Draw one frame. `opts`: {now (ms), dt (s), reduced (prefers-reduced-motion), big (presentation)}.
   * Returns true if anything is still in motion or fading.
   */
  draw({ now, dt, reduced, big }) {
    const { ctx, side, store } = this;
    const scn = this.scenarioOf() || {};
    const servers = scn.servers?.count || 1;
    const L = this.layout(servers);
    const zoom = big ? 1.5 : 1;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);

    const moving = this.bucket(now, L, zoom);
    const shake = !reduced && side.db.state === "overloaded" ? Math.sin(now / 45) * 1.6 : 0;
    this.drawStructure(L, scn, zoom, shake);
    if (reduced) {
      this.drawBars(L, zoom);
      this.drawMineAsText(L, zoom);
      return false;
    }
    this.drawCrowd(L);
    const animating = this.move(dt, L) || moving;
    this.drawRings(L, zoom);
    this.drawDots(now, zoom);
    this.drawMine(zoom);
    const pulsing = this.drawPulses(now, L, zoom);
    return animating || pulsing || shake !== 0;
  }

  /** Sort dots into per-state arrays, expire faded ones, and give slotted states their places. */
  bucket(now, L, zoom) {
    const b = this.buckets;
    for (const s of ORDER) b[s].length = 0;
    let fading = false;
    for (const [req, dot] of this.side.dots) {
      if (dot.state === STATE.ok || dot.state === STATE.failed) {
        if (!dot.endedAt) dot.endedAt = now;
        if (now - dot.endedAt > FADE_MS[dot.state]) { this.side.dots.delete(req); continue; }
        fading = true;
      }
      b[dot.state].push(dot);
    }
    const spacing = Math.max(4.5, Math.min(9, 5 * zoom * this.density()));
    this.placeRings(b.wait, (d) => this.ringCenter(L, d.server), spacing);
    this.placeRings(b.poll, (d) => this.ringCenter(L, d.server), spacing);
    this.placeRings(b.marker, () => ({ x: (L.cache.x0 + L.cache.x1) / 2, y: L.cache.y0 - 4 }), spacing, -1);
    this.placeGrid(b.queued, L.queue, true);
    this.placeGrid(b.service, { x0: L.db.x0 + 6, x1: L.db.x1 - 6, y0: L.db.y0 + 22, y1: L.db.y1 - 6 }, false);
    for (const s of ["travel", "hit", "miss", "fetched", "ok", "failed"]) for (const d of b[s]) this.target(d, s, L);
    return fading;
  }

  density() {
    const n = this.side.dots.size;
    return n > 2000 ? 0.7 : n > 500 ? 0.85 : 1;
  }

  ringCenter(L, server) {
    const box = L.servers[Math.min(L.servers.length - 1, server ?? 0)] || L.servers[0];
    return { x: L.ring.x, y: box.cy };
  }

  /** Where a dot in a free-moving state heads (and where an intermediate state's waypoint is). */
  spot(d, s, L) {
    const box = L.servers[Math.min(L.servers.length - 1, d.server ?? 0)] || L.servers[0];
    const jy = (hash01(d.req, 7) - 0.5);
    switch (s) {
      case "travel": return { x: box.x0 + 4, y: box.cy + jy * (box.y1 - box.y0) * 0.8 };
      // Hits bounce off the cache's face, level with their server but never above or below the box.
      case "hit": return { x: L.cache.x0 + 3, y: Math.max(L.cache.y0 + 6, Math.min(L.cache.y1 - 6, box.cy + jy * 12)) };
      // Just past the cache: a miss waiting on a promise turns back here; one that queries flies on.
      case "miss": return { x: L.cache.x1 + 14, y: L.mid + jy * (L.cache.y1 - L.cache.y0) * 0.8 };
      case "queued": return { x: L.queue.x1 - 4, y: L.mid + jy * 20 };
      case "service": return { x: (L.db.x0 + L.db.x1) / 2, y: L.mid };
      case "fetched": case "wait": case "poll": return { x: box.x1, y: box.cy + jy * 8 };
      case "marker": return { x: (L.cache.x0 + L.cache.x1) / 2, y: L.cache.y0 };
      case "ok": return this.origin(d, L);
      default: return null;        // failed: stays where it failed
    }
  }

  origin(d, L) {
    const v = d.viewer ?? d.req;
    return { x: L.viewers.x0 + hash01(v, 1) * (L.viewers.x1 - L.viewers.x0),
             y: L.top + 6 + hash01(v, 2) * (L.bottom - L.top - 12) };
  }

  target(d, s, L) {
    const p = this.spot(d, s, L);
    if (p) { d.tx = p.x; d.ty = p.y; } else if (d.tx === undefined) { d.tx = d.x; d.ty = d.y; }
  }

  placeRings(dots, centerOf, spacing, dir = 0) {
    const counts = new Map();
    const r0 = spacing * 2.4;
    for (const d of dots) {
      const key = dots === this.buckets.marker ? -1 : d.server ?? 0;
      let j = counts.get(key) || 0;
      counts.set(key, j + 1);
      let r = r0;
      for (;;) {
        const cap = Math.max(6, Math.floor((dir ? Math.PI : 2 * Math.PI) * r / spacing));
        if (j < cap) {
          const c = centerOf(d);
          const a = dir ? Math.PI + (j + 0.5) / cap * Math.PI : (j / cap) * 2 * Math.PI - Math.PI / 2;
          d.tx = c.x + Math.cos(a) * r; d.ty = c.y + Math.sin(a) * r;
          break;
        }
        j -= cap; r += spacing;
      }
    }
  }

  /** Fill a box with square cells, from the datastore side outwards, shrinking cells as it fills. */
  placeGrid(dots, box, fromRight) {
    const n = dots.length;
    if (!n) return;
    const w = box.x1 - box.x0, h = box.y1 - box.y0;
    const cell = Math.max(2.5, Math.min(11, Math.sqrt((w * h) / n)));
    const rows = Math.max(1, Math.floor(h / cell));
    const cols = Math.max(1, Math.floor(w / cell));
    const y0 = box.y0 + (h - Math.min(rows, n) * cell) / 2;
    dots.forEach((d, j) => {
      const col = Math.min(cols - 1, Math.floor(j / rows)), row = j % rows;
      d.tx = fromRight ? box.x1 - (col + 0.5) * cell : box.x0 + (col + 0.5) * cell;
      d.ty = y0 + (row + 0.5) * cell;
    });
    dots.cell = cell;
  }

  /** Ease every dot towards its waypoint, then its target; true while any is still travelling. */
  move(dt, L) {
    const k = 1 - Math.exp(-dt / EASE_S);
    let moving = false;
    for (const s of ORDER) {
      for (const d of this.buckets[s]) {
        if (d.x === undefined) { const o = this.origin(d, L); d.x = o.x; d.y = o.y; d.via = []; }
        while (d.path.length) {
          const step = d.path.shift();
          if (d.path.length || step !== d.state) {
            const p = this.spot(d, step, L);
            if (p && d.via.length < 4) d.via.push(p);
          }
        }
        const goal = d.via.length ? d.via[0] : { x: d.tx, y: d.ty };
        const kk = d.via.length ? Math.min(1, k * (1.6 + d.via.length)) : k;
        d.x += (goal.x - d.x) * kk;
        d.y += (goal.y - d.y) * kk;
        const far = Math.abs(goal.x - d.x) + Math.abs(goal.y - d.y);
        if (far < 5 && d.via.length) d.via.shift();
        if (far > 0.5 || d.via.length) moving = true;
      }
    }
    return moving;
  }

  drawStructure(L, scn, zoom, shake) {
    const { ctx, side, store } = this;
    const lw = zoom > 1 ? 2.5 : 1.2;
    const font = (px, weight = "") => `${weight} ${Math.round(px * zoom)}px system-ui, sans-serif`;
    ctx.lineWidth = lw;
    ctx.strokeStyle = "#55555f";
    ctx.fillStyle = "#1b1b1f";
    ctx.textBaseline = "alphabetic";
    // On a phone the columns are too narrow for the long headings: use short ones.
    const narrow = this.w < 640;
    ctx.font = font(narrow ? 10 : 12, "600");
    ctx.textAlign = "center";
    const audience = store.viewers ? `${fmt(store.viewers)} viewers` : "viewers";
    const heads = narrow
      ? [[store.viewers ? fmt(store.viewers) : "viewers", L.viewers], ["servers", L.servers[0]],
         ["cache", L.cache], ["queue", L.queue], ["DB", L.db]]
      : [[audience, L.viewers], ["app servers", L.servers[0]], ["cache", L.cache],
         ["datastore queue", L.queue], ["datastore", L.db]];
    for (const [label, c] of heads) ctx.fillText(label, (c.x0 + c.x1) / 2, 16);

    // Flow arrows between the columns.
    ctx.strokeStyle = "#c9c9cf";
    ctx.beginPath();
    const arrow = (x0, x1) => { ctx.moveTo(x0, L.mid); ctx.lineTo(x1, L.mid); ctx.moveTo(x1 - 6, L.mid - 4); ctx.lineTo(x1, L.mid); ctx.lineTo(x1 - 6, L.mid + 4); };
    arrow(L.viewers.x1 + 4, L.servers[0].x0 - 4);
    arrow(L.ring.x + 8, L.cache.x0 - 4);
    arrow(L.cache.x1 + 4, L.queue.x0);
    ctx.stroke();

    // App servers.
    ctx.font = font(11, "600");
    L.servers.forEach((b, i) => {
      ctx.fillStyle = "#eef1f6";
      ctx.strokeStyle = "#55555f";
      ctx.lineWidth = lw;
      ctx.beginPath(); ctx.rect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0); ctx.fill(); ctx.stroke();
      if (b.y1 - b.y0 >= 14 * zoom) {
        ctx.fillStyle = "#1b1b1f";
        ctx.fillText(`S${i + 1}`, (b.x0 + b.x1) / 2, b.cy + 4 * zoom);
      }
    });

    // Cache, with the newest key and whether it is cached yet.
    const c = L.cache;
    ctx.fillStyle = "#eaf6f1"; ctx.strokeStyle = "#55555f";
    ctx.beginPath(); ctx.rect(c.x0, c.y0, c.x1 - c.x0, c.y1 - c.y0); ctx.fill(); ctx.stroke();
    ctx.fillStyle = "#1b1b1f";
    ctx.font = font(11);
    const cx = (c.x0 + c.x1) / 2;
    if (scn.cache && scn.cache.enabled === false) ctx.fillText("off", cx, L.mid);
    else if (side.lastKey) {
      ctx.fillText(side.lastKey, cx, L.mid - 6 * zoom);
      ctx.fillText(side.cachedKeys.has(side.lastKey) ? "✓ cached" : "empty", cx, L.mid + 10 * zoom);
    } else ctx.fillText("empty", cx, L.mid);
    const hits = side.sample?.cache_hits;
    if (hits !== undefined) ctx.fillText(`${fmt(hits)} ${hits === 1 ? "hit" : "hits"}`, cx, c.y1 + 14 * zoom);
    if (side.markers.size) {
      const srv = side.markers.values().next().value;
      ctx.font = font(11, "700");
      ctx.fillStyle = "#0072B2";
      ctx.fillText(`⚑ marker: S${(srv ?? 0) + 1}`, cx, c.y1 + 28 * zoom);
      ctx.beginPath(); ctx.strokeStyle = "#0072B2"; ctx.setLineDash([4, 3]);
      ctx.rect(c.x0 - 3, c.y0 - 3, c.x1 - c.x0 + 6, c.y1 - c.y0 + 6); ctx.stroke(); ctx.setLineDash([]);
    }

    // Datastore: box (shakes past saturation, greys when down), gauge, state and counters.
    const d = L.db, s = side.sample || {};
    const down = side.db.state === "down";
    ctx.save();
    ctx.translate(shake, 0);
    ctx.fillStyle = down ? "#d4d4d8" : "#f7eef3";
    ctx.strokeStyle = down ? "#8a8a92" : side.db.state === "overloaded" ? "#D55E00" : "#55555f";
    ctx.lineWidth = side.db.state === "overloaded" ? lw * 2 : lw;
    ctx.beginPath(); ctx.rect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0); ctx.fill(); ctx.stroke();
    ctx.fillStyle = "#1b1b1f";
    ctx.font = font(11);
    const conns = scn.datastore?.connections;
    ctx.fillText(`${fmt(s.in_service ?? 0)}${conns ? ` / ${conns}` : ""} busy`, (d.x0 + d.x1) / 2, d.y0 + 15 * zoom);
    ctx.restore();
    const stateText = { up: "UP", overloaded: "OVERLOADED", down: "DOWN" }[side.db.state] || side.db.state.toUpperCase();
    ctx.font = font(13, "700");
    ctx.fillStyle = down ? "#5b5b66" : side.db.state === "overloaded" ? "#B34700" : "#007A5A";
    ctx.fillText(stateText, (d.x0 + d.x1) / 2, d.y1 + 16 * zoom);
    if (down && side.db.recoverAt !== null) {
      ctx.font = font(11);
      ctx.fillText(`back in ${Math.max(0, side.db.recoverAt - store.t).toFixed(1)} s`, (d.x0 + d.x1) / 2, d.y1 + 30 * zoom);
    }

    // Gauge: utilisation, green → orange → vermillion.
    const g = L.gauge, u = Math.max(0, Math.min(1, s.utilisation ?? 0));
    ctx.strokeStyle = "#55555f"; ctx.lineWidth = lw;
    ctx.fillStyle = "#ffffff";
    ctx.beginPath(); ctx.rect(g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0); ctx.fill(); ctx.stroke();
    ctx.fillStyle = u < 0.7 ? "#009E73" : u < 0.95 ? "#E69F00" : "#D55E00";
    const gh = (g.y1 - g.y0) * u;
    ctx.fillRect(g.x0 + 1, g.y1 - gh, g.x1 - g.x0 - 2, gh);
    ctx.fillStyle = "#1b1b1f";
    ctx.font = font(11);
    ctx.textAlign = "left";
    ctx.fillText(`${Math.round(u * 100)}%`, g.x1 + 4, g.y0 + 10);
    ctx.fillText("load", g.x1 + 4, g.y0 + 24 * zoom);

    // Queue counter beside the pile.
    ctx.textAlign = "center";
    ctx.font = font(12, "700");
    ctx.fillStyle = (s.queued ?? 0) > 0 ? "#B34700" : "#5b5b66";
    ctx.fillText(`${fmt(s.queued ?? 0)} queued`, (L.queue.x0 + L.queue.x1) / 2, L.bottom - 2);

    // Viewers: how many, and what a dot stands for.
    ctx.font = font(11, "700");
    ctx.fillStyle = "#1b1b1f";
    const vx = (L.viewers.x0 + L.viewers.x1) / 2;
    if (store.dotScale > 1) ctx.fillText(`each dot = ${fmt(store.dotScale)} viewers`, vx, L.bottom - 2);
  }

  drawRings(L, zoom) {
    const { ctx } = this;
    const perServer = new Map();
    for (const d of this.buckets.wait) perServer.set(d.server ?? 0, (perServer.get(d.server ?? 0) || 0) + 1);
    ctx.font = `${Math.round(11 * zoom)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    const leaders = new Map();
    for (const s of ["miss", "queued", "service", "fetched"]) for (const d of this.buckets[s]) if (d.leader) leaders.set(d.server ?? 0, d);
    for (const [server, n] of perServer) {
      const c = this.ringCenter(L, server);
      ctx.strokeStyle = "#56B4E9"; ctx.lineWidth = zoom > 1 ? 2.5 : 1.5; ctx.setLineDash([3, 3]);
      ctx.beginPath(); ctx.arc(c.x, c.y, 5 * zoom * this.density() * 1.3, 0, Math.PI * 2); ctx.stroke();
      const leader = leaders.get(server);
      if (leader && leader.x !== undefined) { ctx.beginPath(); ctx.moveTo(c.x, c.y); ctx.lineTo(leader.x, leader.y); ctx.stroke(); }
      ctx.setLineDash([]);
      ctx.fillStyle = "#1f5f85";
      ctx.fillText(`promise: ${fmt(n)} waiting`, c.x, Math.max(L.top + 10, c.y - ringRadius(n, 5 * zoom) - 6));
    }
    const polls = this.buckets.poll.length;
    if (polls) {
      ctx.fillStyle = "#6b6300";
      ctx.fillText(`${fmt(polls)} polling the lock`, L.ring.x, L.bottom - 2);
    }
    if (this.buckets.marker.length) {
      ctx.fillStyle = "#1f5f85";
      ctx.fillText(`${fmt(this.buckets.marker.length)} wait on the marker`, (L.cache.x0 + L.cache.x1) / 2, L.top + 12);
    }
  }

  drawDots(now, zoom) {
    const { ctx } = this;
    const r = 2.6 * zoom * this.density();
    for (const s of ORDER) {
      const dots = this.buckets[s];
      if (!dots.length) continue;
      const look = LOOK[s];
      const fade = FADE_MS[s];
      if (fade) {
        // Fading states: four alpha bands keep it to four paths however many dots there are.
        for (let band = 0; band < 4; band++) {
          ctx.globalAlpha = 1 - band / 4;
          this.pathOf(dots.filter((d) => Math.min(3, Math.floor(((now - d.endedAt) / fade) * 4)) === band), look, r, s === "queued" ? dots.cell : 0);
        }
        ctx.globalAlpha = 1;
      } else if (s === "poll") {
        const lit = [], dim = [];
        for (const d of dots) {
          if (d.polled !== d.seenPolls && now - (d.blinkAt || 0) >= BLINK_MIN_MS) { d.blinkAt = now; d.seenPolls = d.polled; }
          (now - (d.blinkAt || 0) < 160 ? lit : dim).push(d);
        }
        this.pathOf(lit, look, r * 1.3, 0);
        ctx.globalAlpha = 0.45;
        this.pathOf(dim, look, r, 0);
        ctx.globalAlpha = 1;
      } else this.pathOf(dots, look, r, s === "queued" ? dots.cell : 0);
    }
    // Leaders: larger, with an outline, so "one goes, the rest wait" reads at a glance.
    ctx.lineWidth = zoom > 1 ? 2.5 : 1.6;
    ctx.strokeStyle = "#1b1b1f";
    for (const s of ["miss", "queued", "service", "fetched"]) {
      for (const d of this.buckets[s]) {
        if (!d.leader) continue;
        ctx.fillStyle = LOOK[s].color;
        ctx.beginPath(); ctx.arc(d.x, d.y, r * 2.3, 0, Math.PI * 2); ctx.fill(); ctx.stroke();
      }
    }
  }

  /**
   * The audience: a faint dot at the home of every animated viewer (where its requests leave from
   * and its answers land), so the viewers column reads as a crowd before and between herds. At most
   * CROWD_MAX homes are drawn (evenly spread); positions are cached per run and size.
   */
  drawCrowd(L) {
    const { store, ctx } = this;
    const animated = Math.ceil((store.viewers || 0) / (store.dotScale || 1));
    if (!animated) return;
    const key = `${store.runId}/${animated}/${this.w}x${this.h}`;
    if (this.crowd.key !== key) {
      const n = Math.min(CROWD_MAX, animated), stride = animated / n;
      const xs = new Float32Array(n), ys = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const o = this.origin({ viewer: Math.floor(i * stride) * (store.dotScale || 1) }, L);
        xs[i] = o.x; ys[i] = o.y;
      }
      this.crowd = { key, xs, ys };
    }
    const { xs, ys } = this.crowd;
    ctx.fillStyle = "#b9b9c2";
    ctx.beginPath();
    for (let i = 0; i < xs.length; i++) ctx.rect(xs[i] - 1, ys[i] - 1, 2, 2);
    ctx.fill();
  }

  /** The viewer's own requests: their state's shape, larger, outlined, with a "you" tag. */
  drawMine(zoom) {
    if (!this.highlighted.size) return;
    const { ctx } = this;
    const r = 2.6 * zoom * 2.2;
    ctx.font = `700 ${Math.round(11 * zoom)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    for (const req of this.highlighted) {
      const d = this.side.dots.get(req);
      if (!d || d.x === undefined) continue;
      const look = LOOK[d.state] || LOOK.travel;
      ctx.beginPath(); ctx.arc(d.x, d.y, r + 3 * zoom, 0, Math.PI * 2);
      ctx.fillStyle = "#ffffff"; ctx.fill();
      ctx.lineWidth = 2.5 * zoom; ctx.strokeStyle = "#0072B2"; ctx.stroke();
      this.pathOf([d], look, r * 0.7, 0);
      ctx.fillStyle = "#0072B2";
      ctx.fillText("you", d.x, d.y - r - 6 * zoom);
    }
  }

  /** Reduced motion has no dots: the viewer's own requests are listed in words instead. */
  drawMineAsText(L, zoom) {
    if (!this.highlighted.size) return;
    const states = [...this.highlighted].map((req) => this.side.dots.get(req)).filter(Boolean)
      .map((d) => `#${d.req} ${LOOK[d.state]?.label || d.state}`);
    if (!states.length) return;
    const { ctx } = this;
    ctx.font = `700 ${Math.round(12 * zoom)}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.fillStyle = "#0072B2";
    ctx.fillText(`you: ${states.slice(-3).join(" · ")}`, this.w - 8, L.bottom - 2);
  }

  /** One batched path for many dots of one look (squares in the queue fill their grid cell). */
  pathOf(dots, look, r, cell) {
    if (!dots.length) return;
    const { ctx } = this;
    ctx.beginPath();
    const sq = cell ? Math.max(1.5, cell * 0.8) / 2 : r;
    for (const d of dots) {
      const x = d.x, y = d.y;
      switch (look.shape) {
        case "circle": case "ring": ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, Math.PI * 2); break;
        case "diamond": ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r * 1.3, y); ctx.lineTo(x, y + r * 1.3); ctx.lineTo(x - r * 1.3, y); ctx.closePath(); break;
        case "triangle": ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r * 1.2, y + r); ctx.lineTo(x - r * 1.2, y + r); ctx.closePath(); break;
        case "square": ctx.rect(x - sq, y - sq, sq * 2, sq * 2); break;
        case "cross": ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); break;
        case "tick": ctx.moveTo(x - r, y); ctx.lineTo(x - r * 0.2, y + r * 0.8); ctx.lineTo(x + r * 1.1, y - r); break;
      }
    }
    if (look.shape === "ring" || look.shape === "cross" || look.shape === "tick") {
      ctx.strokeStyle = look.color; ctx.lineWidth = Math.max(1.3, r * 0.6); ctx.stroke();
    } else {
      ctx.fillStyle = look.color; ctx.fill();
    }
  }

  /** A promise resolved: a pulse runs from the datastore back to the server's ring. */
  drawPulses(now, L, zoom) {
    const { ctx } = this;
    for (const p of this.side.pulses.splice(0)) {
      const last = this.lastPulse.get(p.server) || 0;
      if (now - last < 400) continue;       // never more than ~2.5 pulses a second per server
      this.lastPulse.set(p.server, now);
      this.pulses.push({ ...p, start: now });
    }
    this.pulses = this.pulses.filter((p) => now - p.start < PULSE_MS);
    for (const p of this.pulses) {
      const f = (now - p.start) / PULSE_MS;
      const c = this.ringCenter(L, p.server);
      const x0 = (L.db.x0 + L.db.x1) / 2;
      const x = x0 + (c.x - x0) * Math.min(1, f * 1.6);
      const y = L.mid + (c.y - L.mid) * Math.min(1, f * 1.6);
      ctx.strokeStyle = p.ok === false ? "#000000" : "#0072B2";
      ctx.lineWidth = zoom > 1 ? 4 : 2.5;
      ctx.globalAlpha = 1 - f * 0.7;
      ctx.beginPath(); ctx.arc(x, y, 6 + 18 * f, 0, Math.PI * 2); ctx.stroke();
      ctx.globalAlpha = 1;
    }
    return this.pulses.length > 0;
  }

  /** Reduced motion: counters and bars where the dots would fly. */
  drawBars(L, zoom) {
    const { ctx, side, store } = this;
    const k = store.dotScale;
    const count = (s) => this.buckets[s].length * k;
    const s = side.sample || {};
    const between = { x0: L.servers[0].x1 + 8, x1: L.cache.x0 - 8 };   // beside the servers, not over them
    const rows = [
      ["on the way / at servers", count("travel") + count("hit"), LOOK.travel.color, L.viewers],
      ["waiting on a promise", count("wait"), LOOK.wait.color, between],
      ["polling a lock", count("poll"), LOOK.poll.color, between],
      ["queued at the datastore", s.queued ?? count("queued"), LOOK.queued.color, L.queue],
      ["in service", s.in_service ?? count("service"), LOOK.service.color, L.queue],
      ["answered", s.completed ?? 0, LOOK.ok.color, L.viewers],
      ["errors", s.errors ?? 0, LOOK.failed.color, L.viewers],
    ];
    const max = Math.max(1, store.viewers, ...rows.map((r) => r[1]));
    ctx.font = `${Math.round(12 * zoom)}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    const h = Math.min(26 * zoom, (L.bottom - L.top - 10) / rows.length);
    rows.forEach(([label, n, color, col], i) => {
      const y = L.top + 18 + i * h;
      const x0 = col.x0, w = Math.max(0, col.x1 - col.x0) * Math.min(1, n / max);
      ctx.fillStyle = color;
      ctx.fillRect(x0, y, Math.max(n > 0 ? 2 : 0, w), h * 0.45);
      ctx.strokeStyle = "#55555f"; ctx.lineWidth = 1;
      ctx.strokeRect(x0, y, col.x1 - col.x0, h * 0.45);
      ctx.fillStyle = "#1b1b1f";
      ctx.fillText(`${label}: ${fmt(n)}`, x0, y + h * 0.45 + 12 * zoom);
    });
  }

  /** The dot under a click (CSS pixels), or null; used to open its lifecycle. */
  dotAt(x, y) {
    let best = null, bestD = 100;
    for (const dot of this.side.dots.values()) {
      const d = (dot.x - x) ** 2 + (dot.y - y) ** 2;
      if (d < bestD) { best = dot; bestD = d; }
    }
    return best;
  }
}

function ringRadius(n, spacing) {
  let r = spacing * 2.4, left = n;
  while (left > 0) { left -= Math.max(6, Math.floor(2 * Math.PI * r / spacing)); if (left > 0) r += spacing; }
  return r;
}
