"""Ended runs kept for replay, and intervention budgets, are bounded per connection and for the
whole server (issue 9).

A kept run holds no simulation (a seek re-runs it in a worker), so counts bound the bytes; these
tests check the counts and that a run still playing, paused or holding a slot is never let go.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from webapp.transport import slots as slots_module
from webapp.transport.slots import (BUDGETS_SWEEP_AT, INPUT_BURST, INPUT_RATE, KEPT_PER_CONNECTION,
                                   RunSlots)


@dataclass
class FakeRun:
    run_id: str
    holds_slot: bool = False
    running: bool = False


@pytest.fixture
def slots():
    s = RunSlots(SimpleNamespace(max_runs_per_server=4, worker_spares=0))
    yield s
    s.pool.close()


def test_a_connection_keeps_its_newest_runs_and_never_one_still_playing(slots):
    slots.connect("a")
    playing = FakeRun("playing", holds_slot=True, running=True)
    slots.keep("a", playing)
    for i in range(KEPT_PER_CONNECTION + 3):
        slots.keep("a", FakeRun(f"r{i}"))
    kept = list(slots.connections["a"])
    assert len(kept) == KEPT_PER_CONNECTION
    assert "playing" in kept and kept[-1] == f"r{KEPT_PER_CONNECTION + 2}"
    assert slots.kept() == KEPT_PER_CONNECTION


def test_the_server_lets_the_oldest_ended_runs_of_any_connection_go(slots, monkeypatch):
    monkeypatch.setattr(slots_module, "KEPT_PER_SERVER", 10)
    paused = FakeRun("paused", holds_slot=True)           # the oldest, but it holds a slot
    for c in range(5):
        slots.connect(f"c{c}")
    slots.keep("c0", paused)
    for c in range(5):                                    # 5 connections x 3 ended runs
        for i in range(3):
            slots.keep(f"c{c}", FakeRun(f"c{c}-{i}"))
    assert slots.kept() == 10
    every = {run_id for runs in slots.connections.values() for run_id in runs}
    assert "paused" in every                              # never let go while it holds a slot
    # 16 kept, 10 allowed: the six oldest ended runs went (c0's and c1's), the newest nine stay.
    assert every == {"paused", *{f"c{c}-{i}" for c in range(2, 5) for i in range(3)}}
    assert list(slots.connections["c0"]) == ["paused"] and not slots.connections["c1"]


def test_a_gone_connection_frees_its_share_of_the_server_bound(slots):
    slots.connect("a")
    slots.connect("b")
    for i in range(3):
        slots.keep("a", FakeRun(f"a{i}"))
        slots.keep("b", FakeRun(f"b{i}"))
    gone = slots.disconnect("a")
    assert [r.run_id for r in gone] == ["a0", "a1", "a2"]
    assert slots.kept() == 3 and "a" not in slots.connections
    slots.drop("b", "b1")
    assert list(slots.connections["b"]) == ["b0", "b2"] and slots.kept() == 2


def test_a_gone_connection_keeps_no_run_and_no_entry(slots):
    """A start handled after its connection's disconnect (two threads, or greenlets, at once)
    is not kept: kept, it would play to nobody, holding its slot, and the connection's entry
    would come back for good."""
    slots.connect("a")
    assert slots.keep("a", FakeRun("a0"))
    assert [r.run_id for r in slots.disconnect("a")] == ["a0"]
    assert not slots.keep("a", FakeRun("a1"))
    assert "a" not in slots.connections and slots.kept() == 0
    assert not slots.keep("never-connected", FakeRun("x"))


def test_intervention_budgets_are_bounded_and_a_spent_one_is_kept(slots, monkeypatch):
    """A budget made for a connection already gone (a control handled after its disconnect) is
    never forgotten by ``forget``: once the table grows, the budgets that have refilled go (a
    full one is the same as none), and one still refilling stays."""
    clock = [1000.0]
    monkeypatch.setattr(slots_module.time, "monotonic", lambda: clock[0])
    sizes = []
    for i in range(2000):                                  # one intervention each, then gone
        assert slots.admit_input(f"gone{i}")
        sizes.append(len(slots._input_budgets))
        clock[0] += 0.1                                    # ~20 refilling at any time
    assert max(sizes) <= BUDGETS_SWEEP_AT
    for _ in range(int(INPUT_BURST)):
        assert slots.admit_input("spender")                # spent: 20 s to refill
    clock[0] += 2 / INPUT_RATE                             # 2 back, the one-shot ones full
    for i in range(BUDGETS_SWEEP_AT + 1):                  # a sweep on the way
        slots.admit_input(f"later{i}")
    kept = set(slots._input_budgets)
    assert "spender" in kept and not any(sid.startswith("gone") for sid in kept)
    assert slots.admit_input("spender") and slots.admit_input("spender")
    assert not slots.admit_input("spender")                # its budget was kept, not renewed
