"""Charge before you check (issue 17, finding 7).

An intervention was checked (the engine's check, then the run's cost estimate with every input
it holds) before it was charged to its connection's budget, so a flood of inputs that the cost
check refuses cost the server 1-4 ms of CPU each, uncharged: 8 connections pushed a classmate's
time to first frame to 2.6 s. Here 8 connections each hold a run with 99 inputs and flood it with
``slow_db`` inputs the cost check refuses; only the few their budget allows are checked at all,
and a classmate's runs start at once.
"""
from __future__ import annotations

import json
import threading
import time

from tests.reliability.clients import RawSocket
from tests.reliability.conftest import Honest, busy_workers, first_frame_s, settle
from webapp.transport.slots import INPUT_BURST, INPUT_RATE

ATTACKERS = 8
FLOOD = 300
SERVED_S = 2.0
HEAVY = {"clients": {"count": 2000}, "duration_s": 60.0,
         "strategy": {"coalesce": "lock", "lock_poll_ms": 5}, "datastore": {"service_ms": 200}}
HELD = [{"t": 0.01 * i, "kind": "inject"} for i in range(99)]
REFUSED = {"kind": "slow_db", "factor": 100, "for_s": 600}   # over the step budget with HELD
COSTLY = "engine steps"        # the cost check's refusal says this
THROTTLED = "Too many interventions"


def attacker(url: str) -> tuple[RawSocket, str]:
    ws = RawSocket(url)
    ws.open_namespace("/lab")
    ws.emit("/lab", "start", {"scenario": HEAVY, "inputs": HELD, "speed": 0.05})
    while True:
        text = ws.read_text(timeout=10) or ""
        assert not text.startswith('42/lab,["error"'), text
        if text.startswith('42/lab,["started"'):
            return ws, json.loads(text[len("42/lab,"):])[1]["run_id"]


def refusals(ws: RawSocket, count: int, within_s: float) -> list[str]:
    """The messages of the first ``count`` ``error`` events about an input."""
    out: list[str] = []
    deadline = time.monotonic() + within_s
    while len(out) < count and time.monotonic() < deadline:
        try:
            text = ws.read_text(timeout=max(0.05, deadline - time.monotonic())) or ""
        except TimeoutError:
            break
        if text.startswith('42/lab,["error"'):
            error = json.loads(text[len("42/lab,"):])[1]
            if error["field"] == "input":
                out.append(error["message"])
    return out


def test_a_flood_of_refused_inputs_is_charged_first_and_a_classmate_starts_at_once(
        default_server):
    server = default_server
    attackers = [attacker(server.url) for _ in range(ATTACKERS)]
    try:
        # Their runs computed ahead (what is measured is the flood, not their first seconds).
        assert settle(lambda: busy_workers(server.proc.pid) == 0, timeout=60)
        flooded = time.monotonic()
        with Honest(server) as honest:
            for ws, run_id in attackers:
                message = f'42/lab,{json.dumps(["control", {"run_id": run_id, "action": "input", "input": REFUSED}])}'
                threading.Thread(target=ws.sock.sendall,
                                 args=(ws.frame(message.encode()) * FLOOD,)).start()
            waits = [first_frame_s(server.url) for _ in range(5)]
            answers = [refusals(ws, FLOOD, within_s=20) for ws, _ in attackers]
        elapsed = time.monotonic() - flooded
        honest.check(SERVED_S)
        # Five classmates start one after the other while the flood is read. The first queues
        # behind the 2,400 messages already sent, whatever is charged first: reading them takes
        # the server about 0.6 s on a quiet 2-core VM, 2.6 s beside a busy core and the rest of
        # the suite (run 52), so its wait measures the machine. The next ones start at once if
        # the flood costs little (unchecked inputs charged and refused): 0.06-0.2 s. Charged
        # after their check (the finding) the median was 2.6 s.
        assert sorted(waits)[2] < SERVED_S, f"classmates' first frames took {waits} s"
        assert max(waits) < 3 * SERVED_S, f"a classmate's first frame took {max(waits):.2f} s"
        allowed = INPUT_BURST + INPUT_RATE * elapsed + 1
        for messages in answers:
            assert len(messages) == FLOOD, "every input is answered"
            checked = [m for m in messages if COSTLY in m]
            assert 1 <= len(checked) <= allowed, (len(checked), allowed)
            assert all(THROTTLED in m for m in messages if COSTLY not in m)
    finally:
        for ws, _ in attackers:
            ws.close()
