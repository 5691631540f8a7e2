"""Named starting points for experiments and lessons: nested overrides of the defaults.

Each preset shows one thing and says so in its description; lessons and the page start from
them and change a key or two (usually ``strategy.coalesce``) to show the difference.

Data only: ``scenario.py`` validates a preset when it is used (``parse_scenario(preset=...)``,
``get_preset``), so this module sits below it and imports nothing of the project.
"""
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "classroom": {
        "title": "Classroom live stream",
        "description": "300 viewers of a live stream on one app server; every 4 s a new chunk "
                       "and a new herd. With no mitigation the datastore piles up, overloads, "
                       "goes down and requests fail; with coalesce=promise each chunk costs "
                       "exactly one query and nothing fails.",
        "scenario": {
            "duration_s": 16.0,
            "clients": {"count": 300, "arrival": "burst", "window_s": 1.0, "timeout_s": 6.0},
            "servers": {"count": 1},
            "workload": {"kind": "live_video", "segment_s": 4.0},
            "cache": {"lookup_ms": 2.0, "ttl_s": 60.0},
            "datastore": {"connections": 4, "service_ms": 200.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3, "contention": 1.0, "crash": True,
                          "overload_queue": 40, "crash_after_s": 1.0, "recovery_s": 3.0},
        },
    },
    "drake-live": {
        "title": "A million viewers, one fresh live chunk",
        "description": "1,000,000 viewers on 8 app servers ask for the chunk that just went "
                       "live, within 2 s. Without coalescing the datastore is crushed and goes "
                       "down; promise sends one query per server, distributed one in all.",
        "scenario": {
            "duration_s": 4.0,
            "clients": {"count": 1_000_000, "arrival": "burst", "window_s": 2.0,
                        "timeout_s": 10.0},
            "servers": {"count": 8},
            "workload": {"kind": "live_video", "segment_s": 4.0},
            "cache": {"lookup_ms": 1.0},
            "datastore": {"connections": 32, "service_ms": 50.0, "service_dist": "lognormal",
                          "contention": 1.0, "crash": True, "overload_queue": 500,
                          "crash_after_s": 0.5, "recovery_s": 5.0},
        },
    },
    "expiry-herd": {
        "title": "A hot key expires under steady load",
        "description": "A popular key, cached at t=0 with a 10 s TTL, read 1,000 times a second. "
                       "Each time it expires every read in the next fetch time misses. "
                       "stale_while_revalidate keeps it to one fetch per expiry; "
                       "early_refresh_beta=1 to a few, and nobody sees a miss: readers keep "
                       "rolling the die while the first early refresh runs, about e = 2.7 "
                       "refreshes per expiry in theory, 3 on average here (1 to 11).",
        "scenario": {
            "duration_s": 30.0,
            "clients": {"count": 30_000, "arrival": "poisson", "rate_per_s": 1000.0},
            "workload": {"kind": "hot_key", "warm_start": True},
            "cache": {"ttl_s": 10.0},
            "datastore": {"connections": 8, "service_ms": 100.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3, "contention": 0.5},
        },
    },
    "retry-storm": {
        "title": "Timeouts and retries feed the herd",
        "description": "No cache in front: 350 clients in 1 s against a datastore that serves "
                       "about 160 queries a second and slows as its queue grows. Clients give "
                       "up after 1 s and retry at once, up to 3 times. A query still queued "
                       "when its client gives up is cancelled, but one already running is "
                       "wasted, and every retry joins the back of the queue: the retries nearly "
                       "triple the queries and many clients still fail. Compare retries=0; "
                       "backoff=exponential (waiting lets the backlog drain: everyone is "
                       "answered, with fewer queries); backoff=full_jitter (no better here: the "
                       "clients gave up at different moments, so there is no wave to break; "
                       "see retry-waves); then coalesce=promise.",
        "scenario": {
            "duration_s": 10.0,
            "clients": {"count": 350, "arrival": "burst", "window_s": 1.0, "timeout_s": 1.0,
                        "retries": 3, "backoff": "none", "backoff_base_ms": 1000.0},
            "cache": {"enabled": False},
            "datastore": {"connections": 8, "service_ms": 50.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3, "contention": 0.1},
        },
    },
    "retry-waves": {
        "title": "Clients that fail together retry together",
        "description": "No cache: 600 clients within 1 s overload a datastore that serves about "
                       "160 queries a second. After 0.5 s of overload it crashes, failing every "
                       "query it holds at the same instant, and stays down for 3 s. Clients "
                       "retry up to 5 times with exponential backoff (1 s, 2 s, 4 s, ...): those "
                       "that failed together come back together, and each wave crashes the "
                       "recovering datastore again. backoff=full_jitter spreads the same retries "
                       "over each interval: it crashes once and almost everyone is answered. "
                       "backoff=none retries into the crashed datastore at once and gives up.",
        "scenario": {
            "duration_s": 10.0,
            "clients": {"count": 600, "arrival": "burst", "window_s": 1.0, "retries": 5,
                        "backoff": "exponential", "backoff_base_ms": 1000.0,
                        "backoff_cap_ms": 60_000.0},
            "cache": {"enabled": False},
            "datastore": {"connections": 8, "service_ms": 50.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3, "crash": True, "overload_queue": 100,
                          "crash_after_s": 0.5, "recovery_s": 3.0},
        },
    },
    "metastable": {
        "title": "A short slowdown, and a collapse that outlasts it",
        "description": "Steady load at 70% of capacity: 112 requests a second, no cache, to a "
                       "datastore that serves about 160. Clients give up after 1 s and retry at "
                       "once, up to 3 times. At 10 s the datastore slows 4-fold for 3 s (the "
                       "trigger): waits pass the timeout, clients retry, and the retries (up to "
                       "4 times the load) and the work of queries that finish after their "
                       "clients left keep it overloaded after the trigger is gone: about one "
                       "request in eight is answered for the rest of the run, and the in-flight "
                       "count stays near 112/s x 4 s. The fix: datastore.queue_limit=40 (load "
                       "shedding) with clients.retry_budget=0.1; each alone restores it too.",
        "scenario": {
            "duration_s": 60.0,
            "sample_interval_s": 0.1,
            "clients": {"count": 10_000, "arrival": "poisson", "rate_per_s": 112.0,
                        "timeout_s": 1.0, "retries": 3},
            "cache": {"enabled": False},
            "datastore": {"connections": 8, "service_ms": 50.0, "service_dist": "exponential"},
            "faults": {"slow_db_at_s": 10.0, "slow_db_for_s": 3.0, "slow_factor": 4.0},
        },
    },
    "fleet": {
        "title": "Many servers: promise versus distributed",
        "description": "20,000 requests for one cold key spread over 32 app servers. A promise "
                       "coalesces per process (32 queries); distributed coalescing, a shared "
                       "marker with a lease, sends one.",
        "scenario": {
            "duration_s": 5.0,
            "clients": {"count": 20_000, "arrival": "burst", "window_s": 1.0},
            "servers": {"count": 32},
            "datastore": {"connections": 16, "service_ms": 50.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3},
            "strategy": {"coalesce": "promise"},
        },
    },
    "queueing": {
        "title": "Queueing near saturation (no cache)",
        "description": "No cache: Poisson requests at 80/s to one connection serving 10 ms on "
                       "average (utilisation 0.8). Mean latency follows M/M/1, S/(1-rho) = 50 ms; "
                       "push rate_per_s towards 100 and watch the knee.",
        "scenario": {
            "duration_s": 300.0,
            "sample_interval_s": 0.5,
            "clients": {"count": 20_000, "arrival": "poisson", "rate_per_s": 80.0},
            "cache": {"enabled": False},
            "datastore": {"connections": 1, "service_ms": 10.0, "service_dist": "exponential"},
        },
    },
    "cold-start": {
        "title": "A new cluster with an empty cache",
        "description": "2,000 requests a second over 2,000 keys of Zipf popularity reach a cluster "
                       "whose cache is empty (a new cluster, or a cache tier just restarted). "
                       "Warm, the same traffic never reaches the datastore (workload.cold_start="
                       "false); cold, every key's first readers miss at once, the datastore "
                       "overloads and crashes, and failed queries fill nothing, so it crashes "
                       "again after each recovery. Coalescing on every key (coalesce=promise) is "
                       "not enough: most misses are for different keys. "
                       "strategy.traffic_shift_s=10 (send the new cluster a share of the traffic "
                       "that grows over 10 s) or strategy.preload_keys=500 (load the 500 most "
                       "popular keys first) keep it up. faults.cache_lost_at_s loses a warm "
                       "cache mid-run.",
        "scenario": {
            "duration_s": 12.0,
            "sample_interval_s": 0.1,
            "clients": {"count": 24_000, "arrival": "poisson", "rate_per_s": 2000.0,
                        "timeout_s": 2.0},
            "workload": {"keys": 2000, "zipf_s": 1.0, "cold_start": True},
            "cache": {"ttl_s": 600.0},
            "datastore": {"connections": 8, "service_ms": 16.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.5, "contention": 0.5, "crash": True,
                          "overload_queue": 100, "crash_after_s": 1.0, "recovery_s": 2.0},
        },
    },
    "hot-shard": {
        "title": "One hot key saturates its cache shard",
        "description": "2,400 cache reads a second over 100 warm keys of Zipf popularity, on a "
                       "cache of 8 shards that serve 500 operations a second each: the tier is "
                       "at 60% of its capacity, but the hottest key alone sends its shard more "
                       "than it can serve, and reads of every key on that shard queue until "
                       "clients give up. cache.local_ttl_ms=100 (a local copy on each server) or "
                       "cache.replicas=4 (the key on 4 shards) spread it. The datastore is never "
                       "asked.",
        "scenario": {
            "duration_s": 5.0,
            "sample_interval_s": 0.1,
            "clients": {"count": 12_000, "arrival": "poisson", "rate_per_s": 2400.0,
                        "timeout_s": 1.0},
            "servers": {"count": 4},
            "workload": {"keys": 100, "zipf_s": 1.2},
            "cache": {"ttl_s": 600.0, "lookup_ms": 0.5, "shards": 8, "shard_ops_per_s": 500.0},
            "datastore": {"connections": 8, "service_ms": 20.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.5},
        },
    },
    "not-found": {
        "title": "Players ask for a chunk before it exists",
        "description": "The classroom stream on 2 servers, pre-warmed, but each chunk's 300 "
                       "viewers start asking 0.5 s before it is published. Until then the "
                       "datastore answers 'not found' and the players ask again every 200 ms: "
                       "every early request is a query, and the datastore overloads on answers "
                       "that say nothing. cache.negative_ttl_ms keeps the 'not found' in the "
                       "cache briefly.",
        "scenario": {
            "duration_s": 16.0,
            "clients": {"count": 300, "arrival": "burst", "window_s": 1.0, "timeout_s": 6.0,
                        "retries": 5, "backoff": "fixed", "backoff_base_ms": 200.0},
            "servers": {"count": 2},
            "workload": {"kind": "live_video", "segment_s": 4.0, "ask_early_s": 0.5},
            "cache": {"lookup_ms": 2.0, "ttl_s": 60.0},
            "strategy": {"prewarm": True},
            "datastore": {"connections": 4, "service_ms": 50.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3, "contention": 1.0, "crash": True,
                          "overload_queue": 40, "crash_after_s": 1.0, "recovery_s": 3.0},
        },
    },
    "private": {
        "title": "Answers that cannot be shared",
        "description": "60 requests a second for one key whose answers are private (never cached, "
                       "never shared), to a datastore that answers in 50 ms. Without coalescing "
                       "(coalesce=none) each request queries and is answered in about 50 ms. With a "
                       "coalescing cache (coalesce=notify, Varnish's waiting list) the requests "
                       "queue behind one fetch that serves only its own request: they go one at a "
                       "time, 20 a second, and most time out. strategy.hit_for_pass_s remembers "
                       "that the key is uncacheable and lets the requests through at once.",
        "scenario": {
            "duration_s": 4.0,
            "clients": {"count": 240, "arrival": "poisson", "rate_per_s": 60.0, "timeout_s": 2.0},
            "workload": {"private": True},
            "strategy": {"coalesce": "notify"},
            "datastore": {"connections": 8, "service_ms": 50.0, "service_dist": "lognormal",
                          "lognormal_sigma": 0.3},
        },
    },
    "slow-fetch": {
        "title": "A slow fetch and waiters that give up on it",
        "description": "300 requests within 1 s for one new key whose value takes 2 s to compute; "
                       "with a promise, one query and everyone answered after it. "
                       "strategy.wait_timeout_ms=500: each waiter stops waiting after 0.5 s and "
                       "queries itself, the datastore is flooded, crashes, and fails everyone, "
                       "the first query included. A timeout longer than the fetch (5000) never "
                       "fires.",
        "scenario": {
            "duration_s": 4.0,
            "clients": {"count": 300, "arrival": "burst", "window_s": 1.0, "timeout_s": 10.0},
            "strategy": {"coalesce": "promise"},
            "datastore": {"connections": 8, "service_ms": 2000.0, "service_dist": "constant",
                          "contention": 1.0, "crash": True, "overload_queue": 100,
                          "crash_after_s": 0.5, "recovery_s": 3.0},
        },
    },
}

