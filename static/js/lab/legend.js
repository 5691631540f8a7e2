// The legend names only what the stage can draw for this run: a promise's ring, a lock's poll, a
// sleeping notify waiter, the marker's outline, a dead server, a slowed datastore. Fourteen entries
// would not fit a projector's row, and an entry for something that never appears only misleads.

/**
 * The optional legend entries (`data-legend` in templates/lab/_lab.html) the stage may draw for
 * these scenarios (the run's, or the next run's before there is one) and what the sides have seen.
 * @param {object[]} scenarios  full or partial nested scenarios (a missing key is its default)
 * @param {import("./side.js").Side[]} sides
 */
export function legendEntries(scenarios, sides) {
  const on = new Set();
  for (const scn of scenarios) {
    if (!scn) continue;
    const coalesce = scn.strategy?.coalesce ?? "none";
    if (coalesce !== "none") on.add("leader");
    if (coalesce === "promise" || coalesce === "distributed") on.add("promise");
    if (coalesce === "lock" || coalesce === "notify") on.add(coalesce);
    if (coalesce === "distributed") on.add("marker");
    if (scn.faults?.leader_dies) on.add("down");
    if ((scn.faults?.slow_db_for_s ?? 0) > 0) on.add("slow");
  }
  for (const side of sides) {
    if (side.deadServers.size) on.add("down");
    if (side.slowWindows.length) on.add("slow");
  }
  return on;
}

/** Show the entries of `on`, hide the other optional ones (the always-there ones have no name). */
export function showLegend(list, on) {
  for (const li of list.querySelectorAll("[data-legend]")) li.hidden = !on.has(li.dataset.legend);
}
