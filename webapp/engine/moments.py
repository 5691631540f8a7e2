"""Moments: the instants of a run worth seeing, marked while it runs (story mode, issue 11).

A page that plays a run can ease into slow motion before a moment and hold on it with a caption,
so it must know them all before playback. They are therefore *system* events (kind ``moment``,
``viewer`` None): made whatever is recorded per request, so a summary-only pre-pass finds exactly
the moments of the recorded run: ``Simulation.moments`` lists them (``compact`` makes each a small
JSON-able dict, e.g. for a page that eases into them), the summary counts them. They are found
from what the run does anyway -- a miss, an attempt ending, a wait noted through the port, a
leader's query answered, a datastore state change, a server dying, a retry arriving, a sample --
with a few counters per key, never a second pass over the run. Each ``what`` is made at most
``MAX_PER_WHAT`` times per run (the rest are counted in the summary's ``moments_dropped``).

A moment is made when the run knows it, so the event stream stays in time order; two of them
are known only a little after the instant they show, and say that instant in ``at``: a herd's
peak (its maximum, known once the herd has drained to half of it) and a retry wave (the retries
that arrived in it, known once a window of ``WAVE_S`` brings fewer than ``WAVE_MIN``). A page
shows a moment at ``at`` when it has one, else at ``t``.

The vocabulary (docs/events.md has the caption each one supports):

- ``first_miss``: a key is missed, and no herd for it is under way: a herd begins. A herd (with
  the cache on) lasts until a value for the key has been written and every attempt that missed
  it has ended. ``next``: ``all_fetch`` (no coalescing), ``one_per_server`` (promise) or
  ``one_fetches``.
- ``herd_peak``: at ``at`` ``number`` attempts were waiting for the key, the most of the herd
  so far: made once the herd has drained to half of that (or a new herd for the key begins),
  with at least 2 waiting; again later in the same herd only if more than twice as many wait
  then (so at most a few per herd, each its own maximum).
- ``resolved``: a coalescing leader's query for ``key`` is answered (``ok``): ``number`` requests
  were waiting on it -- promise: that server's call's waiters, answered now (``next``
  ``answered``); notify: every waiter of the key, woken now (``answered``); lock and distributed:
  every waiter of the key in the fleet, who find the value at their next poll (``next_poll``). A
  failure: promise waiters get the error (``error``), a lock or marker passes on (``handover``).
- ``db_overloaded`` (``number`` queued; with crash on, ``until`` when it crashes if the overload
  lasts, ``next`` ``crash``), ``db_down`` (``number`` queries it failed, ``until`` its recovery,
  ``next`` ``recover``), ``db_recovered`` (back up after a crash; or, after an overload, once it
  has stayed below the overload line for ``CALM_S``, at the first sample after that: a later
  overload is a new ``db_overloaded``).
- ``server_down``: ``server`` died, failing ``number`` attempts (``next`` ``retry_elsewhere`` if
  clients retry, else ``fail``); ``takeover``: the first leader fetch of a key by another server
  after the server that was fetching it as leader died (``from_server``).
- ``retry_wave``: at least ``WAVE_MIN`` retries arrive within ``WAVE_S``: the wave begins at the
  first of them (``at``) and goes on window by window (of ``WAVE_S``) while each brings at least
  ``WAVE_MIN``; ``number`` retries arrived in it, the last at ``until``. Made when its last
  window is over, so a storm that goes on is one wave.
- ``slow_start`` (``factor``, ``until`` or None) and ``slow_end``: the datastore's slowdown.
"""
from collections import deque
from typing import Any, Callable

from webapp.engine.events import MOMENT, Event
from webapp.engine.recorder import Recorder

MAX_PER_WHAT = 100
CALM_S = 1.0             # an overload is over once the queue has stayed short this long
WAVE_S = 0.01            # retries arriving within this window ...
WAVE_MIN = 20            # ... at least this many of them, are a wave
HERD_KEYS = 8            # samples give the sizes of at most this many herds (the largest)

FIRST_MISS, HERD_PEAK, RESOLVED = "first_miss", "herd_peak", "resolved"
DB_OVERLOADED, DB_DOWN, DB_RECOVERED = "db_overloaded", "db_down", "db_recovered"
SERVER_DOWN, TAKEOVER, RETRY_WAVE = "server_down", "takeover", "retry_wave"
SLOW_START, SLOW_END = "slow_start", "slow_end"
WHATS = (FIRST_MISS, HERD_PEAK, RESOLVED, DB_OVERLOADED, DB_DOWN, DB_RECOVERED, SERVER_DOWN,
         TAKEOVER, RETRY_WAVE, SLOW_START, SLOW_END)
FIELDS = ("key", "server", "req", "number", "until", "next", "from_server", "factor", "ok", "at")

_FIRST_NEXT = {"none": "all_fetch", "promise": "one_per_server"}
_RESOLVED_NEXT = {"promise": "answered", "notify": "answered"}
_HEALTHY, _OVERLOADED, _DOWN = "healthy", "overloaded", "down"
# A herd: [attempts waiting, the last peak made, a value was written, the most waiting since
# the last peak (or the herd's start), when that was first reached]
_COUNT, _TOLD, _WRITTEN, _MOST, _MOST_T = range(5)
# A retry wave: [first arrival, retries arrived, arrived in the window, last arrival, window end]
_START, _ARRIVED, _IN_WINDOW, _LAST, _WINDOW_END = range(5)


def compact(ev: Event) -> dict[str, Any]:
    """A moment event as a small dict: ``t``, ``what`` and only the fields that apply."""
    d = ev.to_dict()
    out = {"t": d["t"], "what": d["what"]}
    out.update((name, d[name]) for name in FIELDS if d[name] is not None)
    return out


class Moments:
    """Kept by the lifecycle (the simulated host), which calls the hooks below. ``scenario`` is
    the one in force (an input may switch a mitigation mid-run); ``later(t, fn, *args)`` makes a
    timer (a retry wave's windows end on one). Herds are made by cache misses only
    (``missed``), so a run without a cache has none.

    Requests carry two fields for it: ``missed`` (the attempt in flight missed the cache and
    counts in its key's herd) and ``waits`` (the server it waits at on another request's fetch,
    from a ``*_wait`` note, or None)."""

    def __init__(self, recorder: Recorder, scenario: Any,
                 later: Callable[..., None]) -> None:
        self.recorder = recorder
        self.scenario = scenario
        self.later = later
        self.events: list[Event] = []
        self.dropped = 0
        self._made: dict[str, int] = {}
        self._herds: dict[str, list] = {}                # key -> a herd (see _COUNT ...)
        self._waits: dict[str, int] = {}                 # key -> attempts waiting on a fetch
        self._waits_at: dict[tuple[str, int], int] = {}  # (key, server) -> the same
        self.orphans: dict[str, int] = {}                # key -> the dead server leading it
        self._db = _HEALTHY
        self._calm_since: float | None = None
        self._recent: deque[float] = deque(maxlen=WAVE_MIN)   # the latest retry arrivals
        self._wave: list | None = None                   # the retry wave under way
        self._window = 0                                 # its window's timer (older are stale)

    def made(self) -> dict[str, int]:
        """How many of each ``what`` were made (every ``what``, zeros included)."""
        return {what: self._made.get(what, 0) for what in WHATS}

    # ---------------------------------------------------------------- what samples show
    def waiting(self, servers: int) -> list[int]:
        """Attempts waiting on another request's fetch, per server (its promise ring, its lock
        pollers, its marker waiters): exact whatever is recorded."""
        out = [0] * servers
        for (_, server), n in self._waits_at.items():
            out[server] += n
        return out

    def herd_sizes(self) -> dict[str, int]:
        """Attempts in flight that missed, per key with a herd under way (the largest
        ``HERD_KEYS``)."""
        sizes = [(herd[_COUNT], key) for key, herd in self._herds.items() if herd[_COUNT]]
        if len(sizes) > HERD_KEYS:
            sizes = sorted(sizes, reverse=True)[:HERD_KEYS]
        return {key: n for n, key in sizes}

    # ---------------------------------------------------------------- making one
    def _make(self, t: float, what: str, req: Any = None, server: int | None = None,
              key: str | None = None, number: int | None = None, until: float | None = None,
              next_: str | None = None, from_server: int | None = None,
              factor: float | None = None, ok: bool | None = None,
              at: float | None = None) -> None:
        made = self._made.get(what, 0)
        if made >= MAX_PER_WHAT:
            self.dropped += 1
            return
        self._made[what] = made + 1
        ev = Event((t, MOMENT, None if req is None else req.id, None, server, key, what, number,
                    until, next_, from_server, factor, ok, at))
        self.events.append(ev)
        self.recorder.system(ev)

    # ---------------------------------------------------------------- herds and waits
    def missed(self, t: float, req: Any, server: int) -> None:
        """A cache miss (the lifecycle has set ``req.missed``)."""
        herd = self._herds.get(req.key)
        if herd is not None and not herd[_WRITTEN]:
            herd[_COUNT] += 1
            if herd[_COUNT] > herd[_MOST]:
                herd[_MOST], herd[_MOST_T] = herd[_COUNT], t
            return
        # A new herd (the key was written since the last one began, and missed again); the
        # attempts of the last one still in flight count in it, and that one's peak is told.
        count = 1
        if herd is not None:
            self._peak(t, req.key, herd)
            count += herd[_COUNT]
        self._herds[req.key] = [count, 0, False, count, t]
        mode = self.scenario.strategy.coalesce
        self._make(t, FIRST_MISS, req, server, req.key, next_=_FIRST_NEXT.get(mode, "one_fetches"))

    def waiting_on(self, req: Any, server: int) -> None:
        """A ``promise_wait``, ``lock_wait`` or ``marker_wait``: this attempt waits on another
        request's fetch."""
        if req.waits is not None:
            return
        req.waits = server
        key = req.key
        self._waits[key] = self._waits.get(key, 0) + 1
        at = (key, server)
        self._waits_at[at] = self._waits_at.get(at, 0) + 1

    def _unwait(self, req: Any) -> None:
        key, at = req.key, (req.key, req.waits)
        req.waits = None
        n = self._waits[key] - 1
        if n:
            self._waits[key] = n
        else:
            del self._waits[key]
        n = self._waits_at[at] - 1
        if n:
            self._waits_at[at] = n
        else:
            del self._waits_at[at]

    def ended(self, t: float, req: Any) -> None:
        """An attempt that missed is over (answered, failed or given up)."""
        req.missed = False
        if req.waits is not None:
            self._unwait(req)
        herd = self._herds.get(req.key)
        if herd is None:
            return
        herd[_COUNT] -= 1
        if 2 * herd[_COUNT] <= herd[_MOST]:
            self._peak(t, req.key, herd)
        if not herd[_COUNT] and herd[_WRITTEN]:
            del self._herds[req.key]

    def written(self, t: float, key: str) -> None:
        """A value for ``key`` was written (nobody needs to take over its fetch any more)."""
        if self.orphans:
            self.orphans.pop(key, None)
        herd = self._herds.get(key)
        if herd is None:
            return
        herd[_WRITTEN] = True
        if not herd[_COUNT]:
            del self._herds[key]

    def _peak(self, t: float, key: str, herd: list) -> None:
        """The herd has drained to half its most since the last peak (or a new one begins): that
        most is a peak if at least 2 and more than twice the last one. Either way the most is
        counted afresh from here."""
        most = herd[_MOST]
        if most >= 2 and most > 2 * herd[_TOLD]:
            herd[_TOLD] = most
            self._make(t, HERD_PEAK, key=key, number=most, at=herd[_MOST_T])
        herd[_MOST], herd[_MOST_T] = herd[_COUNT], t

    def fetching(self, t: float, req: Any, server: int) -> None:
        """A leader's fetch: it no longer waits on anyone; it may take over from a dead one."""
        if req.waits is not None:
            self._unwait(req)
        dead = self.orphans.pop(req.key, None) if self.orphans else None
        if dead is not None:
            self._make(t, TAKEOVER, req, server, req.key, from_server=dead, next_="fetch")

    def resolving(self, t: float, q: Any, ok: bool) -> None:
        """A leader's query is answered (its server alive), before anyone hears of it."""
        key = q.key
        mode = self.scenario.strategy.coalesce
        n = (self._waits_at.get((key, q.server), 0) if mode == "promise"
             else self._waits.get(key, 0))
        if n:
            next_ = (_RESOLVED_NEXT.get(mode, "next_poll") if ok
                     else "error" if mode == "promise" else "handover")
            self._make(t, RESOLVED, q.req, q.server, key, number=n, next_=next_, ok=ok)

    # ---------------------------------------------------------------- the datastore
    def db_state(self, t: float, state: str, recover_at: float | None, number: int) -> None:
        """The datastore changed state (``number``: queued, or the queries a crash failed)."""
        if state == "overloaded":
            self._calm_since = None
            if self._db == _HEALTHY:
                self._db = _OVERLOADED
                d = self.scenario.datastore
                self._make(t, DB_OVERLOADED, number=number,
                           until=t + d.crash_after_s if d.crash else None,
                           next_="crash" if d.crash else None)
        elif state == "down":
            self._db = _DOWN
            self._calm_since = None
            self._make(t, DB_DOWN, number=number, until=recover_at, next_="recover")
        elif self._db == _DOWN:
            self._db = _HEALTHY
            self._make(t, DB_RECOVERED)
        elif self._db == _OVERLOADED:
            self._calm_since = t

    def sample(self, t: float) -> None:
        """Every sample: an overload that has been over for ``CALM_S`` is reported over."""
        if self._calm_since is not None and t - self._calm_since >= CALM_S:
            self._calm_since = None
            self._db = _HEALTHY
            self._make(t, DB_RECOVERED)

    def slow(self, t: float, factor: float, until: float | None) -> None:
        if factor == 1.0:
            self._make(t, SLOW_END)
        else:
            self._make(t, SLOW_START, until=until, factor=factor)

    # ---------------------------------------------------------------- servers and retries
    def server_down(self, t: float, server: int, failed: int, leading: list[str]) -> None:
        """``server`` died failing ``failed`` attempts, while leading fetches of ``leading``."""
        retries = self.scenario.clients.retries
        self._make(t, SERVER_DOWN, server=server, number=failed,
                   next_="retry_elsewhere" if retries else "fail")
        for key in leading:
            self.orphans[key] = server

    def retry_arrived(self, t: float) -> None:
        """A retry arrives at ``t``: counted in the wave under way, or the last of ``WAVE_MIN``
        arriving within ``WAVE_S``, which begin one."""
        wave = self._wave
        if wave is not None and t >= wave[_WINDOW_END]:
            self._window_over(t)         # (its timer, due at this instant too, comes later)
            wave = self._wave
        recent = self._recent
        recent.append(t)
        if wave is not None:
            wave[_ARRIVED] += 1
            wave[_IN_WINDOW] += 1
            wave[_LAST] = t
        elif len(recent) == WAVE_MIN and t - recent[0] < WAVE_S:
            self._wave = [recent[0], WAVE_MIN, WAVE_MIN, t, recent[0] + WAVE_S]
            self._window_timer()

    def _window_timer(self) -> None:
        self._window += 1
        self.later(self._wave[_WINDOW_END], self._window_due, self._window)

    def _window_due(self, t: float, window: int) -> None:
        if window == self._window and self._wave is not None:
            self._window_over(t)

    def _window_over(self, t: float) -> None:
        """A window of the wave is over: the wave goes on if it brought ``WAVE_MIN``, else it
        is over, and told."""
        wave = self._wave
        if wave[_IN_WINDOW] >= WAVE_MIN:
            wave[_IN_WINDOW] = 0
            wave[_WINDOW_END] += WAVE_S
            self._window_timer()
            return
        self._wave = None
        self._window += 1
        self._make(t, RETRY_WAVE, number=wave[_ARRIVED], at=wave[_START], until=wave[_LAST])
