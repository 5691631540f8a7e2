"""The run's cumulative counters, by the simulation's names (its summary and samples use them).

Each app-server process keeps one set; the fleet adds them up. A module of its own so that the
fleet (plain Python) need not import the host (gevent).
"""

COUNTERS = ("requests", "arrived", "completed", "errors", "timeouts", "retries",
            "retries_denied", "db_queries", "db_rejected", "db_failed", "db_cancelled",
            "coalesced", "cache_hits", "cache_misses", "stale_served", "in_flight",
            "after_requests", "after_completed")
