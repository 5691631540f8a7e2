"""What a run will cost before it runs: an upper-bound-ish count of loop steps, and the keys to
blame. A server uses it to refuse, up front and with a clear message, a scenario whose *work*
(not its size) is too much -- lock waiters polling every millisecond while each query takes a
minute are 300 viewers, but billions of steps.

The estimate adds up, for the worst case the scenario allows, the steps the loop can take:

- every attempt (a request, and each retry, if an attempt can fail at all: by a timeout, a
  fault, or a datastore that can hold enough queries to crash or fill its queue) arrives,
  finishes its cache lookup (and, on a miss, reaches its strategy a round trip later), may
  time out and may wait for one query of its own (or be refused one by the pool timeout);
- a lock waiter polls every ``lock_poll_ms`` until the value is there (with ``notify`` it is
  woken instead: once, plus once per lease while it waits) -- for as long as a fetch
  can take, or a lease if the leader can die, or, when the TTL is shorter than a fetch or a
  poll (the value expires before anyone sees it), until every other waiter of its herd has
  fetched in turn;
- a server waiting on another server's marker polls every ``marker_poll_ms`` likewise, once per
  herd;
- a sample every ``sample_interval_s`` until the last request can have ended (its retries'
  longest backoffs included).

Lessons 12 to 14's features: a request that waits on another's fetch may give up and fetch
itself (``wait_timeout_ms``: one more step, and the coalescing no longer bounds the queries),
as may every miss of a hit-for-pass key; an answer "not found" (``ask_early_s``) is a failure
that retries; a private answer is never cached, so a lock's waiters fetch one after another
(as when the TTL is shorter than a fetch) and a notifying lock wakes every waiter after each of
those fetches; and with ``cache.shard_ops_per_s`` the last lookup can wait behind every
operation the cache is asked to do, one shard's worth of service each.

With inputs (engine/inputs.py), it is the worst of the scenarios the run can be in -- the
given one, and the one after each ``set`` in time order -- each made as costly as the inputs can
make it: a killed server is counted as ``faults.leader_dies`` (attempts fail and retry, a lease
can block a key), the largest ``slow_db`` factor as a slowdown over the whole run, each expired
or deleted key as one more herd; an injected request costs what an average request of that
scenario does; plus a step per input, and the samples up to the last one.

It is meant to be at least the real count for every scenario the engine's tests draw, and within
a small factor of it for the presets (tests/engine/test_engine_cost.py checks both).
"""
import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

from webapp.engine.inputs import check_inputs
from webapp.engine.scenario import Clients, Scenario

MAX_CONTENTION_LOAD = 11.0       # as in datastore.py: the slow-down stops growing there
_TAIL = {"constant": 1.0, "exponential": 8.0}      # a slow query, in mean service times
# (lognormal: exp(3 sigma))
_SHARE = 0.8                     # explain_cost names the parts making up this share


@dataclass(frozen=True)
class _Part:
    steps: float
    keys: tuple[str, ...]
    why: str


def _herd_size(c: Clients, horizon_s: float) -> float:
    """How many viewers of ``count`` can arrive within ``horizon_s``."""
    if c.arrival != "poisson":
        return c.count
    mean = c.rate_per_s * horizon_s
    return min(c.count, mean + 5.0 * math.sqrt(mean) + 10.0)


def retry_delay_bound_s(c: Clients, retry: int) -> float:
    """The longest backoff before retry number ``retry`` (strategies/backoff.py)."""
    if c.backoff == "none":
        return 0.0
    if c.backoff == "fixed":
        return c.backoff_base_ms / 1000.0
    return min(c.backoff_cap_ms, c.backoff_base_ms * 2 ** (retry - 1)) / 1000.0


def _requests(s: Scenario) -> tuple[int, float, float]:
    """(herds, requests per herd, requests in all) the workload can make."""
    w = s.workload
    live = w.kind == "live_video"
    herds = math.ceil(s.duration_s / w.segment_s - 1e-9) if live else 1
    per_herd = _herd_size(s.clients, min(w.segment_s, s.duration_s) if live else s.duration_s)
    return herds, per_herd, herds * per_herd


def _parts(s: Scenario, extra_herds: int = 0) -> list[_Part]:
    c, d, st, w = s.clients, s.datastore, s.strategy, s.workload
    live = w.kind == "live_video"
    herds, per_herd, requests = _requests(s)

    # How many queries can be in the datastore at once, and so how slow each one can get.
    keys_active = 2 if live else w.keys          # a chunk's fetch may overlap the next one's
    extra = keys_active if (st.stale_while_revalidate or st.early_refresh_beta) else 0
    leaders = s.servers.count if st.coalesce == "promise" else 1
    # Hit-for-pass and a wait timeout let misses past the coalescing to query on their own.
    bypass = st.hit_for_pass_s > 0 or st.wait_timeout_ms > 0
    per_try = requests if st.coalesce == "none" or bypass else min(requests,
                                                         leaders * keys_active + extra)
    # An attempt fails (and retries) only by timing out, by a fault, or at a datastore that
    # can hold enough queries to overload or fill its queue (XFetch's readers refresh without
    # coordinating: any number of them at once).
    most = requests if st.early_refresh_beta else per_try
    can_fail = (c.timeout_s > 0 or s.faults.fail_fetch or s.faults.leader_dies
                or w.ask_early_s > 0
                or (d.crash and most >= d.overload_queue)
                or (d.queue_limit and most > d.queue_limit))
    tries = 1 + c.retries if can_fail else 1
    attempts = requests * tries
    queries = min(attempts, most * tries)
    service_s = d.service_ms / 1000.0 * (s.faults.slow_factor if s.faults.slow_db_for_s else 1.0)
    load = min(max(queries / d.connections, 1.0), MAX_CONTENTION_LOAD)
    slowdown = 1.0 + d.contention * (load - 1.0)
    tail = _TAIL.get(d.service_dist, math.exp(3.0 * d.lognormal_sigma))
    query_s = service_s * tail * slowdown                          # one slow query
    backlog_s = queries * service_s * slowdown / d.connections    # all of them, queued
    if w.private and st.coalesce in ("lock", "notify"):
        backlog_s = queries * service_s * slowdown                   # one fetch at a time
    if d.queue_limit:
        backlog_s = min(backlog_s, (d.queue_limit / d.connections + 1) * service_s * slowdown
                        * tries)
    fetch_s = query_s + (st.lease_ms / 1000.0 if s.faults.leader_dies else 0.0)

    per_attempt = (2 + (c.timeout_s > 0) + 2 * (s.cache.enabled and s.cache.lookup_ms > 0)
                   + (st.wait_timeout_ms > 0))
    parts = [_Part(attempts * per_attempt, ("clients.count", "clients.retries") if c.retries
                   else ("clients.count",), f"{attempts:,.0f} attempts")]
    if live:
        parts[0] = _Part(parts[0].steps, parts[0].keys + ("workload.segment_s",),
                         f"{attempts:,.0f} attempts over {herds} chunks")

    if st.coalesce == "lock":
        poll_s = st.lock_poll_ms / 1000.0
        wait_s = fetch_s
        if s.cache.ttl_s < max(fetch_s, poll_s) or w.private:
            # The value expires before the waiters see it: each fetches in turn, at a poll.
            wait_s = fetch_s + (2.0 * service_s * slowdown + poll_s) * per_herd * tries
        polls = attempts * (wait_s / poll_s + 1)
        parts.append(_Part(polls, ("strategy.lock_poll_ms", "datastore.service_ms"),
                           f"lock waiters poll every {st.lock_poll_ms:g} ms while a fetch can "
                           f"take {wait_s:,.1f} s"))
    elif st.coalesce == "notify":
        # A waiter wakes once when the value arrives, at most once more when a failing holder
        # hands it the lock, and once per lease while holders keep it waiting.
        lease_s = st.lease_ms / 1000.0
        wait_s = backlog_s + fetch_s
        wakes = attempts * (3 + wait_s / lease_s)
        if w.private:
            # Nothing is cached: each of the herd's fetches, in turn, wakes every waiter.
            wakes += attempts * per_herd * tries
        parts.append(_Part(wakes, ("clients.count", "strategy.lease_ms"),
                           f"lock waiters are woken (once, or once per {st.lease_ms:g} ms lease "
                           f"while a fetch can take {wait_s:,.1f} s)"))
    elif st.coalesce == "distributed":
        episodes = herds * (1 if live else w.keys * (s.duration_s / s.cache.ttl_s + 1))
        episodes += extra_herds
        polls = (min(episodes, requests) * s.servers.count
                 * (fetch_s / (st.marker_poll_ms / 1000.0) + 1))
        parts.append(_Part(polls, ("strategy.marker_poll_ms", "datastore.service_ms"),
                           f"servers poll a marker every {st.marker_poll_ms:g} ms while a fetch "
                           f"can take {fetch_s:,.1f} s"))

    # The last request can end this long after the last arrival.
    retry_wait_s = sum(retry_delay_bound_s(c, n) for n in range(1, tries))
    drain_s = (min(c.timeout_s * tries, backlog_s) if c.timeout_s else backlog_s)
    drain_s = max(drain_s, backlog_s) + retry_wait_s + query_s + fetch_s
    if s.cache.shard_ops_per_s:
        # The last lookup can queue behind every operation asked of the cache: the lookups,
        # a write per query at each copy, and a read and a claim per poll or wake-up.
        polls = sum(p.steps for p in parts[1:])
        ops = attempts + queries * s.cache.replicas + 2 * polls
        drain_s += ops / s.cache.shard_ops_per_s
    if d.crash:
        drain_s += d.recovery_s * tries
    samples = (s.duration_s + drain_s) / s.sample_interval_s + 2
    parts.append(_Part(samples, ("sample_interval_s", "duration_s"),
                       f"a sample every {s.sample_interval_s:g} s for up to "
                       f"{s.duration_s + drain_s:,.1f} s"))
    return parts


def _with_inputs(s: Scenario, inputs: Sequence[Any]) -> list[_Part]:
    """The parts of the costliest scenario the inputs can put the run in."""
    if not inputs:
        return _parts(s)
    inputs = check_inputs(s, inputs)
    kinds = [record["kind"] for record in inputs]
    injects, herds = kinds.count("inject"), kinds.count("expire_key") + kinds.count("delete_key")
    factor = max([record["factor"] for record in inputs if record["kind"] == "slow_db"],
                 default=1.0)
    variants, current = [s], s
    for record in sorted(inputs, key=lambda r: r["t"]):
        if record["kind"] == "set":
            section, leaf = record["key"].split(".")
            current = replace(current, **{section: replace(getattr(current, section),
                                                           **{leaf: record["value"]})})
            variants.append(current)
    worst: list[_Part] = []
    for v in variants:
        faults = v.faults
        if "kill_server" in kinds:
            faults = replace(faults, leader_dies=True)
        if factor > 1.0:
            faults = replace(faults, slow_db_at_s=0.0, slow_db_for_s=v.duration_s,
                             slow_factor=max(factor, faults.slow_factor if
                                             faults.slow_db_for_s else 1.0))
        v = replace(v, faults=faults)
        parts = _parts(v, herds)
        if injects:
            cost = sum(p.steps for p in parts) * injects / _requests(v)[2]
            parts.append(_Part(cost, ("inputs",), f"{injects} injected requests"))
        if sum(p.steps for p in parts) > sum(p.steps for p in worst):
            worst = parts
    late_s = max(0.0, max(record["t"] for record in inputs) - s.duration_s)
    return worst + [_Part(len(inputs) + late_s / s.sample_interval_s, ("inputs",),
                          f"{len(inputs)} inputs, the last at {max(r['t'] for r in inputs):g} s")]


def estimate_steps(scenario: Scenario, inputs: Sequence[Any] = ()) -> int:
    """An estimate of the loop steps the run takes (meant as an upper bound), given its
    inputs (input records, checked here: ScenarioError if one is bad)."""
    return math.ceil(sum(p.steps for p in _with_inputs(scenario, inputs)))


def explain_cost(scenario: Scenario, inputs: Sequence[Any] = ()) -> list[str]:
    """The keys that make the run expensive, costliest part first, each as
    ``"dotted.key: why"`` (for instance ``"strategy.lock_poll_ms: lock waiters poll every 1 ms
    while a fetch can take 60.0 s"``)."""
    parts = sorted(_with_inputs(scenario, inputs), key=lambda p: p.steps, reverse=True)
    total = sum(p.steps for p in parts)
    out: list[str] = []
    covered = 0.0
    for part in parts:
        for key in part.keys:
            line = f"{key}: {part.why} (about {part.steps:,.0f} steps)"
            if not any(x.startswith(key + ":") for x in out):
                out.append(line)
        covered += part.steps
        if covered >= _SHARE * total:
            break
    return out
