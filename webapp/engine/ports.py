"""The port: the one interface through which every mitigation acts on a run.

A mitigation (``webapp/strategies/*.py``) sees the world only through a ``Host``: it reads and
writes the shared cache, sends queries to the datastore, answers requests, schedules its own
callbacks, records what it did, and reads its own settings, random stream and counters. It
never touches the simulation's internals, so the same module can drive two hosts:

- the simulated host (``webapp.engine.simulation.Simulation``): virtual time, a model cache
  and datastore, deterministic;
- a real host (future, issue 14): a real Redis and PostgreSQL, one greenlet per request under
  gevent. docs/architecture.md says how each call below maps onto one.

So the calls are synchronous-looking (a real host blocks the greenlet for a Redis round trip and
returns), and everything that completes later comes back through a callback: ``fetch(...,
on_done)`` and ``later(t, fn)``. Every callback receives the host's clock as its first argument
``t``, and every call takes the ``t`` of the callback it is made from: the simulated host uses it
as its clock, a real host reads its own.

A mitigation implements the hooks it needs (``Mitigation`` below lists them all); the engine
calls each hook only on the mitigations that define it. This module imports nothing from the
project, only ``typing``, so both hosts and every strategy can depend on it.
"""
from typing import Any, Callable, Protocol


class Request(Protocol):
    """One viewer's request for a key, the same object across all its attempts."""

    id: int
    key: str
    attempt: int            # the attempt in flight (a retry makes the one before it stale)
    done: bool              # the request has ended (answered, or failed for good)


class Entry(Protocol):
    """A cached value as a reader sees it (the value itself does not matter here)."""

    expires: float          # host time at which it stops being fresh
    delta: float            # how long it took to compute (stored with it, for XFetch)
    version: Any            # this write of the key: every write gives a new one


class Host(Protocol):
    """What a mitigation may do. ``attempt`` is the request's attempt number (0, then one per
    retry) and ``server`` the app server handling that attempt."""

    # ---- time
    def later(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(t, *args)`` at host time ``t`` (a timer). When the first of ``args`` is
        a request, the timer is that request's next *look* while it waits (a lock's poll): a
        real host measures how late each look gets its cache read answered, and the
        simulation beside it may run the same look that late (engine/trace.py, ``looks``)."""

    # ---- the datastore
    def fetch(self, t: float, req: Request, attempt: int, server: int, role: str,
              on_done: Callable[[float, bool], None]) -> Any:
        """Query the datastore for ``req.key``; ``on_done(t, ok)`` once it answers. On success
        the host has already written the value to the cache. If ``server`` dies meanwhile the
        answer goes nowhere (``on_done`` is never called). Returns the query (opaque).

        This attempt waits for the answer (unless ``role`` is ``"refresh"``: nobody does). If
        every attempt waiting for it gives up while it still waits for a connection, the host
        cancels it: ``on_done(t, False)`` then, heard by nobody. Once running it runs on."""

    def join(self, query: Any, req: Request, attempt: int) -> None:
        """This attempt, too, waits for ``query``'s answer (a coalesced waiter), so the query
        is not cancelled while it still waits."""

    # ---- answers
    def settle(self, t: float, req: Request, attempt: int, ok: bool, source: str,
               coalesced: bool = False) -> None:
        """Answer this attempt with the value (``ok``) or an error; ``source`` says where the
        value came from, ``coalesced`` that it was another request's fetch. An attempt the
        client has given up on is ignored; an error may make the client retry."""

    def alive(self, server: int) -> bool:
        """False once ``server`` has died: its memory (promise tables) is gone."""

    # ---- the shared cache
    def fresh(self, key: str, t: float) -> bool:
        """Is there an unexpired value for ``key``?"""

    def put(self, t: float, key: str, role: str, delta: float) -> None:
        """Write a value for ``key`` (with the run's TTL) that took ``delta`` to compute."""

    def claim(self, name: str, owner: Any, server: int, t: float,
              lease_s: float) -> tuple[bool, int | None]:
        """Add-if-absent with a lease (Redis ``SET NX PX``), for ``owner`` working on ``server``.
        ``(True, the server of a previous holder whose lease ran out, or None)`` if ``owner``
        now holds ``name``, else ``(False, the holder's server)``. A holder in another process
        is known by its server only, so that is all a claim tells."""

    def release(self, name: str, owner: Any) -> None:
        """Drop ``name`` if ``owner`` still holds it (its lease may have run out)."""

    def held(self, name: str, t: float) -> bool:
        """Does anyone hold ``name`` with a lease that has not run out? (Redis ``EXISTS``.)"""

    def watch(self, t: float, name: str, fn: Callable[..., None], timeout_s: float,
              *args: Any) -> None:
        """Call ``fn(t, *args)`` once: when ``notify`` wakes this watcher of ``name``, or
        ``timeout_s`` from now, whichever comes first -- or at once if nobody holds ``name``
        now (so a wake-up sent between a lost ``claim`` and this call is never missed). With
        a request first in ``args``, the wake-up is that request's look (as ``later``)."""

    def notify(self, t: float, name: str, everyone: bool = True) -> None:
        """Wake the watchers of ``name``: every one, or (``everyone`` False) only the one
        that has waited longest."""

    # ---- record, settings, randomness, counters
    def note(self, kind: str, t: float, req: Request, server: int | None, *fields: Any) -> None:
        """Record an event of ``kind`` (webapp.engine.events) about ``req``."""

    def config(self, section: str) -> Any:
        """The scenario section (``"strategy"``, ``"clients"``, ``"cache"``, ...) as a frozen
        record; a mitigation reads only its own keys."""

    def rng(self, stream: str) -> Any:
        """The named random stream (a ``random.Random`` seeded from the run's seed and
        ``stream``); the same name gives the same stream for the whole run."""

    def count(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to one of the run's counters (e.g. ``"stale_served"``)."""


class Mitigation(Protocol):
    """The hooks a mitigation may implement; each is optional, and a run's mitigations are
    built as ``cls(host)``. ``switch`` is the dotted scenario key that turns it on: the run uses
    it when that key is not its "off" value (``webapp.engine.scenario.OFF``); the coalescing
    strategies share ``strategy.coalesce`` and are picked by its value."""

    switch: str

    def on_miss(self, t: float, req: Request, attempt: int, server: int) -> None:
        """No fresh value (or no cache): decide who fetches and who waits (coalescing only;
        exactly one per run)."""

    def on_fresh(self, t: float, req: Request, attempt: int, server: int,
                 entry: Entry) -> bool:
        """A fresh value was read: return True to take over answering this attempt."""

    def on_expired(self, t: float, req: Request, attempt: int, server: int,
                   entry: Entry) -> bool:
        """An expired value was read: return True to answer it (else it is a miss)."""

    def ttl(self, ttl_s: float) -> float:
        """The TTL of the next value written (given the configured one)."""

    def on_publish(self, t: float, key: str) -> None:
        """live_video: a new chunk ``key`` is about to be announced."""

    def retry_delay(self, retry: int) -> float:
        """Seconds a client waits before retry number ``retry`` (1 for the first)."""

    def on_request(self, t: float) -> None:
        """A client starts a new request (its first attempt)."""

    def may_retry(self, t: float, req: Request, retry: int) -> bool:
        """A client is about to send retry number ``retry``: False forbids it (the request
        then ends with the failure that made it want to retry)."""

    def on_server_down(self, t: float, server: int) -> None:
        """``server`` died: forget what this mitigation kept in its memory."""

    # ---- lessons 12-14: the cache tier's limits and answers, and cold starts
    def admit(self, t: float) -> bool:
        """A new request arrives at ``t``: False sends it to another cluster (it is not run)."""

    def on_start(self, t: float, keys: list[str]) -> None:
        """hot_key: the run begins; ``keys`` are its keys, most popular first."""

    def on_arrive(self, t: float, req: Request, attempt: int, server: int) -> bool:
        """An attempt reached ``server``, before it asks the shared cache: True answers it."""

    def copies(self, key: str) -> int:
        """How many shards hold a copy of ``key`` (a write goes to each)."""

    def read_copy(self, key: str) -> int:
        """Which copy of ``key`` (0 .. copies - 1) a read goes to."""

    def on_absent(self, t: float, req: Request, attempt: int, server: int) -> bool:
        """No fresh value (and no stale one served): True takes the attempt over before the
        coalescing strategy counts a miss."""

    def on_fetched(self, t: float, key: str, server: int, status: str) -> None:
        """The datastore answered a query for ``key`` sent by ``server``: ``status`` is ``ok``
        (cached), ``uncacheable`` (a private answer: not cached), ``not_found`` or ``error``."""

    def on_wait(self, t: float, req: Request, attempt: int, server: int) -> None:
        """This attempt starts waiting on another request's fetch (a promise, lock or marker)."""
