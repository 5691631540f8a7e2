"""Pages and the small JSON API. Views only render; the engine and transport do the work."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from webapp.engine import PRESETS, schema
from webapp.ops import refused
from webapp.transport.payloads import PayloadError, parse_run
from webapp.transport.slots import RUNS_KEY
from webapp.transport.summary import RunRefused, run_summary

bp = Blueprint("views", __name__)


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/lab")
def lab():
    """The live lab: the page streams runs over Socket.IO ``/lab`` and animates them."""
    return render_template("lab.html")


@bp.get("/api/schema")
def api_schema():
    """The engine's scenario keys; the lab page builds its sliders and switches from them."""
    return jsonify(schema())


@bp.get("/api/presets")
def api_presets():
    return jsonify(PRESETS)


@bp.post("/api/run")
def api_run():
    """Summary of a short run (e.g. "queries saved" against no mitigation), computed by a worker
    within the server's budget; validated, and refused up front if it would cost too much.
    Beside the engine's summary, ``inputs``: the run's inputs as checked (what makes it)."""
    try:
        scenario, inputs = parse_run(json_body())
        summary = run_summary(current_app.extensions[RUNS_KEY], scenario, inputs)
        return jsonify({**summary, "inputs": list(inputs)})
    except PayloadError as exc:
        refused("api_payload")
        return jsonify(error=str(exc), field=exc.field), 400
    except RunRefused as exc:
        refused(f"api_{exc.status}")
        return jsonify(error=str(exc), field=None), exc.status


def json_body() -> Any:
    """The request's JSON, or None when it is not JSON at all (too deep to parse counts as that).

    Flask's ``get_json(silent=True)`` turns a ValueError into None but lets a RecursionError
    (100,000 nested brackets) through as a 500.
    """
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None
