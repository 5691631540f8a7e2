"""``Host.watch`` / ``Host.notify`` across processes: a waiting list on Redis, woken by pub/sub.

The notifying lock (strategies/notify.py) parks a waiter until the holder wakes it. In a real
fleet the waiters of one key sit in several processes, so the waiting list is shared:

- each process subscribes once to the run's wake-up channel (and waits for Redis to confirm, so
  no wake-up published after that can be missed);
- ``watch`` puts the waiter on its process's list and on the key's shared list in Redis
  (``RPUSH``), *then* asks whether anybody holds the name (``EXISTS``): a holder that released
  between the waiter's lost claim and now is seen, and the waiter is woken at once;
- ``notify(everyone=True)`` drops the shared list and publishes ``all``: every process wakes its
  own waiters of that name; ``notify(everyone=False)`` pops the longest-waiting id from the shared
  list and publishes it, in one Lua script, so only that waiter wakes (the hand-off after a failed
  fetch). A waiter that timed out meanwhile has left the list; if the id names nobody any more
  its process passes the hand-off on to the next one;
- a waiter not woken within ``timeout_s`` is woken anyway and leaves both lists;
- a wake-up says what woke it (``wake(sent)``): the notifier's time (seconds on the run's clock,
  which every process shares, carried in the message), ``None`` if the name was free when it
  watched, or ``"timeout"``: the host times each wake-up from it (host.py, ``look``).

python-redis-lock hands off with ``BLPOP`` on a list the holder pushes to; pub/sub is used here
instead because one published message must reach the waiters of many processes at once.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import gevent

# KEYS: the name's waiting list, the channel. ARGV: the name, the time it is sent. The longest
# waiter, told alone.
HAND_OFF = """
local id = redis.call('LPOP', KEYS[1])
if id then redis.call('PUBLISH', KEYS[2], 'one ' .. ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. id) end
return id
"""
LIST_TTL_MS = 3_600_000
SUBSCRIBE_TIMEOUT_S = 10.0


class Wakeups:
    """The waiters of this process. ``spawn(fn)`` runs a wake-up in a tracked greenlet (the host
    counts it as pending work); ``held(name)`` asks Redis whether anybody holds ``name``;
    ``send(*command)`` sends one command (the run's client: an app server pipelines them)."""

    def __init__(self, client: Any, prefix: str, tag: str,
                 spawn: Callable[[Callable[[], None]], gevent.Greenlet],
                 held: Callable[[str], bool],
                 send: Callable[..., Any] | None = None) -> None:
        self.r = client
        self.prefix = prefix
        self.channel = prefix + "wake"
        self.tag = tag
        self.spawn = spawn
        self.held = held
        self.send = send or client.execute_command
        self._ids = itertools.count()
        # name -> {watcher id: (callback, timeout greenlet)}, oldest first
        self.waiting: dict[str, dict[str, tuple[Callable[[Any], None], Any]]] = {}
        self._hand_off = client.register_script(HAND_OFF)
        self._pubsub = client.pubsub(ignore_subscribe_messages=False)
        self._pubsub.subscribe(self.channel)
        confirmed = self._pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
        if not confirmed or confirmed["type"] != "subscribe":
            raise RuntimeError("Redis did not confirm the wake-up subscription")
        self._listener = gevent.spawn(self._listen)

    def close(self) -> None:
        self._listener.kill(block=True, timeout=1.0)    # out of its read, then close
        self._pubsub.close()

    # ----------------------------------------------------------------- the port's two calls
    def watch(self, name: str, wake: Callable[[Any], None], timeout_s: float) -> None:
        wid = f"{self.tag}.{next(self._ids)}"
        timer = self.spawn(lambda: (gevent.sleep(timeout_s), self._timed_out(name, wid)))
        self.waiting.setdefault(name, {})[wid] = (wake, timer)
        key = self.prefix + name + ":waiting"
        self.send("RPUSH", key, wid)
        self.send("PEXPIRE", key, LIST_TTL_MS)
        if not self.held(self.prefix + name):
            self._leave_list(name, wid)
            self._wake(name, wid, None)

    def notify(self, name: str, everyone: bool, sent: float) -> None:
        """Wake ``name``'s waiters (all, or the longest-waiting), telling them ``sent``."""
        key = self.prefix + name + ":waiting"
        if everyone:
            self.r.pipeline().delete(key).publish(self.channel,
                                                  f"all {name} {sent!r}").execute()
        else:
            self._hand_off(keys=[key, self.channel], args=[name, repr(sent)])

    # ----------------------------------------------------------------- internals
    def _listen(self) -> None:
        for message in self._pubsub.listen():
            if message["type"] != "message":
                continue
            what, name, sent, *wid = message["data"].decode().split(" ")
            if what == "all":
                for one in list(self.waiting.get(name, ())):
                    self._wake(name, one, float(sent))
            elif wid and wid[0].startswith(self.tag + "."):
                if wid[0] in self.waiting.get(name, ()):
                    self._wake(name, wid[0], float(sent))
                else:   # it timed out just before: the hand-off goes to the next in line
                    self.spawn(lambda name=name, sent=float(sent): self.notify(
                        name, False, sent))

    def _wake(self, name: str, wid: str, sent: Any) -> None:
        waiters = self.waiting.get(name, {})
        entry = waiters.pop(wid, None)
        if not waiters:
            self.waiting.pop(name, None)
        if entry is None:
            return
        wake, timer = entry
        timer.kill(block=False)
        self.spawn(lambda: wake(sent))

    def _timed_out(self, name: str, wid: str) -> None:
        waiters = self.waiting.get(name, {})
        entry = waiters.pop(wid, None)
        if not waiters:
            self.waiting.pop(name, None)
        if entry is not None:
            self._leave_list(name, wid)
            entry[0]("timeout")

    def _leave_list(self, name: str, wid: str) -> None:
        self.r.lrem(self.prefix + name + ":waiting", 1, wid)
