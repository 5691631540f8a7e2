"""A run's mitigations, built for a host: the one place that turns a scenario into hooks.

The coalescing strategy ``strategy.coalesce`` names, then every other mitigation whose switch
key is not its "off" value (``scenario.OFF``), each built as ``cls(host)``. Any host -- the
simulation's, or a real one (issue 14) -- builds them here and calls each hook only on the
mitigations that implement it, in this order.

An input may switch a mitigation mid-run (engine/inputs.py): ``switched`` gives the set for the
new scenario, keeping every instance whose switch has the same value as before (so a promise
table, a retry budget's window, keep their state, and switching back finds them again) and
building the others. An instance switched off keeps working on what it had begun -- its
callbacks are its own -- but gets no new work; ``ever`` reaches every instance ever built, for
what must reach them all (a server's death wipes its memory in each).
"""
from typing import Any, Callable

from webapp.engine.ports import Host
from webapp.engine.scenario import OFF, Scenario
from webapp.strategies import COALESCING, SWITCHED


class Mitigations:
    def __init__(self, scenario: Scenario, host: Host,
                 built: dict[tuple[type, Any], Any] | None = None) -> None:
        self.built: dict[tuple[type, Any], Any] = {} if built is None else built
        mode = scenario.strategy.coalesce
        self.coalescing = self._instance(COALESCING[mode], mode, host)
        self.all: list[Any] = [self.coalescing] + [
            self._instance(cls, scenario.get(cls.switch), host) for cls in SWITCHED
            if scenario.get(cls.switch) != OFF[cls.switch]]

    def _instance(self, cls: type, value: Any, host: Host) -> Any:
        mitigation = self.built.get((cls, value))
        if mitigation is None:
            mitigation = self.built[(cls, value)] = cls(host)
        return mitigation

    def switched(self, scenario: Scenario, host: Host) -> "Mitigations":
        """The mitigations of ``scenario`` (the host's configuration already is that one)."""
        return Mitigations(scenario, host, self.built)

    def hooks(self, name: str) -> list[Callable[..., Any]]:
        """Every ``name`` hook of the run's mitigations, in order."""
        return [getattr(m, name) for m in self.all if hasattr(m, name)]

    def ever(self, name: str) -> list[Callable[..., Any]]:
        """Every ``name`` hook of every mitigation built for the run, in force or not."""
        return [getattr(m, name) for m in self.built.values() if hasattr(m, name)]

    def retry_delay(self) -> Callable[[int], float]:
        """The backoff before retry n, or none at all (retry at once)."""
        delays = self.hooks("retry_delay")
        return delays[0] if delays else _at_once


def _at_once(retry: int) -> float:
    return 0.0
