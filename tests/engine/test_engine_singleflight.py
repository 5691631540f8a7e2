"""The singleflight group (webapp/strategies/singleflight.py) keeps Go's contract."""
from __future__ import annotations

from webapp.strategies.singleflight import Group


def test_do_suppresses_duplicates_while_a_call_is_in_flight():
    group, started = Group(), []
    assert group.do("k", "a", started.append) is None          # "a" leads
    call = started[0]
    for caller in "bcd":
        assert group.do("k", caller, started.append) is call   # the others wait on it
    assert len(started) == 1 and call.leader == "a"
    assert call.waiters == ["b", "c", "d"] and call.dups == 3


def test_keys_are_independent():
    group, started = Group(), []
    group.do("k1", "a", started.append)
    group.do("k2", "b", started.append)
    assert [c.leader for c in started] == ["a", "b"]


def test_done_forgets_the_call_so_the_next_do_starts_afresh():
    group, started = Group(), []
    group.do("k", "a", started.append)
    group.do("k", "b", started.append)
    ended = group.done("k")
    assert ended is started[0] and ended.waiters == ["b"]
    assert group.do("k", "c", started.append) is None          # coalesces, does not cache
    assert len(started) == 2 and started[1].leader == "c" and started[1].dups == 0


def test_work_that_ends_inside_start_leaves_nothing_behind():
    group = Group()
    ended = []
    assert group.do("k", "a", lambda call: ended.append(group.done("k"))) is None
    assert ended[0].leader == "a" and group.calls == {}


def test_forget_all_drops_every_call():
    group, started = Group(), []
    group.do("k1", "a", started.append)
    group.do("k2", "b", started.append)
    group.forget_all()
    assert group.calls == {}
    assert group.do("k1", "c", started.append) is None
