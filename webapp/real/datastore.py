"""The datastore of a real run: queries whose cost is real, counted by PostgreSQL itself.

Every query bumps one sequence (``herd_queries``) as it runs, so "how many queries reached the
datastore" is PostgreSQL's answer, not the app's: the run reads the sequence before and after.
A sequence bump is not transactional: a query that later fails or is cancelled still counts,
as it should (it reached the server).

Every query also says when PostgreSQL got it and how long its work took, measured by PostgreSQL
(``statement_timestamp()`` and ``clock_timestamp()`` in the function ``herd_query``): that is the
service time the simulation beside the run is fed, and when it started, not the client's view
(which adds the app server's scheduling on both sides). Its clock is the machine's wall clock.

The cost: ``sleep`` holds a connection idle in ``pg_sleep`` (a slow query or a remote call:
concurrency is limited by connections only); ``cpu`` counts through a series sized to take the
service time on an idle server (concurrent ones share the cores and slow each other down).

Real failures map onto the event vocabulary (``classify``): no pool connection in time
(``PoolTimeout``) or a full wait queue (``TooManyRequests``) or PostgreSQL refusing a connection
(``too many clients``) are rejections, as the simulation's rejections they never ran; a
cancelled (``statement_timeout``) or broken query (a killed backend, a real error) failed.
"""
from __future__ import annotations

import math
import time
from typing import Any

from webapp.engine.events import DB_FAILED, DB_REJECTED

SCHEMA = "create sequence if not exists herd_queries"
# One query: count it, do its work (sleep, or count rows), and say when PostgreSQL received it
# (epoch seconds) and how long it took until now (seconds). ``doomed`` (faults.fail_fetch):
# after its work it really fails, at run time (division by zero).
FUNCTION = """
create or replace function herd_query(sleep_s float8, cpu_rows bigint, doomed bool,
                                      out n bigint, out started float8, out took float8)
language plpgsql as $$
begin
  n := nextval('herd_queries');
  if cpu_rows > 0 then
    perform count(*) from generate_series(1, cpu_rows);
  else
    perform pg_sleep(sleep_s);
  end if;
  if doomed then
    n := n / (n * 0);
  end if;
  started := extract(epoch from statement_timestamp());
  took := extract(epoch from clock_timestamp() - statement_timestamp());
end $$"""
COUNT = "select case when is_called then last_value else last_value - 1 end from herd_queries"
QUERY = "select n, started, took from herd_query(%s, %s, %s)"
CALIBRATION_ROWS = 300_000
TOO_MANY = ("too many clients", "too many connections", "remaining connection slots are reserved")


def prepare(conn: Any) -> None:
    conn.execute(SCHEMA)
    conn.execute(FUNCTION)


def queries_so_far(conn: Any) -> int:
    """How many queries PostgreSQL has counted since the cluster was made."""
    return int(conn.execute(COUNT).fetchone()[0])


def calibrate_cpu(conn: Any, tries: int = 3) -> float:
    """Rows per second ``generate_series`` counts on an idle server (the fastest of a few)."""
    best = math.inf
    for _ in range(tries):
        t = time.perf_counter()
        conn.execute("select count(*) from generate_series(1, %s)", (CALIBRATION_ROWS,))
        best = min(best, time.perf_counter() - t)
    return CALIBRATION_ROWS / best


def statement(kind: str, service_s: float, cpu_rows_per_s: float,
              doomed: bool) -> tuple[str, tuple]:
    """The SQL and its parameters for one query of ``service_s``; its row is ``(n, started
    epoch s, took s)`` as PostgreSQL measured them."""
    rows = max(1, round(service_s * cpu_rows_per_s)) if kind == "cpu" else 0
    return QUERY, (service_s, rows, doomed)


def classify(exc: BaseException) -> tuple[str, str] | None:
    """A real failure as ``(event kind, reason)``, or None if it is not the datastore's."""
    import psycopg
    from psycopg_pool import PoolTimeout, TooManyRequests

    if isinstance(exc, PoolTimeout):
        return DB_REJECTED, "pool_timeout"
    if isinstance(exc, TooManyRequests):
        return DB_REJECTED, "queue_full"
    # Refused at connection time: libpq reports the server's FATAL 53300 as a plain
    # OperationalError without its SQLSTATE, so the (C-locale) message is what identifies it:
    # every connection slot taken, the run role's CONNECTION LIMIT, or only reserved ones left.
    if isinstance(exc, psycopg.errors.TooManyConnections) or (
            isinstance(exc, psycopg.OperationalError) and any(
                refusal in str(exc) for refusal in TOO_MANY)):
        return DB_REJECTED, "too_many_clients"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return DB_FAILED, "statement_timeout"
    if isinstance(exc, psycopg.Error):
        return DB_FAILED, type(exc).__name__
    return None
