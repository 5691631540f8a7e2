"""The classroom pages and the QR code over plain HTTP."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("url", ["/classroom", "/classroom/present", "/join", "/join?code=abcd-efgh"])
def test_pages_render(client, url):
    res = client.get(url)
    assert res.status_code == 200 and b"<main" in res.data


def test_join_page_prefills_a_valid_code_only(client):
    assert b'value="ABCD-EFGH"' in client.get("/join?code=abcd efgh").data
    assert b'value="<' not in client.get("/join?code=<script>").data


def test_qr_code_is_an_svg_of_the_join_url(client):
    res = client.get("/classroom/qr.svg?code=ABCD-EFGH")
    assert res.status_code == 200 and res.mimetype == "image/svg+xml" and b"<svg" in res.data
    assert client.get("/classroom/qr.svg?code=nope").status_code == 404
