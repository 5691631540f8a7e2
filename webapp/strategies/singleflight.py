"""A singleflight group: at most one call in flight per key; later callers wait for its result.

This is Go's ``golang.org/x/sync/singleflight.Group`` with callbacks instead of blocking: ``do``
either starts the work for a key or adds the caller to the call already in flight, and ``done``
ends the call. Its contract, as in Go:

- the entry is forgotten as soon as the call ends: a group coalesces, it does not cache (the
  cache does that), so the next ``do`` after a result or an error starts afresh;
- the one result, success or failure, reaches the leader and every waiter (the caller of
  ``done`` delivers it to ``call.leader`` and ``call.waiters``);
- ``dups`` counts the callers that shared a call instead of starting their own.

promise.py keeps one group per app server (process memory); distributed.py uses the same groups
and changes only how a leader gets the value.
"""
from typing import Any, Callable


class Call:
    """One call in flight: its leader and the callers waiting on it, and the work it waits for
    (``query``, once the leader has sent it), all opaque to the group."""

    __slots__ = ("leader", "waiters", "query")

    def __init__(self, leader: Any) -> None:
        self.leader = leader
        self.waiters: list[Any] = []
        self.query: Any = None

    @property
    def dups(self) -> int:
        return len(self.waiters)


class Group:
    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}

    def do(self, key: str, caller: Any, start: Callable[[Call], None]) -> Call | None:
        """Wait on the call in flight for ``key`` and return it; or, if there is none, make
        ``caller`` the leader of a new call, begin its work with ``start(call)`` and return None.
        The call is in the group before ``start`` runs, so work that ends at once can end it."""
        call = self.calls.get(key)
        if call is not None:
            call.waiters.append(caller)
            return call
        call = self.calls[key] = Call(caller)
        start(call)
        return None

    def done(self, key: str) -> Call:
        """The call for ``key`` has its result: forget it, and return it for delivery."""
        return self.calls.pop(key)

    def forget_all(self) -> None:
        """The memory holding the group is gone (its server died): drop every call."""
        self.calls.clear()
