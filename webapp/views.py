"""Pages and the small JSON API. Views only render; the engine and transport do the work."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

import webapp

bp = Blueprint("views", __name__)


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/lab")
def lab():
    """The live lab: the page streams runs over Socket.IO ``/lab`` and animates them."""
    return render_template("lab.html")


@bp.get("/healthz")
def healthz():
    """Liveness plus the two facts an operator asks first: which version, which async mode."""
    settings = current_app.extensions["herdlab.settings"]
    return jsonify(status="ok", version=webapp.__version__, async_mode=settings.async_mode)
