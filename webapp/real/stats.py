"""The one shape in which a real run reports a spread of times: ``{count, p50, p99, max}`` in ms."""
from __future__ import annotations

from webapp.engine.metrics import percentile


def ms_stats(seconds: list[float]) -> dict[str, float | int | None]:
    """Nearest-rank p50 and p99 and the max of ``seconds``, in ms (None when there are none)."""
    values = sorted(seconds)
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    return {"count": len(values), "p50": round(percentile(values, 50) * 1000, 3),
            "p99": round(percentile(values, 99) * 1000, 3), "max": round(values[-1] * 1000, 3)}
