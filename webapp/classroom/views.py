"""Pages of the classroom: the instructor's console, the presenter screen, ``/join`` and the QR code.

Pages hold no secrets: the control token lives only in the instructor's browser (sessionStorage)
and is presented over the socket. The QR code encodes the join URL (``address``: the configured
public address or this machine's own, never the request's Host header).
"""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, render_template, request

from webapp.classroom import address
from webapp.classroom.codes import display_code, normalize_code

bp = Blueprint("classroom", __name__)


def _base() -> tuple[str, str | None]:
    return address.public_base(current_app.extensions["herdlab.settings"])


def lesson_menu() -> list[dict]:
    """Lessons the console can show to the class, step by step (empty until lessons are loaded)."""
    course = current_app.extensions.get("herdlab.course")
    return [{"id": lesson.id, "title": lesson.title, "prediction": lesson.prediction is not None,
             "steps": [{"id": s.id, "title": s.title} for s in lesson.steps]}
            for lesson in (course.lessons if course else ())]


@bp.get("/classroom")
def console():
    return render_template("classroom/console.html", lessons=lesson_menu())


@bp.get("/classroom/present")
def present():
    base, guess = _base()
    return render_template("classroom/present.html", join_base=base, guess=guess)


@bp.get("/join")
def join():
    code = normalize_code(request.args.get("code", ""))
    return render_template("classroom/join.html", code=display_code(code) if code else "")


@bp.get("/classroom/qr.svg")
def qr():
    """The join URL of a code as a QR code (SVG: sharp at any projector size)."""
    code = normalize_code(request.args.get("code", ""))
    if code is None:
        abort(404)
    url = address.join_url(_base()[0], code)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=2, dark="#000", light="#fff",
                                    xmldecl=False, svgns=True, title=f"Join {display_code(code)}")
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "max-age=3600"})
