"""Pages of the classroom: the instructor's console, the presenter screen, ``/join`` and the QR code.

Pages hold no secrets: the control token lives only in the instructor's browser (sessionStorage)
and is presented over the socket. The QR code encodes the join URL, built from the address the
instructor reached the server by; when that is a loopback address (useless to students) the page
offers the machine's LAN address instead.
"""
from __future__ import annotations

import io
import socket
from urllib.parse import urlsplit

import segno
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from webapp.classroom.codes import display_code, normalize_code

bp = Blueprint("classroom", __name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def lan_address() -> str | None:
    """This machine's address on the network that leads outwards (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing decides the source address, nothing is sent
            return s.getsockname()[0]
    except OSError:
        return None


def join_base() -> tuple[str, bool]:
    """The origin students should use, and whether it had to be guessed (the page then says so)."""
    origin = request.host_url.rstrip("/")
    parts = urlsplit(origin)
    if parts.hostname not in LOOPBACK:
        return origin, False
    lan = lan_address()
    if lan is None:
        return origin, True
    return f"{parts.scheme}://{lan}{f':{parts.port}' if parts.port else ''}", True


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
    base, guessed = join_base()
    return render_template("classroom/present.html", join_base=base, guessed=guessed)


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
    base, _ = join_base()
    url = base + url_for("classroom.join", code=display_code(code))
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=2, dark="#000", light="#fff",
                                    xmldecl=False, svgns=True, title=f"Join {display_code(code)}")
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "max-age=3600"})
