// Where everything on the stage sits, from the canvas size and the number of app servers: the
// columns (viewers → app servers → cache → datastore queue → datastore), the heading row and the
// room each column's labels may use. Pure: numbers in, boxes out, nothing drawn.

/** Column spans as fractions of the width, left to right; a phone gives the boxes more room. */
const COLUMNS = {
  viewers: [0.012, 0.135], servers: [0.19, 0.27], cache: [0.38, 0.495], queue: [0.545, 0.745],
  db: [0.755, 0.86], gauge: [0.872, 0.892],
};
const NARROW = {
  viewers: [0.01, 0.115], servers: [0.14, 0.215], cache: [0.3, 0.46], queue: [0.49, 0.665],
  db: [0.68, 0.88], gauge: [0.9, 0.935],
};

/**
 * @param {number} w  CSS pixels
 * @param {number} h
 * @param {number} servers  app servers (≥ 1)
 * @param {{head: number, foot: number, narrow: boolean}} room  heights kept for the headings (two
 *   lines) and the labels under the columns; `narrow`: a phone's canvas
 */
export function layout(w, h, servers, room) {
  const cols = room.narrow ? NARROW : COLUMNS;
  const top = room.head + 6, bottom = h - room.foot, mid = (top + bottom) / 2, span = bottom - top;
  const col = (name) => ({ x0: w * cols[name][0], x1: w * cols[name][1] });
  const srv = col("servers"), cache = col("cache"), queue = col("queue"), db = col("db"), gauge = col("gauge");
  const viewers = col("viewers");
  const gap = Math.min(10, span / (servers * 4));
  const sh = Math.max(4, Math.min(120, (span - gap * (servers - 1)) / servers));
  const stackTop = mid - (sh * servers + gap * (servers - 1)) / 2;
  const serverBoxes = Array.from({ length: servers }, (_, i) => {
    const y0 = stackTop + i * (sh + gap);
    return { x0: srv.x0, x1: srv.x1, y0, y1: y0 + sh, cy: y0 + sh / 2 };
  });
  const ringX = srv.x1 + Math.min(46, w * 0.045);
  // Label room per column: from halfway to the previous column to halfway to the next one.
  const half = (a, b) => (a.x1 + b.x0) / 2;
  const lanes = {
    viewers: { x0: 2, x1: half(viewers, srv) },
    servers: { x0: half(viewers, srv), x1: ringX - 4 },
    ring: { x0: srv.x1 + 2, x1: cache.x0 - 4 },
    cache: { x0: half(srv, cache) + (ringX - srv.x1), x1: half(cache, queue) },
    queue: { x0: half(cache, queue), x1: half(queue, db) },
    db: { x0: half(queue, db), x1: (db.x1 + gauge.x0) / 2 },
    dbFoot: { x0: half(queue, db), x1: w - 2 },          // under the datastore and its gauge
    gauge: room.narrow ? { x0: db.x1 + 2, x1: w - 2 } : { x0: gauge.x1 + 3, x1: w - 2 },
  };
  return {
    w, h, top, bottom, mid, lanes, narrow: !!room.narrow,
    viewers,
    servers: serverBoxes,
    ring: { x: ringX },
    cache: { ...cache, y0: mid - span * 0.3, y1: mid + span * 0.3 },
    queue: { ...queue, y0: top + 4, y1: bottom - 2 },
    db: { ...db, y0: mid - span * 0.32, y1: mid + span * 0.32 },
    gauge: { ...gauge, y0: mid - span * 0.32, y1: mid + span * 0.32 },
  };
}

/**
 * The datastore queue's bar for `n` queued queries: the scale's column (`bar`), the pile's top
 * edge and its ticks. The structure draws it; the stage piles the queued requests inside it.
 */
export function queueBar(L, n, viewers, tickPx) {
  const gutter = Math.max(24, tickPx * 2.8);
  const bar = { x0: L.queue.x0 + gutter, x1: L.queue.x1, y0: L.queue.y0 + tickPx * 1.7, y1: L.queue.y1 - tickPx * 1.7 };
  const { frac, ticks } = queueScale(n, viewers);
  const top = bar.y1 - frac * (bar.y1 - bar.y0);
  return { bar, top, ticks, pile: { x0: bar.x0 + 1, x1: bar.x1 - 1, y0: top + 1, y1: bar.y1 - 1 } };
}

/**
 * The queue's height for `n` queued queries: logarithmic, so 40 and 9,062 look different at a
 * glance while one query still shows. `max` is the largest queue the run could hold (its viewers).
 * Returns the fraction of the column (0..1) and the powers of ten to mark on its scale.
 */
export function queueScale(n, max) {
  const top = Math.max(100, 10 ** Math.ceil(Math.log10(Math.max(1, max))));
  const frac = n > 0 ? Math.min(1, Math.log10(1 + n) / Math.log10(1 + top)) : 0;
  const ticks = [];
  for (let p = 1; p <= top; p *= 10) ticks.push({ n: p, frac: Math.log10(1 + p) / Math.log10(1 + top) });
  return { frac, ticks };
}
