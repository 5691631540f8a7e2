"""The datastore's line and a run's deadlines, without services or sockets: fair per connection
and per address, the turn to the first planned run, an honest longest wait, recordings kept
within a budget, and phases that cannot last for ever."""
from __future__ import annotations

import pickle
import time

import pytest

from webapp.engine import parse_scenario
from webapp.real.settings import DRAIN_S, RealSettings, bounded
from webapp.transport.payloads import PayloadError
from webapp.transport.realrun import (ENDING_S, KEEP_BYTES, MAX_WAITING, SIMULATING_S,
                                      STARTING_S, STOP_S, BoundedRecording, RealLine,
                                      RealStart, bound_s)
from webapp.transport.realsource import FAILED, RECORDING, STARTING, Recording

START = RealStart(parse_scenario({"duration_s": 2}), RealSettings(), False, 1.0, 100, 1)


class Run:
    """What the line knows of a run: its connection, address, plan and request."""

    def __init__(self, sid: str, address: str | None = None, planned: bool = True,
                 start: RealStart = START) -> None:
        self.outlet = type("Outlet", (), {"sid": sid})()
        self.address = address or f"10.0.0.{sid}"
        self.planned = b"plan" if planned else None
        self.request = start


def test_a_runs_statement_timeout_is_its_deadline_at_most_whatever_it_asks():
    scenario = parse_scenario({"duration_s": 2})
    for asked, given in ((0.0, 32_000.0), (60_000.0, 32_000.0), (50.0, 50.0)):
        settings = RealSettings(statement_timeout_ms=asked)
        assert bounded(settings, scenario).statement_timeout_ms == given


def test_a_run_is_bounded_by_its_phases_deadlines():
    assert bound_s(START) == STARTING_S + 2 + DRAIN_S + ENDING_S + STOP_S
    beside = RealStart(START.scenario, START.real, True, 1.0, 100, 1)
    assert bound_s(beside) == bound_s(START) + SIMULATING_S


def test_the_line_keeps_order_one_run_per_connection_and_a_bound():
    line = RealLine(None)
    runs = [Run(str(i)) for i in range(MAX_WAITING + 2)]
    line.join(runs[0])
    with pytest.raises(PayloadError, match="already have a real run"):
        line.join(Run("0", address="10.9.9.9"))
    assert line.take_turn(runs[0]) and line.place(runs[0]) == (0, 0, 0.0)
    for run in runs[1:MAX_WAITING + 1]:
        line.join(run)
    with pytest.raises(PayloadError, match=r"The line for the datastore is full \(6 real runs "
                                           r"are waiting\)\. A place frees within 2 min"):
        line.join(runs[-1])
    assert [line.place(r)[:2] for r in runs[1:4]] == [(1, 1), (2, 2), (3, 3)]
    assert not line.take_turn(runs[1])          # the datastore is busy
    line.leave(runs[2])
    assert line.place(runs[3])[:2] == (2, 2)
    line.recorded(runs[0], Recording({}, False))  # the first run's recording ended
    assert not line.take_turn(runs[3]) and line.take_turn(runs[1])


def test_one_run_waits_per_address_and_is_told_when_to_try_again():
    line = RealLine(None)
    # Every run here is bounded by 60 + 2 + 30 + 15 + 5 = 112 s: said as "2 min" (up to 10 s).
    line.join(running := Run("1", "10.0.0.7"))
    assert line.take_turn(running)
    line.join(waiting := Run("2", "10.0.0.7"))    # one recording and one waiting: allowed
    with pytest.raises(PayloadError) as refused:
        line.join(Run("3", "10.0.0.7"))
    message = str(refused.value)
    assert message == ("A real run from your address is already waiting for the datastore (at "
                       "most 1 per address, so that everyone gets a turn). Try again once it has "
                       "started: within 2 min at most.")
    line.join(Run("4", "10.0.0.8"))             # a classmate elsewhere is not refused
    line.leave(waiting)
    line.join(Run("5", "10.0.0.7"))             # its place freed, the address may wait again


def test_a_school_behind_one_address_may_let_more_wait():
    line = RealLine(None, per_address=2)
    line.join(Run("1", "10.0.0.7"))
    line.join(Run("2", "10.0.0.7"))
    with pytest.raises(PayloadError, match="2 real runs from your address are already waiting"):
        line.join(Run("3", "10.0.0.7"))


def test_the_wait_is_the_current_runs_remaining_bound_and_the_bounds_before_it():
    line = RealLine(None)
    line.join(first := Run("1"))
    assert line.take_turn(first)
    long = RealStart(parse_scenario({"duration_s": 60}), RealSettings(), True, 1.0, 100, 1)
    line.join(second := Run("2", start=long))
    line.join(third := Run("3"))
    place, ahead, wait = line.place(third)
    assert (place, ahead) == (2, 2)
    # The current run has just begun: nearly all of its bound is left.
    assert bound_s(START) + bound_s(long) - 1.0 < wait <= bound_s(START) + bound_s(long)
    assert line.place(second)[2] <= bound_s(START)


def test_the_turn_goes_to_the_first_planned_run():
    line = RealLine(None)
    line.join(slow := Run("1", planned=False))
    line.join(quick := Run("2"))
    assert not line.take_turn(slow) and line.take_turn(quick)   # a slow plan holds nobody
    line.release(quick)                                          # it gave its turn back
    slow.planned = b"plan"
    assert line.take_turn(slow)


def test_the_line_keeps_recordings_within_its_budget_dropping_the_oldest():
    line = RealLine(None)
    recs = []
    for i in range(3):
        rec = Recording({}, False)
        rec._handle(("events", 0, 0.5, pickle.dumps([[0.5, "sample", None, None, None, None]])))
        rec._handle(("done", 0.5, [{"mode": "real"}, None], False))
        rec.bytes = KEEP_BYTES // 2 - 1
        recs.append(rec)
        run = Run(str(i))
        line.join(run)
        assert line.take_turn(run)
        line.recorded(run, rec)
    assert [r.dropped for r in recs] == [True, False, False]
    assert recs[0].chunks == ([], []) and recs[0].bytes == 0


def test_a_phase_past_its_deadline_fails_the_recording_in_words():
    rec = BoundedRecording({}, START, time.monotonic())
    assert rec.limits[RECORDING] == 2 + DRAIN_S + ENDING_S
    rec.limits[STARTING] = 0.05
    rec.poll()
    assert rec.phase == STARTING                 # within its deadline
    time.sleep(0.06)
    rec.poll()
    assert rec.phase == FAILED
    assert rec.failed.startswith("The real run did not start within 0.05 s, so it was stopped.")
    assert "/" not in rec.failed and "Traceback" not in rec.failed


def test_a_new_phase_has_its_own_deadline():
    rec = BoundedRecording({}, START, time.monotonic())
    rec.limits[STARTING] = rec.limits[RECORDING] = 0.05
    time.sleep(0.06)
    rec._handle(("events", 0, 0.1, pickle.dumps([[0.1, "sample", None, None, None, None]])))
    rec.poll()
    assert rec.phase == RECORDING                # it moved on in time: a new clock
    time.sleep(0.06)
    rec.poll()
    assert rec.phase == FAILED and "went past its time bound" in rec.failed
