"""The ``/real`` page: the live lab on real services (its runs go over ``/real``)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from webapp.real.settings import MAX_DURATION_S, MAX_POOL_TOTAL, MAX_REQUESTS

bp = Blueprint("real", __name__)


@bp.get("/real")
def page():
    """When the services' binaries are missing the page says the one command to install them."""
    line = current_app.extensions["herdlab.real"]
    return render_template("real.html", missing=line.missing, max_requests=MAX_REQUESTS,
                           max_duration_s=MAX_DURATION_S, max_connections=MAX_POOL_TOTAL)
