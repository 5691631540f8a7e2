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
}

