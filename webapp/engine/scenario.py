"""The scenario: every knob of an experiment, its default, its range, and its validation.

One table is the single source of truth: each key is a dataclass field whose metadata carries the
range, the choices and a one-line doc. ``schema()`` turns that table into rows the web page builds
its controls from, ``parse_scenario`` validates untrusted input (it may come straight from a
browser) against it, and ``apply_overrides`` coerces ``--set key=value`` strings by it.
"""
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Mapping

from webapp.engine.presets import PRESETS

MAX_STRING = 64          # no legitimate value is longer; longer input is rejected, not truncated
MAX_LIVE_REQUESTS = 10_000_000   # viewers x chunks: bounds the run's work
MAX_SAMPLES = 100_000            # duration_s / sample_interval_s


class ScenarioError(ValueError):
    """Bad scenario input. ``key`` is dotted ("clients.count"), ``allowed`` is human text."""

    def __init__(self, key: str, allowed: str, problem: str = "is not allowed") -> None:
        self.key = key
        self.allowed = allowed
        self.problem = problem
        where = f"'{key}'" if key else "The scenario"
        super().__init__(f"{where} {problem}; allowed: {allowed}.")


def _spec(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None,
          choices: tuple[str, ...] | None = None, off: Any = None) -> Any:
    """One key. ``off`` (mitigation switches only) is the value that means "this mitigation is
    off"; the engine runs a mitigation exactly when its key has another value."""
    return field(default=default, metadata={"doc": doc, "min": lo, "max": hi, "choices": choices,
                                            "off": off})


@dataclass(frozen=True)
class Clients:
    count: int = _spec(300, "Viewers. In live_video each asks once per chunk.", lo=1, hi=2_000_000)
    arrival: str = _spec("burst", "burst: random times within window_s; ramp: evenly spread over "
                         "window_s; poisson: exponential gaps at rate_per_s.",
                         choices=("burst", "ramp", "poisson"))
    window_s: float = _spec(1.0, "Arrival window for burst and ramp (per chunk in live_video).",
                            lo=0.0, hi=600.0)
    rate_per_s: float = _spec(100.0, "Poisson arrival rate.", lo=0.001, hi=10_000_000.0)
    timeout_s: float = _spec(0.0, "Client gives up on an attempt after this long (0 = never). "
                             "Its query leaves the queue if nobody else waits for it; work "
                             "already running goes on.", lo=0.0, hi=600.0)
    retries: int = _spec(0, "Extra attempts after a timeout or an error.", lo=0, hi=10)
    backoff: str = _spec("none", "Delay before a retry: none (immediately), fixed (base), "
                         "exponential (base*2^n, capped), full_jitter (uniform 0..exponential).",
                         choices=("none", "fixed", "exponential", "full_jitter"), off="none")
    backoff_base_ms: float = _spec(100.0, "Backoff base delay.", lo=0.0, hi=60_000.0)
    backoff_cap_ms: float = _spec(10_000.0, "Backoff ceiling.", lo=0.0, hi=600_000.0)
    retry_budget: float = _spec(0.0, "Retry budget: retries at most this share of the requests "
                                "started in the last retry_budget_window_s (0 = no budget; "
                                "Finagle's default is 0.2).", lo=0.0, hi=10.0, off=0.0)
    retry_budget_window_s: float = _spec(10.0, "The retry budget's sliding window.", lo=0.1,
                                         hi=600.0)


@dataclass(frozen=True)
class Servers:
    count: int = _spec(1, "App servers; each has its own in-process memory (promise table).",
                       lo=1, hi=64)


@dataclass(frozen=True)
class Workload:
    kind: str = _spec("hot_key", "hot_key: requests for one key (or a Zipf set of keys); "
                      "live_video: a new chunk every segment_s, each one a new herd.",
                      choices=("hot_key", "live_video"))
    segment_s: float = _spec(4.0, "Seconds between live chunks.", lo=0.1, hi=600.0)
    keys: int = _spec(1, "hot_key only: number of keys, Zipf popularity; above 1 they are all "
                      "cached together at t=0 (a deploy warmed them).", lo=1, hi=100_000)
    zipf_s: float = _spec(1.0, "Zipf exponent for key popularity (0 = uniform).", lo=0.0, hi=3.0)
    warm_start: bool = _spec(False, "hot_key: the key is in the cache at t=0 (written then), so "
                             "the herd comes when it expires at ttl_s.")
    cold_start: bool = _spec(False, "hot_key with several keys: the cache starts empty instead "
                             "(a new cluster, or a cache tier just restarted); every key's "
                             "first readers miss.")
    ask_early_s: float = _spec(0.0, "live_video: each chunk's viewers start asking this long "
                               "before it is published (eager players, clocks ahead); until "
                               "then the datastore answers 'not found', an error a viewer "
                               "retries only if clients.retries allows (0 = nobody early).",
                               lo=0.0, hi=600.0)
    private: bool = _spec(False, "Responses are private: never written to the cache and never "
                          "shared with another request (with lock or notify each waiter then "
                          "fetches in turn; promise and distributed would share them, so they "
                          "are not allowed).")


@dataclass(frozen=True)
class Cache:
    enabled: bool = _spec(True, "A cache shared by all servers sits in front of the datastore.")
    lookup_ms: float = _spec(1.0, "Cache round trip.", lo=0.0, hi=1_000.0)
    ttl_s: float = _spec(60.0, "Time to live of a cached value.", lo=0.001, hi=86_400.0)
    ttl_jitter: float = _spec(0.0, "Each TTL is stretched by a random 0..ttl_jitter fraction.",
                              lo=0.0, hi=1.0, off=0.0)
    shards: int = _spec(1, "Cache shards; a key lives on one, picked by a hash of the key.",
                        lo=1, hi=64)
    shard_ops_per_s: float = _spec(0.0, "Operations one shard serves a second (0 = unlimited). "
                                   "Lookups, writes, claims and polls wait in a FIFO queue per "
                                   "shard, so one hot key can saturate its shard.",
                                   lo=0.0, hi=10_000_000.0)
    local_ttl_ms: float = _spec(0.0, "Local cache: each app server keeps a value it read from "
                                "the shared cache this long in its own memory and answers from "
                                "it without asking the cache (0 = none).", lo=0.0,
                                hi=600_000.0, off=0.0)
    replicas: int = _spec(1, "Key replication: each key is copied to this many shards (its own "
                          "and the next ones); a write goes to every copy, a read to one at "
                          "random (1 = one copy).", lo=1, hi=64, off=1)
    negative_ttl_ms: float = _spec(0.0, "Negative caching: a 'not found' answer is remembered "
                                   "in the cache this long, and readers get it from there "
                                   "instead of asking the datastore (0 = never).", lo=0.0,
                                   hi=600_000.0, off=0.0)


@dataclass(frozen=True)
class Datastore:
    connections: int = _spec(8, "Queries served at once; the rest wait in a FIFO queue.",
                             lo=1, hi=1024)
    service_ms: float = _spec(50.0, "Mean service time of one query.", lo=0.01, hi=60_000.0)
    service_dist: str = _spec("exponential", "Distribution of service times around service_ms.",
                              choices=("constant", "exponential", "lognormal"))
    lognormal_sigma: float = _spec(0.5, "Shape of the lognormal service time.", lo=0.05, hi=3.0)
    queue_limit: int = _spec(0, "Load shedding: most queries waiting for a connection (0 = "
                             "unbounded); more are rejected at once, failing fast instead of "
                             "waiting past their clients' timeouts.", lo=0, hi=10_000_000, off=0)
    contention: float = _spec(0.0, "Past saturation (more queries inside than connections) each "
                              "query slows by this factor per extra 'connections' worth of load "
                              "(0 = off, capped at 10 loads).", lo=0.0, hi=10.0)
    crash: bool = _spec(False, "Sustained overload takes the datastore down, failing what it holds.")
    overload_queue: int = _spec(100, "Queued queries at which the datastore counts as overloaded.",
                                lo=1, hi=10_000_000)
    crash_after_s: float = _spec(1.0, "Overload lasting this long crashes it (if crash).",
                                 lo=0.001, hi=600.0)
    recovery_s: float = _spec(5.0, "Down time after a crash; queries are rejected meanwhile.",
                              lo=0.001, hi=600.0)
    pool_timeout_s: float = _spec(0.0, "A query waiting longer than this for a connection is "
                                  "refused (rejected, reason pool_timeout), as psycopg_pool's "
                                  "timeout raises PoolTimeout (0 = it waits as long as it "
                                  "takes).", lo=0.0, hi=600.0)


@dataclass(frozen=True)
class Strategy:
    coalesce: str = _spec("none", "none: every miss queries; lock: one fetches, others poll the "
                          "cache; notify: one fetches, others are woken when it has written the "
                          "value; promise: per-server singleflight; distributed: shared marker "
                          "with a lease plus the local promise.",
                          choices=("none", "lock", "notify", "promise", "distributed"),
                          off="none")
    stale_while_revalidate: bool = _spec(False, "Serve an expired value (for stale_ttl_s) while "
                                         "one background fetch refreshes it.", off=False)
    stale_ttl_s: float = _spec(30.0, "How long past expiry a value may be served stale.",
                               lo=0.0, hi=86_400.0)
    early_refresh_beta: float = _spec(0.0, "XFetch beta: refresh early with probability rising "
                                      "towards expiry (0 = off, 1 = the paper's default).",
                                      lo=0.0, hi=10.0, off=0.0)
    prewarm: bool = _spec(False, "live_video: the producer writes each chunk into the cache "
                          "before announcing it.", off=False)
    lock_poll_ms: float = _spec(500.0, "lock: how often a waiter re-reads the cache (nginx: 500).",
                                lo=1.0, hi=10_000.0)
    marker_poll_ms: float = _spec(50.0, "distributed: how often a server waiting on another "
                                  "server's marker re-reads the cache.", lo=1.0, hi=10_000.0)
    lease_ms: float = _spec(5_000.0, "lock/notify/distributed: a lock or marker expires after "
                            "this long, so a dead holder cannot block the key forever.",
                            lo=1.0, hi=600_000.0)
    recheck: bool = _spec(True, "lock/notify/promise/distributed: whoever wins the lock or "
                          "marker, or starts a new promise call, reads the cache once more and "
                          "uses a value that landed since its own read (a miss reaches the lock "
                          "cache.lookup_ms after the read); false: it queries anyway, the "
                          "double fetch of a real race.")
    wait_timeout_ms: float = _spec(0.0, "A request that has waited this long on another's fetch "
                                   "(a lock, a promise, a marker) stops waiting and queries the "
                                   "datastore itself; its answer is not cached, as with nginx's "
                                   "proxy_cache_lock_timeout (0 = wait for ever).", lo=0.0,
                                   hi=600_000.0, off=0.0)
    hit_for_pass_s: float = _spec(0.0, "Hit-for-pass (Varnish): after an answer that could not be "
                                  "cached, the key is marked for this long and misses on it go "
                                  "straight to the datastore instead of waiting (0 = off).",
                                  lo=0.0, hi=86_400.0, off=0.0)
    traffic_shift_s: float = _spec(0.0, "Gradual traffic shift: the share of the arrivals sent to "
                                   "this cluster rises from 0 to 1 over this long; the rest go to "
                                   "a warm cluster that is not simulated (0 = all at once).",
                                   lo=0.0, hi=600.0, off=0.0)
    preload_keys: int = _spec(0, "hot_key: the most popular keys are loaded into the cache "
                              "before traffic arrives, this many of them (0 = none).", lo=0,
                              hi=100_000, off=0)


@dataclass(frozen=True)
class Faults:
    leader_dies: bool = _spec(False, "The server of the first fetch for a miss (the leader's, or "
                              "a direct one without coalescing) dies halfway through the fetch; "
                              "its requests fail and its lock or marker is orphaned.")
    fail_fetch: bool = _spec(False, "The first fetch fails (a shared error for its waiters).")
    slow_db_at_s: float = _spec(10.0, "When the datastore's slowdown starts (a trigger: a bad "
                                "deploy, a noisy neighbour, a failover).", lo=0.0, hi=600.0)
    slow_db_for_s: float = _spec(0.0, "How long it lasts (0 = no slowdown).", lo=0.0, hi=600.0)
    slow_factor: float = _spec(4.0, "Queries that start during the slowdown take this many "
                               "times as long.", lo=1.0, hi=100.0)
    cache_lost_at_s: float = _spec(0.0, "The whole cache tier is lost at this time (restarted "
                                   "empty: every value, lock and marker gone; 0 = never).",
                                   lo=0.0, hi=600.0)


@dataclass(frozen=True)
class Scenario:
    seed: int = _spec(1, "Seeds every random stream; same seed, same run.", lo=0, hi=2**53)
    duration_s: float = _spec(20.0, "No new arrivals after this; the run then drains.",
                              lo=0.01, hi=600.0)
    sample_interval_s: float = _spec(0.05, "Virtual time between datastore samples.",
                                     lo=0.001, hi=60.0)
    clients: Clients = field(default_factory=Clients)
    servers: Servers = field(default_factory=Servers)
    workload: Workload = field(default_factory=Workload)
    cache: Cache = field(default_factory=Cache)
    datastore: Datastore = field(default_factory=Datastore)
    strategy: Strategy = field(default_factory=Strategy)
    faults: Faults = field(default_factory=Faults)

    def to_dict(self) -> dict[str, Any]:
        """Every key, defaults filled, JSON-able; ``parse_scenario`` of it gives this back."""
        return asdict(self)

    def get(self, key: str) -> Any:
        """The value of a dotted key, e.g. ``scenario.get("strategy.coalesce")``."""
        section, _, leaf = key.rpartition(".")
        return getattr(getattr(self, section) if section else self, leaf)


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(Scenario)
                             if f.default_factory is not MISSING}


def _leaf_fields() -> list[tuple[str, Any]]:
    """(dotted key, dataclass field) for every scalar key, in table order."""
    rows = [(f.name, f) for f in fields(Scenario) if f.name not in SECTIONS]
    for section, cls in SECTIONS.items():
        rows += [(f"{section}.{f.name}", f) for f in fields(cls)]
    return rows


_FIELDS: dict[str, Any] = dict(_leaf_fields())
# Mitigation switches: key -> the value that means "off" (also in each schema row).
OFF: dict[str, Any] = {key: f.metadata["off"] for key, f in _FIELDS.items()
                       if f.metadata["off"] is not None}


def _allowed(f: Any) -> str:
    meta = f.metadata
    if meta["choices"]:
        return "one of: " + ", ".join(meta["choices"])
    if f.type is bool:
        return "true or false"
    noun = "an integer" if f.type is int else "a number"
    return f"{noun} from {_num(meta['min'])} to {_num(meta['max'])}"


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


def schema() -> list[dict[str, Any]]:
    """One JSON-able row per key: key, type, default, min, max, choices, off, doc (``off``: for
    a mitigation switch the value that means "off", else None)."""
    return [{"key": key, "type": f.type.__name__, "default": f.default, "min": f.metadata["min"],
             "max": f.metadata["max"],
             "choices": list(f.metadata["choices"]) if f.metadata["choices"] else None,
             "off": f.metadata["off"], "doc": f.metadata["doc"]} for key, f in _FIELDS.items()]


def _check_value(key: str, value: Any) -> Any:
    """Return ``value`` if it fits the key's type and range, else raise ScenarioError."""
    f = _FIELDS[key]
    allowed = _allowed(f)
    meta = f.metadata
    if f.type is bool:
        if not isinstance(value, bool):
            raise ScenarioError(key, allowed, f"must be true or false, not {_show(value)}")
        return value
    if f.type is str:
        if not isinstance(value, str) or len(value) > MAX_STRING or value not in meta["choices"]:
            raise ScenarioError(key, allowed, f"cannot be {_show(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(key, allowed, f"must be a number, not {_show(value)}")
    if f.type is int and not isinstance(value, int):
        if not (math.isfinite(value) and value == int(value)):
            raise ScenarioError(key, allowed, f"must be a whole number, not {_show(value)}")
        value = int(value)
    if not math.isfinite(value) or not meta["min"] <= value <= meta["max"]:
        raise ScenarioError(key, allowed, f"is out of range: {_show(value)}")
    return float(value) if f.type is float else value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_combinations(s: Scenario) -> None:
    """Reject combinations that cannot mean anything, naming the key to change."""
    c, w, st = s.clients, s.workload, s.strategy
    live = w.kind == "live_video"
    spread = c.arrival in ("burst", "ramp")
    if live and w.keys != 1:
        raise ScenarioError("workload.keys", "1 for live_video (each chunk is its own key)")
    if live and w.segment_s > s.duration_s:
        raise ScenarioError("workload.segment_s", f"at most duration_s ({s.duration_s:g})")
    if live and spread and c.window_s > w.segment_s:
        raise ScenarioError("clients.window_s", f"at most workload.segment_s ({w.segment_s:g}) "
                            "for live_video, so each herd belongs to one chunk")
    if not live and spread and c.window_s > s.duration_s:
        raise ScenarioError("clients.window_s", f"at most duration_s ({s.duration_s:g})")
    if live and c.count * math.ceil(s.duration_s / w.segment_s) > MAX_LIVE_REQUESTS:
        raise ScenarioError("clients.count", f"at most {MAX_LIVE_REQUESTS} requests in all "
                            "(count x chunks); lower count or raise workload.segment_s")
    if s.duration_s / s.sample_interval_s > MAX_SAMPLES:
        raise ScenarioError("sample_interval_s", f"at least duration_s / {MAX_SAMPLES}")
    if c.backoff_cap_ms < c.backoff_base_ms:
        raise ScenarioError("clients.backoff_cap_ms", "at least clients.backoff_base_ms")
    if st.prewarm and not live:
        raise ScenarioError("strategy.prewarm", "false for hot_key (pre-warming writes live chunks)")
    if w.warm_start and live:
        raise ScenarioError("workload.warm_start", "false for live_video (every chunk is new)")
    f = s.faults
    if f.slow_db_for_s > s.duration_s:
        raise ScenarioError("faults.slow_db_for_s", f"at most duration_s ({s.duration_s:g})")
    if f.slow_db_for_s and f.slow_db_at_s + f.slow_db_for_s > s.duration_s:
        raise ScenarioError("faults.slow_db_at_s", f"at most duration_s - faults.slow_db_for_s "
                            f"({s.duration_s - f.slow_db_for_s:g}), so the slowdown ends within "
                            "the run")
    if s.faults.leader_dies and s.servers.count < 2:
        raise ScenarioError("servers.count", "at least 2 when faults.leader_dies is on "
                            "(someone must survive the dead server)")
    d = s.datastore
    if d.crash and d.queue_limit and d.overload_queue > d.queue_limit:
        raise ScenarioError("datastore.overload_queue", f"at most datastore.queue_limit "
                            f"({d.queue_limit}) when crash is on, or it can never overload")
    _check_new_herds(s)
    if not s.cache.enabled:
        if st.coalesce in ("lock", "notify", "distributed"):
            raise ScenarioError("strategy.coalesce", "none or promise when cache.enabled is false "
                                "(lock, notify and distributed wait on the cache)")
        for key, on in (("strategy.stale_while_revalidate", st.stale_while_revalidate),
                        ("strategy.early_refresh_beta", st.early_refresh_beta > 0),
                        ("strategy.prewarm", st.prewarm), ("workload.warm_start", w.warm_start),
                        ("cache.ttl_jitter", s.cache.ttl_jitter > 0)):
            if on:
                raise ScenarioError(key, "off (false or 0) when cache.enabled is false")


def _check_new_herds(s: Scenario) -> None:
    """The combinations of cold starts, the cache tier's limits and its answers that cannot
    mean anything (lessons 12 to 14)."""
    w, ca, st, f = s.workload, s.cache, s.strategy, s.faults
    live = w.kind == "live_video"
    if w.cold_start and (live or w.warm_start):
        raise ScenarioError("workload.cold_start", "false for live_video or with "
                            "workload.warm_start (it empties a hot_key cache that would be warm)")
    if w.ask_early_s and not live:
        raise ScenarioError("workload.ask_early_s", "0 for hot_key (only a live chunk can be "
                            "asked for before it exists)")
    if w.ask_early_s >= w.segment_s and live:
        raise ScenarioError("workload.ask_early_s", f"below workload.segment_s ({w.segment_s:g}), "
                            "so a chunk is published before the next one's viewers come")
    if st.preload_keys and live:
        raise ScenarioError("strategy.preload_keys", "0 for live_video (pre-warming is "
                            "strategy.prewarm there)")
    if ca.replicas > ca.shards:
        raise ScenarioError("cache.replicas", f"at most cache.shards ({ca.shards}): each copy "
                            "lives on a shard of its own")
    if ca.replicas > 1 and not ca.shard_ops_per_s:
        raise ScenarioError("cache.replicas", "1 unless cache.shard_ops_per_s is set (copies "
                            "spread the load of a cache whose shards have a limit)")
    if f.cache_lost_at_s > s.duration_s:
        raise ScenarioError("faults.cache_lost_at_s", f"at most duration_s ({s.duration_s:g})")
    if w.private:
        if st.coalesce in ("promise", "distributed"):
            raise ScenarioError("strategy.coalesce", "none, lock or notify when "
                                "workload.private is on (a promise shares one fetch's answer "
                                "with every waiter, and a private answer may not be shared)")
        never = "(private answers are never cached)"
        for key, on, allowed in (
                ("workload.warm_start", w.warm_start, "false"),
                ("workload.cold_start", w.keys > 1 and not w.cold_start, "true with several keys"),
                ("strategy.prewarm", st.prewarm, "false"),
                ("strategy.preload_keys", st.preload_keys > 0, "0")):
            if on:
                raise ScenarioError(key, f"{allowed} when workload.private is on {never}")
    if not ca.enabled:
        for key, on in (("cache.shard_ops_per_s", ca.shard_ops_per_s > 0),
                        ("cache.local_ttl_ms", ca.local_ttl_ms > 0),
                        ("cache.negative_ttl_ms", ca.negative_ttl_ms > 0),
                        ("strategy.hit_for_pass_s", st.hit_for_pass_s > 0),
                        ("strategy.preload_keys", st.preload_keys > 0),
                        ("faults.cache_lost_at_s", f.cache_lost_at_s > 0)):
            if on:
                raise ScenarioError(key, "off (0) when cache.enabled is false")


def _merge(base: dict[str, Any], overrides: Any, where: str = "") -> dict[str, Any]:
    """Deep-merge untrusted ``overrides`` into ``base`` (a full scenario dict), checking shape.

    Only two levels exist, so anything deeper, any unknown key and any non-object section is
    rejected here with the dotted key; values themselves are checked by ``_check_value``.
    """
    if not isinstance(overrides, Mapping):
        known = ", ".join(base)
        raise ScenarioError(where, f"an object with keys: {known}", "must be an object")
    merged = dict(base)
    for key, value in overrides.items():
        dotted = f"{where}.{key}" if where else str(key)
        if not isinstance(key, str) or len(key) > MAX_STRING or key not in base:
            raise ScenarioError(dotted[:MAX_STRING * 2], "one of: " + ", ".join(base),
                                "is not a known key")
        if isinstance(base[key], dict):
            merged[key] = _merge(base[key], value, dotted)
        else:
            merged[key] = _check_value(dotted, value)
    return merged


def get_preset(name: str) -> dict[str, Any]:
    """The preset ``name`` (``presets.PRESETS``); a ScenarioError names the envelope's field."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ScenarioError("preset", "one of: " + ", ".join(PRESETS),
                            f"has no preset named {str(name)[:64]!r}") from None


def parse_scenario(data: Any = None, preset: str | None = None) -> Scenario:
    """Validate a nested dict (optionally on top of a preset) into a frozen Scenario."""
    full = Scenario().to_dict()
    if preset is not None:
        full = _merge(full, get_preset(preset)["scenario"])
    full = _merge(full, {} if data is None else data)
    top = {k: v for k, v in full.items() if k not in SECTIONS}
    scenario = Scenario(**top, **{name: cls(**full[name]) for name, cls in SECTIONS.items()})
    _check_combinations(scenario)
    return scenario


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def apply_overrides(nested: Mapping[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply ``["clients.count=500", ...]`` to a copy of ``nested``, coercing by the schema."""
    out: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in nested.items()}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in _FIELDS:
            raise ScenarioError(key[:MAX_STRING * 2], "KEY=VALUE with KEY one of: "
                                + ", ".join(_FIELDS), "is not a known key")
        value = _coerce(key, raw.strip())
        section, _, leaf = key.rpartition(".")
        target = out.setdefault(section, {}) if section else out
        if not isinstance(target, dict):
            raise ScenarioError(section, "an object", "must be an object")
        target[leaf] = value
    return out


def _coerce(key: str, raw: str) -> Any:
    f = _FIELDS[key]
    if f.type is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ScenarioError(key, _allowed(f), f"cannot be {_show(raw)}")
    if f.type in (int, float):
        try:
            value = f.type(raw)
        except ValueError:
            raise ScenarioError(key, _allowed(f), f"cannot be {_show(raw)}") from None
        return _check_value(key, value)
    return _check_value(key, raw)
