"""Planning a real run -- its arrivals, from the simulation of the same scenario -- in a worker
process of its own, bounded like a simulated run, while the run waits in the datastore's line.

A plan is a simulation, and a scenario can make one as costly as any simulated run: lock waiters
polling every millisecond while each query takes 6,000 s made a plan of about 5x10^14 steps,
computed at nice 0 in the real-run worker while it held the datastore and the head of the line.
So, now:

- the web process refuses a scenario whose estimated steps are over the budget per run before
  anything else (``transport.budget.check_cost``, as ``/lab`` does);
- the plan is computed by ``python -m webapp.real.planner FD``, given ``("plan", request)`` on
  its end of a socket pair (``webapp.worker.channel``'s framing, as the real-run worker): niced,
  and demoted as it computes, like a simulation worker (``worker.limits.Priority``), within the
  run's CPU budget (checked as it goes, with the kernel's ``RLIMIT_CPU`` as the backstop), a
  memory limit and ``max_steps``; it answers ``("planned", blob, requests)`` (``blob``: the
  pickled ``fleet.Plan``, which the web process only passes on) or ``("error", key, message)``
  and exits;
- the simulation stops at ``duration_s`` (``fleet.plan``): every first arrival, live chunk and
  warm key comes before it, and what follows is the real run's to find out;
- ``Planning`` is the web side: it starts that worker, reads it without blocking, and kills it
  past its wall-time budget. The run joins the line first and plans while it waits, so a slow
  plan holds nobody's turn (the line takes the first *planned* run).

The plan then travels with the run's request (``request["plan"]``, the blob) to the worker that
runs it.
"""
from __future__ import annotations

import pickle
import signal
import socket
import sys
import time
from typing import Any, Callable

from webapp.engine.scenario import ScenarioError, parse_scenario
from webapp.real.settings import check, parse_settings
from webapp.worker import limits
from webapp.worker.channel import Channel, ChannelClosed, WorkerEnd

PLANNED, FAILED = "planned", "failed"


def work(request: dict[str, Any], send: Callable[[tuple], Any]) -> int:
    """The worker side: plan ``request`` (its ``cpu_s``, ``memory_mb`` and ``max_steps`` are
    the budgets) and send the outcome; the exit status."""
    from webapp.real.fleet import PlanTooCostly, plan

    priority = limits.Priority()
    cpu_s = float(request["cpu_s"])
    deadline = limits.apply(cpu_s, int(request.get("memory_mb") or 0))
    reserve = bytearray(1 << 20)        # freed on MemoryError: room to say what happened

    def budget() -> None:
        priority.check()
        if time.process_time() > deadline:
            raise limits.BudgetExceeded(f"Planning this real run needed more than {cpu_s:g} s "
                                        "of computing, this server's budget per run.")

    try:
        scenario = parse_scenario(request.get("scenario") or {}, preset=request.get("preset"))
        check(scenario, parse_settings(request.get("real") or {}), bool(request.get("beside")))
        planned = plan(scenario, int(request["max_steps"]), budget)
    except ScenarioError as exc:
        send(("error", exc.key, str(exc)))
        return 2
    except (limits.BudgetExceeded, PlanTooCostly) as exc:
        send(("error", None, _costly(str(exc))))
        return 1
    except MemoryError:
        del reserve
        send(("error", None, _costly("Planning this real run needed more memory than this "
                                     "server allows per run.")))
        return 1
    send(("planned", pickle.dumps(planned, protocol=pickle.HIGHEST_PROTOCOL),
          len(planned.arrivals)))
    return 0


def _costly(why: str) -> str:
    why = why[0].upper() + why[1:].rstrip(".")
    return (f"{why}. Fewer requests, a shorter duration or slower polling make it cheaper; "
            "the command line (python -m webapp real run) has no such budget.")


class Planning:
    """The web side of one plan: ``poll()`` until ``state`` is ``PLANNED`` (``plan``: the
    pickled plan, ``requests``: how many it has) or ``FAILED`` (``failed``: the message,
    ``failed_key``: the field, if one is to blame)."""

    def __init__(self, request: dict[str, Any], wall_s: float) -> None:
        from webapp.real import worker as real_worker

        self._end_process = real_worker.end_process
        self.state = "planning"
        self.plan: bytes | None = None
        self.requests = 0
        self.failed: str | None = None
        self.failed_key: str | None = None
        self.wall_s = wall_s
        self._deadline = time.monotonic() + wall_s
        self._proc, sock = real_worker.spawn(request, kind="plan")
        self._channel: Channel | None = Channel(sock)

    def poll(self) -> str:
        """Take what the planner sent (never blocks); its state."""
        if self._channel is None:
            return self.state
        try:
            bodies = self._channel.receive()
        except ChannelClosed:
            bodies = []
            self._fail("The real run could not be planned (its planning process ended).")
        for body in bodies:
            message = pickle.loads(body)
            if message[0] == "planned":
                _, self.plan, self.requests = message
                self.state = PLANNED
            elif message[0] == "error":
                self._fail(str(message[2]), message[1])
        if self.state == "planning" and time.monotonic() > self._deadline:
            self._fail(f"Planning this real run took more than {self.wall_s:g} s, this server's "
                       "budget per run; it was stopped. Fewer requests, a shorter duration or "
                       "slower polling make it cheaper.")
        if self.state != "planning":
            self.close()
        return self.state

    def close(self) -> None:
        """Done with the planner: it is killed if still at work, and reaped."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._end_process(self._proc, grace_s=2.0, finished=self.state == PLANNED)

    def _fail(self, message: str, key: str | None = None) -> None:
        if self.failed is None:
            self.failed, self.failed_key = message, key
        self.state = FAILED


def main(argv: list[str]) -> int:
    """``python -m webapp.real.planner FD``: one plan, then exit (started by ``Planning``)."""
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m webapp.real.planner FD (started by the web app)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    end = WorkerEnd(socket.socket(fileno=int(argv[0])))
    try:
        message = end.receive(None)
    except ChannelClosed:
        return 1
    if not (isinstance(message, tuple) and len(message) == 2 and message[0] == "plan"
            and isinstance(message[1], dict)):
        end.send(("error", None, "bad request: expected ('plan', {...})"))
        return 2
    try:
        return work(message[1], end.send)
    except ChannelClosed:      # the web process went away: nobody to tell
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
