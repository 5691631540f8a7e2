// The stage: viewers → app servers → cache → datastore, drawn on one canvas per side.
// It only reads the store. What it owns is its view state: where each dot is on screen, where it
// is heading, how far its fade has gone, the pulses it is running, the selected dot. A request
// the store has retired keeps fading here for a moment if it had ended, and vanishes at once if it
// had not (a seek, or a run that ended while its events were dropped). Drawing is batched by shape
// (one path per state) so 5,000 dots stay smooth.

import { compact, fmt } from "../format.js";
import { STATE_WORDS } from "../states.js";
import { Labels } from "./labels.js";
import { layout, queueBar } from "./layout.js";
import { drawStructure } from "./structure.js";

/** Okabe–Ito colours and a distinct shape per state (ui.md), so nothing relies on colour alone. */
export const LOOK = {
  travel: { color: "#999999", shape: "circle" },
  hit: { color: "#009E73", shape: "diamond" },
  miss: { color: "#E69F00", shape: "triangle" },
  wait: { color: "#56B4E9", shape: "ring" },
  marker: { color: "#56B4E9", shape: "ring" },
  poll: { color: "#F0E442", shape: "square" },
  sleep: { color: "#0072B2", shape: "hollow" },      // notify: asleep until woken, never blinking
  queued: { color: "#D55E00", shape: "square" },
  service: { color: "#CC79A7", shape: "circle" },
  fetched: { color: "#E69F00", shape: "triangle" },
  ok: { color: "#009E73", shape: "tick" },
  failed: { color: "#000000", shape: "cross" },
};

const ORDER = ["travel", "hit", "miss", "fetched", "wait", "marker", "poll", "sleep", "queued", "service", "ok", "failed"];
const FREE = ["travel", "hit", "miss", "fetched", "ok", "failed"];
const LEADING = ["miss", "queued", "service", "fetched"];
const FADE_MS = { ok: 700, failed: 1600 };
const BLINK_MIN_MS = 340;            // lock pollers blink at most ~3 times a second (seizure safety)
const PULSE_MS = 550;
const PULSE_GAP_MS = 400;            // never more than ~2.5 pulses a second per server
const CROWD_MAX = 1500;              // viewer homes drawn in the viewers column
const EASE_S = 0.09;
const RING_MAX = 6;                  // rings of waiters drawn around a server; more share the last

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
    this.labels = new Labels(this.ctx);
    this.views = new Map();            // req -> {dot, x, y, tx, ty, via, seenHops, endedAt, blinkAt, seenPolls}
    this.epoch = -1;
    this.buckets = Object.fromEntries(ORDER.map((s) => [s, []]));
    this.pulses = [];
    this.lastPulse = new Map();
    this.seenResolution = 0;
    this.w = this.h = 0;
    this.dpr = 1;
    this.highlighted = new Set();      // the viewer's own requests (classroom "join the herd")
    this.selected = null;              // the request chosen with the keyboard (Enter opens it)
    this.crowd = { key: "", xs: null, ys: null };
    this.L = null;                     // the layout of the last frame drawn (captions, interventions)
    this.spotlight = null;             // {anchor, server}: where the story's caption points
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

  /**
   * Draw one frame. `opts`: {now (ms), dt (s), reduced (prefers-reduced-motion), big (presentation)}.
   * Returns true if anything is still in motion or fading.
   */
  draw({ now, dt, reduced, big }) {
    const { ctx, side } = this;
    const scn = this.scenarioOf() || {};
    const narrow = this.w < 640;
    // Type sizes: presentation mode never goes below 16 px (the back row of a lecture hall).
    const T = big ? (px) => Math.max(16, Math.round(px * 1.5)) : narrow ? (px) => Math.max(9, px - 1) : (px) => px;
    const L = layout(this.w, this.h, scn.servers?.count || 1, { head: T(12) * 2.4, foot: T(12) + 6, narrow });
    this.L = L;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    this.labels.begin(big ? 16 : 9, this.h);

    const fading = this.sync(now, L, T, big);
    // An overloaded datastore trembles while the run plays; a paused or finished picture stands still.
    const shake = !reduced && side.db.state === "overloaded" && this.store.status === "playing" ? Math.sin(now / 45) * 1.6 : 0;
    this.T = T;
    drawStructure({ ctx, labels: this.labels, side, store: this.store, L, scn, T, lw: big ? 2.5 : 1.2, narrow, shake,
                    spot: this.spotlight });
    if (reduced) {
      this.drawCounts(L, T);
      this.drawMineAsText(L, T);
      this.drawSpotlight(big, L, T);
      this.labels.flush();
      return false;
    }
    this.drawCrowd(L);
    const moving = this.move(dt, L);
    this.drawRings(L, T, big);
    this.drawDots(now, big);
    this.drawMine(T, big);
    this.drawSelected(big);
    const pulsing = this.drawPulses(now, L, big);
    this.drawSpotlight(big, L, T);
    this.labels.flush();
    return moving || fading || pulsing || shake !== 0;
  }

  /**
   * Bring the view state in line with the store: a view per dot, fading views for dots that ended
   * and were retired, nothing for dots that vanished open. Then sort views into per-state buckets
   * and give every one its target. Returns true while something fades.
   */
  sync(now, L, T, big) {
    const { side, views } = this;
    if (this.epoch !== side.epoch) {          // a new run or a seek: the old picture is gone
      this.epoch = side.epoch;
      views.clear();
      this.pulses = [];
      this.lastPulse.clear();
      this.seenResolution = side.resolved;
    }
    for (const dot of side.dots.values()) {
      let v = views.get(dot.req);
      if (!v) { v = { dot, x: undefined, y: undefined, via: [], seenHops: 0, endedAt: 0, blinkAt: 0, seenPolls: 0 }; views.set(dot.req, v); }
      v.dot = dot;
      v.live = true;
    }
    const b = this.buckets;
    for (const s of ORDER) b[s].length = 0;
    let fading = false;
    for (const [req, v] of views) {
      const ended = v.dot.endT !== null, live = v.live;
      v.live = false;
      if (!live && !ended) { views.delete(req); continue; }
      if (ended) {
        if (!v.endedAt) v.endedAt = now;
        if (now - v.endedAt > FADE_MS[v.dot.state]) {
          // Faded out. While the store still holds it (a paused run) the view stays, undrawn, so it
          // does not come back; once the store has retired it, the view goes too.
          if (!live) views.delete(req);
          continue;
        }
        fading = true;
      }
      b[v.dot.state].push(v);
    }
    if (this.selected !== null && !views.has(this.selected)) this.selected = null;
    const spacing = Math.max(4.5, Math.min(9, 5 * (big ? 1.5 : 1) * this.density()));
    this.placeRings(b.wait, (v) => this.ringCenter(L, v.dot.server), spacing, 0, L);
    this.placeRings(b.poll, (v) => this.ringCenter(L, v.dot.server), spacing, 0, L);
    this.placeRings(b.sleep, (v) => this.ringCenter(L, v.dot.server), spacing, 0, L);
    this.placeRings(b.marker, () => ({ x: (L.cache.x0 + L.cache.x1) / 2, y: L.cache.y0 - 4 }), spacing, -1, L);
    this.placeGrid(b.queued, queueBar(L, side.sample?.queued ?? 0, this.store.viewers || 1, T(10)).pile);
    this.placeGrid(b.service, { x0: L.db.x0 + 6, x1: L.db.x1 - 6, y0: L.db.y0 + T(11) + 10, y1: L.db.y1 - 6 });
    for (const s of FREE) for (const v of b[s]) this.target(v, s, L);
    return fading;
  }

  density() {
    const n = this.views.size;
    return n > 2000 ? 0.7 : n > 500 ? 0.85 : 1;
  }

  ringCenter(L, server) {
    const box = L.servers[Math.min(L.servers.length - 1, server ?? 0)] || L.servers[0];
    return { x: L.ring.x, y: box.cy };
  }

  /** Where a dot in a free-moving state heads (and where an intermediate state's waypoint is). */
  spot(v, s, L) {
    const d = v.dot;
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
      case "fetched": case "wait": case "poll": case "sleep": return { x: box.x1, y: box.cy + jy * 8 };
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

  target(v, s, L) {
    const p = this.spot(v, s, L);
    if (p) { v.tx = p.x; v.ty = p.y; } else if (v.tx === undefined) { v.tx = v.x; v.ty = v.y; }
  }

  /**
   * Waiters around a centre, ring after ring outwards (a half ring above the cache for the
   * marker), so a ring's size grows with its count, up to what leaves the neighbouring servers'
   * rings apart; past that they share the outermost ring (and the label gives the count).
   */
  placeRings(views, centerOf, spacing, dir, L) {
    const counts = new Map();
    const r0 = spacing * 2.4;
    const marker = views === this.buckets.marker;
    const pitch = L.servers.length > 1 ? L.servers[1].cy - L.servers[0].cy : Infinity;
    const rMax = Math.max(r0, Math.min((L.lanes.ring.x1 - L.lanes.ring.x0) / 2, marker ? Infinity : pitch * 0.6));
    const rings = Math.min(RING_MAX, 1 + Math.floor((rMax - r0) / spacing));
    for (const v of views) {
      const key = marker ? -1 : v.dot.server ?? 0;
      let j = counts.get(key) || 0;
      counts.set(key, j + 1);
      let r = r0;
      for (let ring = 0; ; ring++) {
        const cap = Math.max(6, Math.floor((dir ? Math.PI : 2 * Math.PI) * r / spacing));
        if (j < cap || ring === rings - 1) {
          const c = centerOf(v);
          const a = dir ? Math.PI + ((j % cap) + 0.5) / cap * Math.PI : ((j % cap) / cap) * 2 * Math.PI - Math.PI / 2;
          v.tx = c.x + Math.cos(a) * r;
          v.ty = Math.max(L.top, Math.min(L.bottom, c.y + Math.sin(a) * r));
          break;
        }
        j -= cap; r += spacing;
      }
    }
  }

  /** Fill a box with square cells, from the datastore side outwards, shrinking cells as it fills. */
  placeGrid(views, box) {
    const n = views.length;
    if (!n) return;
    const w = Math.max(1, box.x1 - box.x0), h = Math.max(1, box.y1 - box.y0);
    const cell = Math.max(2.5, Math.min(11, Math.sqrt((w * h) / n)));
    const rows = Math.max(1, Math.floor(h / cell));
    const cols = Math.max(1, Math.floor(w / cell));
    const y0 = box.y1 - Math.min(rows, n) * cell;
    views.forEach((v, j) => {
      const col = Math.min(cols - 1, Math.floor(j / rows)), row = j % rows;
      v.tx = box.x1 - (col + 0.5) * cell;
      v.ty = y0 + (row + 0.5) * cell;
    });
    views.cell = cell;
  }

  /** Ease every dot towards its waypoints, then its target; true while any is still travelling. */
  move(dt, L) {
    const k = 1 - Math.exp(-dt / EASE_S);
    let moving = false;
    for (const s of ORDER) {
      for (const v of this.buckets[s]) {
        const d = v.dot;
        if (v.x === undefined) { const o = this.origin(d, L); v.x = o.x; v.y = o.y; }
        // States passed through since the last frame become waypoints, so a hit that arrived and
        // was answered between two frames still visibly bounces off the cache.
        const fresh = Math.min(d.hopCount - v.seenHops, d.hops.length);
        if (fresh > 0) {
          const steps = d.hops.slice(d.hops.length - fresh);
          if (steps[steps.length - 1] === d.state) steps.pop();    // the state itself is the target
          for (const step of steps) {
            const p = this.spot(v, step, L);
            if (p && v.via.length < 4) v.via.push(p);
          }
        }
        v.seenHops = d.hopCount;
        const goal = v.via.length ? v.via[0] : { x: v.tx, y: v.ty };
        const kk = v.via.length ? Math.min(1, k * (1.6 + v.via.length)) : k;
        v.x += (goal.x - v.x) * kk;
        v.y += (goal.y - v.y) * kk;
        const far = Math.abs(goal.x - v.x) + Math.abs(goal.y - v.y);
        if (far < 5 && v.via.length) v.via.shift();
        if (far > 0.5 || v.via.length) moving = true;
      }
    }
    return moving;
  }

  /**
   * Labels of the waiting rings. Under promise coalescing each server's ring is its promise; under
   * the shared marker it is the server's local promise behind the marker. The numbers are the
   * engine's exact counts of the instant shown (the sample's `waiting`, one per server) when it
   * has them, else the dots drawn times the dot scale. With many servers there is no room to label
   * each ring: one line says how many wait.
   */
  drawRings(L, T, big) {
    const { ctx, labels } = this;
    const mode = this.side.coalesce;
    const exact = exactNow(this.side, this.store);
    const scale = this.store.dotScale;
    const perServer = new Map();
    for (const v of this.buckets.wait) perServer.set(v.dot.server ?? 0, (perServer.get(v.dot.server ?? 0) || 0) + 1);
    const leaders = new Map();
    for (const s of LEADING) for (const v of this.buckets[s]) if (v.dot.leader) leaders.set(v.dot.server ?? 0, v);
    const noun = mode === "promise" ? "promise" : "local promise";
    const each = mode === "promise" && !(perServer.size > 4 || L.narrow);   // a phone's ring lane is a sliver
    const labelled = new Set();
    let unlabelled = 0;
    for (const [server, n] of perServer) {
      const c = this.ringCenter(L, server);
      ctx.strokeStyle = "#56B4E9"; ctx.lineWidth = big ? 2.5 : 1.5; ctx.setLineDash([3, 3]);
      ctx.beginPath(); ctx.arc(c.x, c.y, 5 * (big ? 1.5 : 1) * this.density() * 1.3, 0, Math.PI * 2); ctx.stroke();
      const leader = leaders.get(server);
      if (leader && leader.x !== undefined) { ctx.beginPath(); ctx.moveTo(c.x, c.y); ctx.lineTo(leader.x, leader.y); ctx.stroke(); }
      ctx.setLineDash([]);
      const count = exact ? exact[server] ?? 0 : n * scale;
      if (!each && exact) continue;                       // told in one line below
      if (!each) { unlabelled += count; continue; }
      const y = Math.max(L.top + T(11), c.y - ringRadius(n, 5 * (big ? 1.5 : 1)) - 6);
      const shown = labels.text(`${noun}: ${fmt(count)} waiting`, c.x, y, { px: T(11), color: "#1f5f85", box: L.lanes.ring, wrap: true, avoid: true });
      if (shown) labelled.add(server);
      else unlabelled += count;
    }
    // Under the rings, one line (the canvas ends there): how many wait, how many poll.
    const total = exact ? exact.reduce((a, b) => a + b, 0) : null;
    const lines = [];
    if (exact && mode === "promise") unlabelled = exact.reduce((sum, n, server) => sum + (labelled.has(server) ? 0 : n), 0);
    if (mode === "promise" || mode === "none") { if (unlabelled) lines.push([`${fmt(unlabelled)} waiting`, "#1f5f85"]); }
    const polls = exact && mode === "lock" ? total : this.buckets.poll.length * scale;
    if (polls) lines.push([`${fmt(polls)} polling`, "#6b6300"]);
    const asleep = exact && mode === "notify" ? total : this.buckets.sleep.length * scale;
    if (asleep) lines.push([`${fmt(asleep)} asleep until woken`, "#0b4f7a"]);
    // The ring the story points at is written even when the others are not: its waiters, exactly.
    const spot = this.spotlight;
    if (spot?.anchor === "ring" && !labelled.has(spot.server ?? 0) && exact) {
      const server = spot.server ?? 0, n = exact[server] ?? 0, c = this.ringCenter(L, server);
      const box = L.narrow || perServer.size > 4 ? { x0: L.lanes.servers.x0, x1: L.lanes.cache.x1 } : L.lanes.ring;
      labels.text(`S${server + 1}'s ${noun}: ${fmt(n)} waiting`, c.x, Math.max(L.top + T(11), c.y - 14),
                  { px: T(11), weight: "700", color: "#1f5f85", box, wrap: true, avoid: true });
    }
    const text = lines.map((l) => l[0]).join(" · ");
    const foot = L.narrow ? { x0: L.lanes.servers.x0, x1: L.lanes.ring.x1 } : L.lanes.ring;   // a phone's ring lane is a sliver
    if (text) labels.text(text, L.ring.x, L.bottom + T(11) + 2, { px: T(11), color: lines[0][1], box: foot, avoid: true, wrap: true, upward: true });
    // The shared marker: everyone waiting for its one fetch (a server's waiters wait behind its own).
    const onMarker = exact && mode === "distributed" ? total : this.buckets.marker.length * scale + (mode === "distributed" ? unlabelled : 0);
    if (onMarker) {
      // Whole if it fits, else the number in short (a phone's cache lane is narrow).
      const style = { px: T(11), color: "#1f5f85", box: L.lanes.cache, wrap: true, avoid: true };
      const text = [`${fmt(onMarker)} wait on the marker`, `${compact(onMarker)} wait on the marker`, `${compact(onMarker)} on the marker`]
        .find((x) => labels.fits(x, style)) ?? `${compact(onMarker)} waiting`;
      labels.text(text, (L.cache.x0 + L.cache.x1) / 2, L.top + T(11), style);
    }
  }

  drawDots(now, big) {
    const { ctx } = this;
    const r = 2.6 * (big ? 1.5 : 1) * this.density();
    for (const s of ORDER) {
      const views = this.buckets[s];
      if (!views.length) continue;
      const look = LOOK[s];
      const fade = FADE_MS[s];
      if (fade) {
        // Fading states: four alpha bands keep it to four paths however many dots there are.
        const bands = [[], [], [], []];
        for (const v of views) bands[v.endedAt ? Math.min(3, Math.floor(((now - v.endedAt) / fade) * 4)) : 0].push(v);
        bands.forEach((band, i) => { ctx.globalAlpha = 1 - i / 4; this.pathOf(band, look, r, 0); });
        ctx.globalAlpha = 1;
      } else if (s === "poll") {
        const lit = [], dim = [];
        for (const v of views) {
          if (v.dot.polled !== v.seenPolls && now - v.blinkAt >= BLINK_MIN_MS) { v.blinkAt = now; v.seenPolls = v.dot.polled; }
          (now - v.blinkAt < 160 ? lit : dim).push(v);
        }
        this.pathOf(lit, look, r * 1.3, 0);
        ctx.globalAlpha = 0.45;
        this.pathOf(dim, look, r, 0);
        ctx.globalAlpha = 1;
      } else this.pathOf(views, look, r, s === "queued" ? views.cell : 0);
    }
    // Leaders: larger, with an outline, so "one goes, the rest wait" reads at a glance.
    ctx.lineWidth = big ? 2.5 : 1.6;
    ctx.strokeStyle = "#1b1b1f";
    for (const s of LEADING) {
      for (const v of this.buckets[s]) {
        if (!v.dot.leader) continue;
        ctx.fillStyle = LOOK[s].color;
        ctx.beginPath(); ctx.arc(v.x, v.y, r * 2.3, 0, Math.PI * 2); ctx.fill(); ctx.stroke();
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
  drawMine(T, big) {
    if (!this.highlighted.size) return;
    const { ctx } = this;
    const zoom = big ? 1.5 : 1;
    const r = 2.6 * zoom * 2.2;
    for (const req of this.highlighted) {
      const v = this.views.get(req);
      if (!v || v.x === undefined) continue;
      ctx.beginPath(); ctx.arc(v.x, v.y, r + 3 * zoom, 0, Math.PI * 2);
      ctx.fillStyle = "#ffffff"; ctx.fill();
      ctx.lineWidth = 2.5 * zoom; ctx.strokeStyle = "#0072B2"; ctx.stroke();
      this.pathOf([v], LOOK[v.dot.state] || LOOK.travel, r * 0.7, 0);
      ctx.font = `700 ${T(11)}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.fillStyle = "#0072B2";
      ctx.fillText("you", v.x, v.y - r - 6 * zoom);
    }
  }

  /**
   * Where a story caption points, in CSS px of this canvas: the promise ring of a server, the cache,
   * the datastore, an app server or the viewers. Null before the first frame is drawn.
   */
  anchorPoint(anchor, server) {
    const L = this.L;
    if (!L) return null;
    const box = L.servers[Math.min(L.servers.length - 1, server ?? 0)] || L.servers[0];
    switch (anchor) {
      case "ring": return { x: L.ring.x, y: box.cy, r: 26 };
      case "server": return { x: (box.x0 + box.x1) / 2, y: box.cy, r: Math.max(14, (box.y1 - box.y0) / 2 + 4) };
      case "cache": return { x: (L.cache.x0 + L.cache.x1) / 2, y: L.mid, r: (L.cache.x1 - L.cache.x0) / 2 + 6 };
      // (below: the datastore's state and countdown are written under it: a caption leaves them be)
      case "db": return { x: (L.db.x0 + L.db.x1) / 2, y: L.mid, r: (L.db.x1 - L.db.x0) / 2 + 6,
                          below: Math.max(0, L.db.y1 - L.mid) + (this.T ? this.T(13) + this.T(11) * 2.5 : 40) };
      default: return { x: (L.viewers.x0 + L.viewers.x1) / 2, y: L.mid, r: (L.viewers.x1 - L.viewers.x0) / 2 + 4 };
    }
  }

  /**
   * The place a story caption is about: a ring drawn around it (set by the lab, or null). A retry
   * wave has no counter of its own on the stage: its retries on stage are counted and written by
   * the viewers (times the dot scale).
   */
  drawSpotlight(big, L, T) {
    const spot = this.spotlight;
    const p = spot ? this.anchorPoint(spot.anchor, spot.server) : null;
    if (!p) return;
    const { ctx } = this;
    ctx.strokeStyle = "#0072B2";
    ctx.lineWidth = big ? 4 : 2.5;
    ctx.setLineDash([6, 4]);
    ctx.beginPath(); ctx.arc(p.x, p.y, p.r, 0, Math.PI * 2); ctx.stroke();
    ctx.setLineDash([]);
    const m = spot.moment;
    if (m?.what === "retry_wave" && typeof m.at === "number") {
      const n = this.retriesArrived(m.at, m.until ?? m.at) * this.store.dotScale;
      this.labels.text(`${fmt(n)} ${n === 1 ? "retry" : "retries"} arrived`, (L.viewers.x0 + L.viewers.x1) / 2, L.top + T(12),
                       { px: T(12), weight: "700", color: "#0b4f7a", box: L.narrow ? { x0: 2, x1: L.lanes.servers.x1 } : L.lanes.viewers, wrap: true });
    }
  }

  /** Requests on stage whose retry arrived between `from` and `to` (virtual s, both included). */
  retriesArrived(from, to) {
    let n = 0;
    for (const dot of this.side.dots.values()) {
      if (dot.recent.some((ev) => ev.kind === "arrive" && ev.attempt > 0 && ev.t >= from - 1e-6 && ev.t <= to + 1e-6)) n++;
    }
    return n;
  }

  /**
   * What an intervention may act on at (x, y) CSS px: an app server, the cache or the datastore
   * (their boxes, a few px around), or null.
   */
  regionAt(x, y) {
    const L = this.L;
    if (!L) return null;
    const inside = (b, pad = 4) => x >= b.x0 - pad && x <= b.x1 + pad && y >= b.y0 - pad && y <= b.y1 + pad;
    const i = L.servers.findIndex((b) => inside(b));
    if (i >= 0) return { kind: "server", server: i };
    if (inside(L.cache)) return { kind: "cache" };
    if (inside(L.db) || inside(L.gauge)) return { kind: "db" };
    return null;
  }

  /** The request chosen with the keyboard: a focus ring (Enter opens its lifecycle). */
  drawSelected(big) {
    const v = this.selected !== null ? this.views.get(this.selected) : null;
    if (!v || v.x === undefined) return;
    const { ctx } = this;
    ctx.lineWidth = big ? 3.5 : 2.5;
    ctx.strokeStyle = "#0072B2";
    ctx.setLineDash([]);
    ctx.beginPath(); ctx.arc(v.x, v.y, big ? 15 : 10, 0, Math.PI * 2); ctx.stroke();
  }

  /** Reduced motion has no dots: the viewer's own requests are listed in words instead. */
  drawMineAsText(L, T) {
    const states = [...this.highlighted].map((req) => this.side.dots.get(req)).filter(Boolean)
      .map((d) => `#${d.req} ${STATE_WORDS[d.state] || d.state}`);
    if (!states.length) return;
    this.labels.text(`you: ${states.slice(-3).join(" · ")}`, L.w - 8, L.bottom + T(12) + 2,
                     { px: T(12), weight: "700", color: "#0072B2", align: "right", box: { x0: L.lanes.queue.x0, x1: L.w - 4 } });
  }

  /** One batched path for many dots of one look (squares in the queue fill their grid cell). */
  pathOf(views, look, r, cell) {
    if (!views.length) return;
    const { ctx } = this;
    ctx.beginPath();
    const sq = cell ? Math.max(1.5, cell * 0.8) / 2 : r;
    for (const v of views) {
      const x = v.x, y = v.y;
      switch (look.shape) {
        case "circle": case "ring": ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, Math.PI * 2); break;
        case "diamond": ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r * 1.3, y); ctx.lineTo(x, y + r * 1.3); ctx.lineTo(x - r * 1.3, y); ctx.closePath(); break;
        case "triangle": ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r * 1.2, y + r); ctx.lineTo(x - r * 1.2, y + r); ctx.closePath(); break;
        case "square": case "hollow": ctx.rect(x - sq, y - sq, sq * 2, sq * 2); break;
        case "cross": ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); break;
        case "tick": ctx.moveTo(x - r, y); ctx.lineTo(x - r * 0.2, y + r * 0.8); ctx.lineTo(x + r * 1.1, y - r); break;
      }
    }
    if (look.shape === "ring" || look.shape === "cross" || look.shape === "tick" || look.shape === "hollow") {
      ctx.strokeStyle = look.color; ctx.lineWidth = Math.max(1.3, r * 0.6); ctx.stroke();
    } else {
      ctx.fillStyle = look.color; ctx.fill();
    }
  }

  /** A promise resolved: a pulse runs from the datastore back to the server's ring. */
  drawPulses(now, L, big) {
    const { ctx, side } = this;
    for (const p of side.resolutions) {
      if (p.seq <= this.seenResolution) continue;
      const last = this.lastPulse.get(p.server) || 0;
      if (now - last < PULSE_GAP_MS) continue;
      this.lastPulse.set(p.server, now);
      this.pulses.push({ ...p, start: now });
    }
    this.seenResolution = side.resolved;
    this.pulses = this.pulses.filter((p) => now - p.start < PULSE_MS);
    for (const p of this.pulses) {
      const f = (now - p.start) / PULSE_MS;
      const c = this.ringCenter(L, p.server);
      const x0 = (L.db.x0 + L.db.x1) / 2;
      const x = x0 + (c.x - x0) * Math.min(1, f * 1.6);
      const y = L.mid + (c.y - L.mid) * Math.min(1, f * 1.6);
      ctx.strokeStyle = p.ok === false ? "#000000" : "#0072B2";
      ctx.lineWidth = big ? 4 : 2.5;
      ctx.globalAlpha = 1 - f * 0.7;
      ctx.beginPath(); ctx.arc(x, y, 6 + 18 * f, 0, Math.PI * 2); ctx.stroke();
      ctx.globalAlpha = 1;
    }
    return this.pulses.length > 0;
  }

  /**
   * Reduced motion: no flying dots. The structure already writes the queue, the datastore's load
   * and the cache; the counts of what is moving are written in the free space of their columns.
   */
  drawCounts(L, T) {
    const { labels, side, store } = this;
    const k = store.dotScale;
    const n = (s) => this.buckets[s].length * k;
    const c = side.counts();
    const counts = [
      ["moving", n("travel") + n("hit") + n("miss") + n("fetched"), "#1b1b1f"],
      ["answered", c?.answered ?? 0, "#007A5A"],
      ["failed", (c?.errors ?? 0) + (c?.timeouts ?? 0), "#000000"],
    ];
    // Each count as its word over its number, so a phone's narrow column holds it too.
    // No dots fly here in reduced motion: the counts may use the column up to the servers.
    const box = { x0: 2, x1: L.servers[0].x0 - 3 };
    const x = (box.x0 + box.x1) / 2;
    let y = L.mid - T(12) * 3.4;
    for (const [word, count, color] of counts) {
      const w = labels.text(word, x, y, { px: T(11), color, box, avoid: true });
      const v = labels.text(fmt(count), x, (w ? w.y1 : y) + T(12) + 1, { px: T(12), weight: "700", color, box, avoid: true });
      y = (v ? v.y1 : y) + T(11) + 6;
    }
    this.drawRings(L, T, false);
    if (n("service") && !side.sample) labels.text(`in service: ${fmt(n("service"))}`, (L.db.x0 + L.db.x1) / 2, L.mid, { px: T(11), box: L.lanes.db });
  }

  /** The view nearest to (x, y) in CSS pixels within 10 px, or null; clicks open its lifecycle. */
  dotAt(x, y) {
    let best = null, bestD = 100;
    for (const s of ORDER) for (const v of this.buckets[s]) {
      if (v.x === undefined) continue;
      const d = (v.x - x) ** 2 + (v.y - y) ** 2;
      if (d < bestD) { best = v.dot; bestD = d; }
    }
    return best;
  }

  /**
   * Move the keyboard selection through the dots on stage, left to right (dir +1 / -1); the
   * viewer's own request, then a leader, is chosen first. Returns the selected dot or null.
   */
  select(dir) {
    const shown = ORDER.flatMap((s) => this.buckets[s]).filter((v) => v.x !== undefined && v.dot.endT === null);
    if (!shown.length) { this.selected = null; return null; }
    shown.sort((a, b) => a.x - b.x || a.y - b.y || a.dot.req - b.dot.req);
    const at = shown.findIndex((v) => v.dot.req === this.selected);
    let next;
    if (at < 0) next = shown.find((v) => this.highlighted.has(v.dot.req)) || shown.find((v) => v.dot.leader) || shown[0];
    else next = shown[(at + dir + shown.length) % shown.length];
    this.selected = next.dot.req;
    return next.dot;
  }

  /** The selected dot (or, with none selected, the one select(+1) would choose); null if none. */
  current() {
    const v = this.selected !== null ? this.views.get(this.selected) : null;
    return v ? v.dot : this.select(+1);
  }

  /** What a test or the help text can check: the positions of the dots drawn (CSS px). */
  drawnDots(limit = 50) {
    const out = [];
    for (const s of ORDER) for (const v of this.buckets[s]) {
      if (v.x === undefined) continue;
      out.push([v.x, v.y, v.dot.req, v.dot.state]);
      if (out.length >= limit) return out;
    }
    return out;
  }
}

/**
 * The engine's exact waiting counts per server when the side's latest sample is of the instant
 * shown (after a seek, on a held moment), else null: a sample from before would not match the dots.
 */
export function exactNow(side, store) {
  const s = side.sample;
  return s && Array.isArray(s.waiting) && Math.abs(s.t - store.t) <= 1e-6 ? s.waiting : null;
}

function ringRadius(n, spacing) {
  let r = spacing * 2.4, left = n;
  for (let ring = 0; left > 0 && ring < RING_MAX; ring++) {
    left -= Math.max(6, Math.floor(2 * Math.PI * r / spacing));
    if (left > 0 && ring < RING_MAX - 1) r += spacing;
  }
  return r;       // an upper bound: placeRings may keep rings tighter between close servers
}
