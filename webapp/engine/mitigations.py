"""A run's mitigations, built for a host: the one place that turns a scenario into hooks.

The coalescing strategy ``strategy.coalesce`` names, then every other mitigation whose switch
key is not its "off" value (``scenario.OFF``), each built as ``cls(host)``. Any host -- the
simulation's, or a real one (issue 14) -- builds them here and calls each hook only on the
mitigations that implement it, in this order.
"""
from typing import Any, Callable

from webapp.engine.ports import Host
from webapp.engine.scenario import OFF, Scenario
from webapp.strategies import COALESCING, SWITCHED


class Mitigations:
    def __init__(self, scenario: Scenario, host: Host) -> None:
        self.coalescing = COALESCING[scenario.strategy.coalesce](host)
        self.all: list[Any] = [self.coalescing] + [
            cls(host) for cls in SWITCHED if scenario.get(cls.switch) != OFF[cls.switch]]

    def hooks(self, name: str) -> list[Callable[..., Any]]:
        """Every ``name`` hook of the run's mitigations, in order."""
        return [getattr(m, name) for m in self.all if hasattr(m, name)]

    def retry_delay(self) -> Callable[[int], float]:
        """The backoff before retry n, or none at all (retry at once)."""
        delays = self.hooks("retry_delay")
        return delays[0] if delays else _at_once


def _at_once(retry: int) -> float:
    return 0.0
