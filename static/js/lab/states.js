// The one table from engine event kinds to what a request is doing ("dot state"), and the words
// for each state. The store applies it to every request it animates; the stage draws the states;
// a classroom phone describes the student's own requests with the same words. Nothing else maps
// event kinds to states (docs/events.md is the vocabulary).

/** Dot states (the visual vocabulary of ui.md). */
export const STATE = Object.freeze({
  travel: "travel", hit: "hit", miss: "miss", wait: "wait", marker: "marker", poll: "poll",
  queued: "queued", service: "service", fetched: "fetched", ok: "ok", failed: "failed",
});

/** Event kind → the state it puts its request in. Kinds absent here leave the state alone. */
const KIND_STATE = {
  arrive: STATE.travel, retry: STATE.travel, cache_hit: STATE.hit, stale_served: STATE.hit,
  cache_miss: STATE.miss, fetch_start: STATE.miss, promise_wait: STATE.wait, marker_wait: STATE.marker,
  lock_wait: STATE.poll, lock_poll: STATE.poll, db_queued: STATE.queued, db_started: STATE.service,
  db_finished: STATE.fetched, db_rejected: STATE.failed, db_failed: STATE.failed, timeout: STATE.failed,
};

/** Kinds about one datastore query: they move a request only while that query is its own fetch. */
const QUERY_KINDS = new Set(["db_queued", "db_started", "db_finished", "db_rejected", "db_failed"]);

/** Plain words for each state: the stage's reduced-motion text, the phone's list, the lifecycle. */
export const STATE_WORDS = Object.freeze({
  travel: "on its way", hit: "cache hit", miss: "missed the cache", wait: "waiting on a promise",
  marker: "waiting on another server's fetch", poll: "polling the lock", queued: "queued at the datastore",
  service: "at the datastore", fetched: "fetched, on its way back", ok: "answered", failed: "failed",
});

/** What a fetch's role means (`role` of fetch_start; "direct" is a fetch with no coalescing). */
export const ROLE_WORDS = Object.freeze({
  leader: "leader: fetches for the requests waiting on it", direct: "fetches for itself only",
  refresh: "background refresh (stale-while-revalidate)", early_refresh: "early refresh (XFetch)",
});

/**
 * The state `ev` puts `dot` in, or null when it changes nothing. Also keeps the few facts the
 * state's drawing needs (the attempt, its own query, whether it leads, whom it waits on).
 * A request that has responded never changes again: a background refresh it triggered, or the
 * answer of a query its dead server sent, belongs to no one on the stage.
 * @param {object} dot   the request's dot in the store (mutated)
 * @param {object} ev    a decoded event of that request
 * @param {string} coalesce  the side's `strategy.coalesce` ("none": a fetch leads no one)
 */
export function applyEvent(dot, ev, coalesce) {
  if (dot.endT !== null) return null;
  const kind = ev.kind;
  switch (kind) {
    case "arrive": case "retry":
      dot.attempt = ev.attempt ?? dot.attempt;
      dot.query = null; dot.leader = false; dot.role = null; dot.waitsOn = null;
      break;
    case "fetch_start":
      dot.query = ev.query;
      dot.role = ev.role === "leader" && coalesce === "none" ? "direct" : ev.role;
      dot.leader = dot.role === "leader";
      break;
    case "promise_wait": dot.waitsOn = { req: ev.leader }; break;
    case "marker_wait": dot.waitsOn = { server: ev.leader_server }; break;
    case "lock_poll": dot.polled = (dot.polled || 0) + 1; break;
    case "respond":
      dot.endT = ev.t;
      dot.status = ev.status;
      dot.latency = ev.latency_ms;
      dot.source = ev.source ?? null;
      return ev.status === "ok" ? STATE.ok : STATE.failed;
  }
  if (QUERY_KINDS.has(kind) && (dot.query === null || ev.query !== dot.query)) return null;
  return KIND_STATE[kind] ?? null;
}

/** One request in words, for a phone's "my requests" list: its state and what it waits for. */
export function describeDot(dot) {
  if (dot.endT !== null) {
    const ms = Math.round(dot.latency ?? 0).toLocaleString("en-US");
    if (dot.status === "ok") return `answered in ${ms} ms (from the ${SOURCE_WORDS[dot.source] ?? dot.source ?? "server"})`;
    return dot.status === "timeout" ? `timed out after ${ms} ms` : `failed after ${ms} ms`;
  }
  if (dot.state === STATE.miss && dot.leader) return "you lead the fetch: the others wait on you";
  if (dot.state === STATE.wait && dot.waitsOn?.req !== undefined) return `waiting on request ${dot.waitsOn.req}'s promise`;
  if (dot.state === STATE.marker && dot.waitsOn?.server !== undefined) return `waiting on server S${dot.waitsOn.server + 1}'s fetch`;
  return STATE_WORDS[dot.state] ?? dot.state;
}

/** Where an answer came from (`respond.source`), in words. */
const SOURCE_WORDS = { cache: "cache", db: "datastore", promise: "promise", lock: "cache, after the lock",
                       marker: "cache, after the marker", stale: "cache, stale" };
