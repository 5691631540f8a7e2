// The stage's fixed parts and their numbers: headings, app servers (a dead one crossed out), the
// cache with its newest key and any "being fetched" marker, the datastore queue (log height, the
// count written on it, the load-shedding limit, the queries it refused or cancelled), the
// datastore (down, overloaded or slowed), its load gauge, the retries a budget refused. Everything
// here is read from the store at the current virtual time; the moving dots are stage.js's business.

import { compact, fmt, plural } from "../format.js";
import { queueBar, queueScale } from "./layout.js";

const INK = "#1b1b1f", EDGE = "#55555f", MUTED = "#5b5b66", SLOW = "#8a5a00";

/**
 * Draw the structure. `g`: {ctx, labels, side, store, L, scn, T (type size for a base px), lw,
 * narrow, shake, spot (the story's spotlight: {anchor, server, moment}, or null)}. Returns
 * nothing; labels are recorded in `g.labels`.
 */
export function drawStructure(g) {
  drawHeadings(g);
  drawArrows(g);
  drawServers(g);
  drawCache(g);
  drawQueue(g);
  drawDatastore(g);
  drawGauge(g);
  drawViewerNotes(g);
}

function drawHeadings({ labels, store, L, T, narrow }) {
  const y = T(12) + 2;
  // A phone's viewers column is too narrow for "1,000,000": it says "1M".
  const count = narrow && store.viewers >= 100_000 ? compact(store.viewers) : fmt(store.viewers);
  const viewers = store.viewers ? `${count} ${plural(store.viewers, "viewer")}` : "viewers";
  const heads = narrow
    ? [[viewers, L.viewers, "viewers"], ["servers", L.servers[0], "servers"], ["cache", L.cache, "cache"],
       ["queue", L.queue, "queue"], ["DB", L.db, "db"]]
    : [[viewers, L.viewers, "viewers"], ["app servers", L.servers[0], "servers"], ["cache", L.cache, "cache"],
       ["datastore queue", L.queue, "queue"], ["datastore", L.db, "db"]];
  for (const [text, c, lane] of heads) {
    labels.text(text, (c.x0 + c.x1) / 2, y, { px: T(12), weight: "600", box: L.lanes[lane], wrap: true });
  }
}

function drawArrows({ ctx, L }) {
  ctx.strokeStyle = "#c9c9cf";
  ctx.lineWidth = 1.2;
  ctx.beginPath();
  const arrow = (x0, x1) => {
    if (x1 - x0 < 12) return;
    ctx.moveTo(x0, L.mid); ctx.lineTo(x1, L.mid); ctx.moveTo(x1 - 6, L.mid - 4); ctx.lineTo(x1, L.mid); ctx.lineTo(x1 - 6, L.mid + 4);
  };
  arrow(L.viewers.x1 + 4, L.servers[0].x0 - 4);
  arrow(L.ring.x + 8, L.cache.x0 - 4);
  arrow(L.cache.x1 + 4, L.queue.x0);
  ctx.stroke();
}

function drawServers({ ctx, labels, side, L, T, lw }) {
  L.servers.forEach((b, i) => {
    const dead = side.deadServers.has(i);
    ctx.fillStyle = dead ? "#d4d4d8" : "#eef1f6";
    ctx.strokeStyle = dead ? "#8a8a92" : EDGE;
    ctx.lineWidth = lw;
    if (dead) ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.rect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0); ctx.fill(); ctx.stroke();
    ctx.setLineDash([]);
    if (dead) {                       // crossed out: it died, and everything it held died with it
      ctx.strokeStyle = "#000000"; ctx.lineWidth = lw * 1.6;
      ctx.beginPath(); ctx.moveTo(b.x0, b.y0); ctx.lineTo(b.x1, b.y1); ctx.moveTo(b.x1, b.y0); ctx.lineTo(b.x0, b.y1); ctx.stroke();
    }
    const box = { x0: b.x0 + 2, x1: b.x1 - 2 };
    const h = b.y1 - b.y0;
    if (h >= T(11) * (dead ? 2.6 : 1.3)) {
      labels.text(`S${i + 1}`, (b.x0 + b.x1) / 2, b.cy + (dead ? -2 : T(11) * 0.35), { px: T(11), weight: "600", box });
      if (dead) labels.text("down", (b.x0 + b.x1) / 2, b.cy + T(11), { px: T(11), weight: "700", box });
    }
  });
  const dead = side.deadServers.size;
  if (dead && L.servers[0].y1 - L.servers[0].y0 < T(11) * 2.6) {
    // Too many servers to write on each: say it under the stack.
    const first = [...side.deadServers.keys()][0];
    labels.text(dead === 1 ? `S${first + 1} died` : `${dead} servers died`, (L.servers[0].x0 + L.servers[0].x1) / 2,
                L.servers[L.servers.length - 1].y1 + T(11) + 4, { px: T(11), weight: "700", box: L.lanes.servers });
  }
}

function drawCache({ ctx, labels, side, store, L, scn, T, lw, spot }) {
  const c = L.cache, cx = (c.x0 + c.x1) / 2;
  const marker = side.lastKey !== null ? side.markers.get(side.lastKey) : side.markers.values().next().value;
  ctx.fillStyle = "#eaf6f1"; ctx.strokeStyle = EDGE; ctx.lineWidth = lw;
  ctx.beginPath(); ctx.rect(c.x0, c.y0, c.x1 - c.x0, c.y1 - c.y0); ctx.fill(); ctx.stroke();
  const inside = { x0: c.x0 + 3, x1: c.x1 - 3 };
  if (scn.cache && scn.cache.enabled === false) {
    labels.text("off", cx, L.mid, { px: T(11), box: inside });
  } else if (side.lastKey !== null) {
    const state = side.keyState(side.lastKey, store.t);
    labels.text(side.lastKey, cx, L.mid - T(11) * 0.4, { px: T(11), box: inside });
    const words = { fresh: "✓ cached", empty: "empty", expired: "expired", stale: "stale (served)" }[state];
    labels.text(words, cx, L.mid + T(11) * 1.1, { px: T(11), weight: state === "fresh" ? "700" : "", box: inside, wrap: true,
                                                   color: state === "fresh" ? "#007A5A" : INK });
  } else labels.text("empty", cx, L.mid, { px: T(11), box: inside });
  let y = c.y1 + T(11) + 3;
  // The herd first (the story may be about it): how many requests that missed a key are still
  // waiting for it (the engine's exact count, shown when the page has a sample of the very
  // instant drawn: a held moment, a seek), for the key the story points at, else the newest.
  const key = spot?.moment?.what === "herd_peak" ? spot.moment.key : side.lastKey;
  const now = side.sample && Math.abs(side.sample.t - store.t) <= 1e-6;
  const herd = now && key !== null && key !== undefined ? side.sample.herds?.[key] : 0;
  if (herd > 0) {
    // Whole if it fits, else shorter (a phone's cache lane is narrow).
    const style = { px: T(11), weight: "700", color: "#8a4b00", box: L.lanes.cache, wrap: true, avoid: true };
    const text = [`${fmt(herd)} waiting for ${key}`, `${compact(herd)} waiting for ${key}`, `${fmt(herd)} waiting`]
      .find((x) => labels.fits(x, style)) ?? `${compact(herd)} waiting`;
    const l = labels.text(text, cx, y, style);
    if (l) y = l.y1 + T(11) + 2;
  }
  const hits = side.sample?.cache_hits;
  if (hits !== undefined) {
    const l = labels.text(`${fmt(hits)} ${plural(hits, "hit")}`, cx, y, { px: T(11), box: L.lanes.cache, avoid: true });
    if (l) y = l.y1 + T(11);
  }
  if (marker) drawMarker({ ctx, labels, side, store, L, T }, marker, y);
}

/** The shared "being fetched" marker: who holds it, whether its holder died, its lease. */
function drawMarker({ ctx, labels, side, store, L, T }, marker, y) {
  const c = L.cache, cx = (c.x0 + c.x1) / 2;
  const dead = side.deadServers.has(marker.server);
  const leaseLeft = marker.leaseEnd - store.t;
  ctx.beginPath(); ctx.strokeStyle = "#0072B2"; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
  ctx.rect(c.x0 - 3, c.y0 - 3, c.x1 - c.x0 + 6, c.y1 - c.y0 + 6); ctx.stroke(); ctx.setLineDash([]);
  const holder = `S${marker.server + 1}`;
  const line1 = marker.takenFrom !== null && marker.takenFrom !== undefined
    ? `⚑ marker: ${holder} took over` : `⚑ marker: ${holder}${dead ? " (down)" : ""}`;
  const line2 = leaseLeft > 0 ? (dead ? `lease ends in ${leaseLeft.toFixed(1)} s` : "") : "lease ran out";
  const l1 = labels.text(line1, cx, y, { px: T(11), weight: "700", color: "#0b4f7a", box: L.lanes.cache, wrap: true });
  if (line2) labels.text(line2, cx, l1.y1 + T(11) + 2, { px: T(11), color: "#0b4f7a", box: L.lanes.cache, wrap: true });
}

function drawQueue({ ctx, labels, side, store, L, scn, T, lw }) {
  const q = side.sample?.queued ?? 0;
  const { bar, top, ticks } = queueBar(L, q, store.viewers || 1, T(10));
  const hgt = bar.y1 - bar.y0;
  // The scale: powers of ten on a log axis, so the pile's height reads as a number.
  ctx.strokeStyle = "#d6d6dc"; ctx.lineWidth = 1;
  ctx.beginPath();
  const every = Math.ceil(ticks.length / Math.max(1, Math.floor(hgt / (T(10) * 1.6))));
  ticks.forEach((tick, i) => {
    const y = bar.y1 - tick.frac * hgt;
    ctx.moveTo(bar.x0 - 3, y); ctx.lineTo(bar.x1, y);
    if (i % every === 0) labels.text(compactCount(tick.n), bar.x0 - 5, y + T(10) * 0.35, { px: T(10), color: MUTED, align: "right", box: { x0: L.queue.x0 - 2, x1: bar.x0 - 4 } });
  });
  ctx.stroke();
  ctx.fillStyle = q > 0 ? "#fbe3d3" : "#ffffff";
  ctx.strokeStyle = q > 0 ? "#D55E00" : "#c9c9cf"; ctx.lineWidth = lw;
  ctx.beginPath(); ctx.rect(bar.x0, top, bar.x1 - bar.x0, bar.y1 - top); ctx.fill();
  if (q > 0) ctx.stroke();
  const limit = scn.datastore?.queue_limit || 0;
  if (limit > 0) {                 // load shedding: the queue never grows past this line
    const y = bar.y1 - queueScale(limit, store.viewers || 1).frac * hgt;
    ctx.strokeStyle = "#1b1b1f"; ctx.lineWidth = lw * 1.4; ctx.setLineDash([6, 3]);
    ctx.beginPath(); ctx.moveTo(bar.x0 - 3, y); ctx.lineTo(bar.x1, y); ctx.stroke(); ctx.setLineDash([]);
    labels.text(`limit ${fmt(limit)}`, bar.x1, y - 3, { px: T(10), weight: "700", align: "right", box: { x0: L.queue.x0, x1: bar.x1 }, avoid: true });
  }
  labels.text(`${fmt(q)} queued`, (L.queue.x0 + L.queue.x1) / 2, L.queue.y1, {
    px: T(12), weight: "700", color: q > 0 ? "#B34700" : MUTED, box: L.lanes.queue, wrap: true, upward: true });
  // What left the queue unserved, under its heading: refused at the door (down, or the queue was
  // full) and cancelled while waiting (every client waiting for the query had given up).
  let y = T(12) * 2 + 6;
  for (const [n, word] of [[side.sample?.db_rejected, "refused"], [side.sample?.db_cancelled, "cancelled"]]) {
    if (!(n > 0)) continue;
    // Whole if it fits, else the number in short, else shorter still (a phone's queue is narrow).
    const style = { px: T(10), color: MUTED, box: L.lanes.queue, avoid: true };
    const text = [`${fmt(n)} ${word}`, `${compact(n)} ${word}`].find((x) => labels.fits(x, style)) ?? `${roughly(n)} ${word}`;
    const l = labels.text(text, (L.queue.x0 + L.queue.x1) / 2, y, style);
    if (l) y = l.y1 + T(10) * 0.85;
  }
}

/** A count to two significant figures at most ("230k", "1.2M"), for the narrowest lanes. */
function roughly(n) {
  return compact(Number(n.toPrecision(2)));
}

function drawDatastore({ ctx, labels, side, store, L, scn, T, lw, shake }) {
  const d = L.db, s = side.sample || {}, dx = (d.x0 + d.x1) / 2;
  const state = side.db.state, down = state === "down";
  const slow = side.slowAt(store.t);
  ctx.save();
  ctx.translate(shake, 0);
  ctx.fillStyle = down ? "#d4d4d8" : "#f7eef3";
  ctx.strokeStyle = down ? "#8a8a92" : state === "overloaded" ? "#D55E00" : EDGE;
  ctx.lineWidth = state === "overloaded" ? lw * 2 : lw;
  ctx.beginPath(); ctx.rect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0); ctx.fill(); ctx.stroke();
  if (slow && !down) hatch(ctx, d, "rgba(230, 159, 0, 0.45)");      // slowed: every query takes longer
  ctx.restore();
  const conns = scn.datastore?.connections;
  labels.text(`${fmt(s.in_service ?? 0)}${conns ? ` / ${fmt(conns)}` : ""} busy`, dx, d.y0 + T(11) + 3, { px: T(11), box: { x0: d.x0 + 3, x1: d.x1 - 3 }, wrap: true });
  const words = { up: "UP", overloaded: "OVERLOADED", down: "DOWN" }[state] || String(state).toUpperCase();
  const color = down ? "#5b5b66" : state === "overloaded" ? "#B34700" : "#007A5A";
  const l = labels.text(words, dx, d.y1 + T(13) + 2, { px: T(13), weight: "700", color, box: L.lanes.dbFoot });
  let y = l.y1 + T(11) + 3;
  if (down && side.db.recoverAt !== null) {
    const back = labels.text(`back in ${Math.max(0, side.db.recoverAt - store.t).toFixed(1)} s`, dx, y, { px: T(11), color, box: L.lanes.dbFoot });
    y = back.y1 + T(11) + 2;
  }
  if (slow) {
    const left = Number.isFinite(slow.until) ? ` · ${(slow.until - store.t).toFixed(1)} s left` : "";
    labels.text(`slowed ×${+slow.factor.toFixed(1)}${left}`, dx, y, { px: T(11), weight: "700", color: SLOW, box: L.lanes.dbFoot, wrap: true, avoid: true });
  }
}

/** Diagonal stripes over a box: the datastore is slowed (the charts shade the same stretch). */
function hatch(ctx, b, color) {
  ctx.save();
  ctx.beginPath(); ctx.rect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0); ctx.clip();
  ctx.strokeStyle = color; ctx.lineWidth = 3;
  ctx.beginPath();
  for (let x = b.x0 - (b.y1 - b.y0); x < b.x1; x += 10) { ctx.moveTo(x, b.y1); ctx.lineTo(x + (b.y1 - b.y0), b.y0); }
  ctx.stroke();
  ctx.restore();
}

function drawGauge({ ctx, labels, side, L, T, lw }) {
  const g = L.gauge, u = Math.max(0, Math.min(1, side.sample?.utilisation ?? 0));
  ctx.strokeStyle = EDGE; ctx.lineWidth = lw; ctx.fillStyle = "#ffffff";
  ctx.beginPath(); ctx.rect(g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0); ctx.fill(); ctx.stroke();
  ctx.fillStyle = u < 0.7 ? "#009E73" : u < 0.95 ? "#E69F00" : "#D55E00";
  const gh = (g.y1 - g.y0) * u;
  ctx.fillRect(g.x0 + 1, g.y1 - gh, g.x1 - g.x0 - 2, gh);
  if (L.narrow) {         // no room beside the gauge on a phone: its number goes above it
    labels.text(`${Math.round(u * 100)}%`, g.x1, g.y0 - 4, { px: T(11), weight: "700", align: "right", box: L.lanes.gauge });
    return;
  }
  const l = labels.text(`${Math.round(u * 100)}%`, g.x1 + 4, g.y0 + T(11), { px: T(11), weight: "700", align: "left", box: L.lanes.gauge });
  labels.text("load", g.x1 + 4, l.y1 + T(11) + 2, { px: T(11), align: "left", box: L.lanes.gauge });
}

function drawViewerNotes({ labels, side, store, L, T, narrow }) {
  const vx = (L.viewers.x0 + L.viewers.x1) / 2;
  let y = L.bottom + T(11) + 2;
  if (store.dotScale > 1 && !narrow) {              // a phone's column has no room: the caption says it
    const l = labels.text(`each dot = ${fmt(store.dotScale)} viewers`, vx, y, { px: T(11), weight: "700", box: L.lanes.viewers, wrap: true, upward: true });
    y = l.y0 - 4;
  }
  // The retry budget at work: clients whose retry it refused end with their failure. A phone's
  // viewers column is a sliver: it says so under the viewers and servers, in fewer words.
  const denied = side.sample?.retries_denied;
  if (denied > 0) {
    const box = narrow ? { x0: 2, x1: L.lanes.servers.x1 } : L.lanes.viewers;
    const style = { px: T(11), weight: "700", box, wrap: true, upward: true, avoid: true };
    const retries = plural(denied, "retry", "retries");
    const text = [`${fmt(denied)} ${retries} refused by the budget`, `${fmt(denied)} ${retries} refused`]
      .find((x) => labels.fits(x, style)) ?? `${compact(denied)} ${retries} refused`;
    labels.text(text, narrow ? (box.x0 + box.x1) / 2 : vx, y, style);
  }
}

/** 1 000 000 → "1M", 10 000 → "10k": a scale's ticks. */
function compactCount(n) {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}
