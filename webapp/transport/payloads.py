"""Validation of what the browser sends on ``/lab``: the ``start`` and ``control`` envelopes.

Everything here may come straight from an untrusted socket, so the envelope is checked for shape
and size *before* anything else looks at it, and every refusal names the field (dotted, as the page
shows it next to the control). Scenario semantics are not re-implemented: ``parse_scenario`` is the
one validator, shared with the command line, and its dotted key is prefixed with the envelope field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from webapp.engine import Scenario, ScenarioError, parse_scenario
from webapp.engine.inputs import MAX_AFTER_S, check_input, check_inputs

MIN_SPEED = 0.05
MAX_SPEED = 20.0
MAX_PAYLOAD_BYTES = 16384  # a full scenario is ~1 KB as JSON, 100 inputs ~6 KB; far larger is abuse
MAX_DEPTH = 4              # envelope -> scenario -> section -> value
MAX_STRING = 128
MAX_RUN_ID = 64
MAX_NUMBER = 2 ** 53       # larger integers are no setting's value (and some overflow a float)
DEFAULT_STEP_S = 0.1
MAX_STEP_S = 10.0
ACTIONS = ("pause", "resume", "step", "speed", "stop", "restart", "seek", "input")
START_KEYS = ("scenario", "preset", "speed", "compare", "animate_limit", "inputs")
CONTROL_KEYS = ("run_id", "action", "value", "pause", "input")
RUN_KEYS = ("scenario", "preset", "inputs")
MAX_RUN_INPUTS = 100           # inputs given to one run (at start and while it runs; not taps)
RUN_MAX_VIEWERS = 200_000      # POST /api/run answers within the request: keep it to ~a second
RUN_MAX_REQUESTS = 1_000_000   # viewers x live chunks


class PayloadError(ValueError):
    """A refused payload; ``field`` is the dotted name the browser should point at ("" = whole)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class StartRequest:
    """A validated ``start``: side A, optional side B (same seed), pacing and sampling."""

    scenario: Scenario
    compare: Scenario | None
    speed: float
    animate_limit: int
    inputs: tuple[dict[str, Any], ...] = ()   # engine input records, checked against both sides


@dataclass(frozen=True)
class ControlRequest:
    """A validated ``control``; ``value`` is a float for ``speed``, ``seek`` and ``step`` (virtual
    seconds to advance), else None; ``pause`` (seek only) leaves the run paused at the target;
    ``input`` (action ``input``) an input record without its time (``check_intervention``)."""

    run_id: str
    action: str
    value: float | None
    pause: bool = False
    input: Mapping[str, Any] | None = None


def parse_start(payload: Any, *, max_animate: int) -> StartRequest:
    """Validate a ``start`` envelope; ``max_animate`` is the server's ceiling for animate_limit."""
    body = envelope(payload, START_KEYS, "start")
    if "scenario" not in body:
        raise PayloadError("'scenario' is required (an object of engine keys, may be {}).",
                           "scenario")
    scenario = parse_scenario_field(_object(body, "scenario"), _preset(body))
    compare = None
    if body.get("compare") is not None:
        compare = _parse_compare(scenario, body["compare"])
    speed = parse_speed(body.get("speed", 1.0), "speed")
    limit = body.get("animate_limit", min(5000, max_animate))
    if not _is_int(limit) or not 1 <= limit <= max_animate:
        raise PayloadError(f"'animate_limit' must be an integer from 1 to {max_animate}.",
                           "animate_limit")
    inputs = parse_inputs(body.get("inputs", []), scenario, compare)
    return StartRequest(scenario, compare, speed, limit, inputs)


def parse_inputs(raw: Any, scenario: Scenario,
                 compare: Scenario | None = None) -> tuple[dict[str, Any], ...]:
    """A run's ``inputs``: at most ``MAX_RUN_INPUTS`` engine input records, each checked by the
    engine against side A and, in compare mode, side B (one list acts on both sides)."""
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, (list, tuple)):
        raise PayloadError("'inputs' must be a list of input records {t, kind, ...} "
                           "(docs/events.md, Inputs).", "inputs")
    if len(raw) > MAX_RUN_INPUTS:
        raise PayloadError(f"'inputs' has {len(raw)} records; a run takes at most "
                           f"{MAX_RUN_INPUTS}.", "inputs")
    return tuple(_on_both_sides(lambda side: check_inputs(side, raw), scenario, compare))


def check_intervention(record: Mapping[str, Any], t: float, scenario: Scenario,
                       compare: Scenario | None = None) -> dict[str, Any]:
    """An intervention (``control`` ``input``) at the run's time ``t``, checked on both sides;
    refusals name ``input.FIELD``."""
    try:
        return _on_both_sides(lambda side: check_input(side, {**record, "t": t}, "input"),
                              scenario, compare)
    except PayloadError as exc:
        if exc.field != "input.t":
            raise
        raise PayloadError(f"The run is at {t:g} s, too late to intervene: inputs act until "
                           f"{MAX_AFTER_S:g} s after the run's duration.", "input") from None


def _on_both_sides(check: Callable[[Scenario], Any], scenario: Scenario,
                   compare: Scenario | None) -> Any:
    """``check(side)`` for side A then side B; its ScenarioError becomes a PayloadError naming
    the field (and the side, for B)."""
    checked = None
    for label, side in (("", scenario), ("Side B: ", compare)):
        if side is None:
            continue
        try:
            result = check(side)
        except ScenarioError as exc:
            raise PayloadError(label + str(exc), exc.key) from None
        checked = result if checked is None else checked
    return checked


def parse_control(payload: Any) -> ControlRequest:
    """Validate a ``control`` envelope; whether the run exists is the namespace's business."""
    body = envelope(payload, CONTROL_KEYS, "control")
    run_id = body.get("run_id")
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_RUN_ID:
        raise PayloadError("'run_id' must be the id from a 'started' event.", "run_id")
    action = body.get("action")
    if action not in ACTIONS:
        raise PayloadError(f"'action' must be one of: {', '.join(ACTIONS)}.", "action")
    value = body.get("value")
    pause = body.get("pause", False)
    if action == "input":
        return _parse_intervention(run_id, body)
    if "input" in body:
        raise PayloadError("'input' applies to action input only.", "input")
    if action != "seek" and "pause" in body:
        raise PayloadError("'pause' applies to seek only.", "pause")
    if not isinstance(pause, bool):
        raise PayloadError("'pause' must be true or false.", "pause")
    if action == "speed":
        return ControlRequest(run_id, action, parse_speed(value, "value"))
    if action == "seek":
        if not _is_number(value) or value < 0:
            raise PayloadError("'value' for seek must be a virtual time in seconds, at least 0.",
                               "value")
        return ControlRequest(run_id, action, float(value), pause)
    if action == "step":
        if value is None:
            return ControlRequest(run_id, action, DEFAULT_STEP_S)
        if not _is_number(value) or not 0 < value <= MAX_STEP_S:
            raise PayloadError(f"'value' for step must be a number of virtual seconds above 0 "
                               f"and at most {MAX_STEP_S:g}.", "value")
        return ControlRequest(run_id, action, float(value))
    if value is not None:
        raise PayloadError(f"'{action}' takes no 'value'.", "value")
    return ControlRequest(run_id, action, None)


def _parse_intervention(run_id: str, body: Mapping[str, Any]) -> ControlRequest:
    """``{action: "input", input: {kind, ...}}``: its shape; the record is checked against the
    run's scenarios at the run's time (``check_intervention``)."""
    for key in ("value", "pause"):
        if key in body:
            raise PayloadError(f"'input' takes no '{key}'.", key)
    record = body.get("input")
    if not isinstance(record, Mapping):
        raise PayloadError("'input' must be an object {kind, ...fields} (docs/events.md, "
                           "Inputs).", "input")
    if "t" in record:
        raise PayloadError("'input.t' is not allowed: an intervention acts at the run's current "
                           "time, the instant the page shows.", "input.t")
    return ControlRequest(run_id, "input", None, input=dict(record))


def check_seek(value: float | None, limit_s: float) -> None:
    """A seek lands inside its run: ``parse_control`` checked ``value >= 0``, the run knows its end."""
    if value is None or value > limit_s:
        raise PayloadError(f"'value' for seek must be from 0 to {limit_s:g} "
                           "(the run's end).", "value")


def parse_run(payload: Any) -> tuple[Scenario, tuple[dict[str, Any], ...]]:
    """Validate ``POST /api/run``: same validation as ``start``, plus a cap on the work."""
    body = envelope(payload, RUN_KEYS, "run")
    scenario = parse_scenario_field(_object(body, "scenario"), _preset(body))
    inputs = parse_inputs(body.get("inputs", []), scenario)
    viewers = scenario.clients.count
    chunks = 1
    if scenario.workload.kind == "live_video":
        chunks = math.ceil(scenario.duration_s / scenario.workload.segment_s)
    if viewers > RUN_MAX_VIEWERS or viewers * chunks > RUN_MAX_REQUESTS:
        raise PayloadError(f"The summary API runs at most {RUN_MAX_VIEWERS:,} viewers and "
                           f"{RUN_MAX_REQUESTS:,} requests (viewers x chunks); use the live lab "
                           "or the command line for bigger runs.", "scenario.clients.count")
    return scenario, inputs


def parse_scenario_field(raw: Any, preset: str | None = None, field: str = "scenario") -> Scenario:
    """The engine's validation, with its dotted key reported under ``field`` (REST shares this)."""
    try:
        return parse_scenario(raw, preset=preset)
    except ScenarioError as exc:
        # get_preset names its argument "preset": that is an envelope field, not a scenario key.
        where = "preset" if exc.key == "preset" else _prefixed(field, exc.key)
        raise PayloadError(str(exc), where) from None


def parse_speed(value: Any, field: str) -> float:
    """A playback speed: a finite number from 0.05 (slow motion 20x) to 20."""
    if not _is_number(value) or not MIN_SPEED <= value <= MAX_SPEED:
        raise PayloadError(f"'{field}' must be a number from {MIN_SPEED:g} to {MAX_SPEED:g}.",
                           field)
    return float(value)


def check_shape(value: Any, field: str = "") -> None:
    """Refuse oversized or deeply nested input before any real parsing looks at it.

    Iterative (no recursion for an attacker to exhaust) and it stops at the first excess, so the
    cost is bounded by the limits, not by the size of what was sent.
    """
    budget = MAX_PAYLOAD_BYTES
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        budget -= 8
        if depth > MAX_DEPTH:
            raise PayloadError(f"'{path}' is nested too deeply.", path)
        if isinstance(item, str):
            if len(item) > MAX_STRING:
                raise PayloadError(f"'{path}' is too long (at most {MAX_STRING} characters).",
                                   path)
            budget -= len(item)
        elif isinstance(item, Mapping):
            for key, child in item.items():
                key_text = key if isinstance(key, str) else str(key)
                if len(key_text) > MAX_STRING:
                    raise PayloadError(f"A key under '{path or 'payload'}' is too long.", path)
                budget -= len(key_text)
                stack.append((child, f"{path}.{key_text}" if path else key_text, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, path, depth + 1) for child in item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_NUMBER:
            raise PayloadError(f"'{path}' is out of range (a number this large is no setting's "
                               "value).", path)
        if budget < 0:
            raise PayloadError(f"The payload is too large (at most {MAX_PAYLOAD_BYTES} bytes).",
                               field)


def envelope(payload: Any, keys: tuple[str, ...], event: str) -> Mapping[str, Any]:
    """The payload as a bounded mapping with only ``keys`` (the room's envelopes use this too)."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"'{event}' takes one object"
                           + (f" with keys: {', '.join(keys)}." if keys else "."), "")
    check_shape(payload)
    unknown = sorted(str(k) for k in payload if k not in keys)
    if unknown:
        raise PayloadError(f"'{unknown[0][:MAX_STRING]}' is not a known key of '{event}'"
                           + (f"; allowed: {', '.join(keys)}." if keys else "."),
                           unknown[0][:MAX_STRING])
    return payload


def _preset(body: Mapping[str, Any]) -> str | None:
    """The envelope's optional ``preset``; whether the name exists is ``parse_scenario``'s call."""
    preset = body.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise PayloadError("'preset' must be a preset name.", "preset")
    return preset


def _parse_compare(a: Scenario, overrides: Any) -> Scenario:
    """Side B is A with overrides; the seed stays A's so both sides see identical arrivals."""
    if not isinstance(overrides, Mapping):
        raise PayloadError("'compare' must be an object of engine keys for side B.", "compare")
    if "seed" in overrides and overrides["seed"] != a.seed:
        raise PayloadError("'compare.seed' must equal the scenario's seed: compare mode runs "
                           "both sides on the same seed.", "compare.seed")
    merged = a.to_dict()
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return parse_scenario_field(merged, None, "compare")


def _object(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``body[key]`` when it is an object; absent means ``{}``; anything else (null too) is refused."""
    value = body.get(key, {})
    if not isinstance(value, Mapping):
        raise PayloadError(f"'{key}' must be an object of engine keys (it may be {{}}).", key)
    return value


def _prefixed(field: str, key: str) -> str:
    return f"{field}.{key}" if key else field


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
