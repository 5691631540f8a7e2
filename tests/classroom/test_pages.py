"""The classroom pages and the QR code over plain HTTP."""
from __future__ import annotations

import re

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


PLAIN = {"testing": True, "async_mode": "threading", "secret_key": "test-secret"}
HINT = re.compile(r'<p class="cr-muted cr-small" id="address-hint">(.*?)</p>', re.S)


@pytest.mark.parametrize(("app_config", "says", "never"), [
    # A laptop listening on itself only: a public URL, or serve the room directly.
    ({**PLAIN, "host": "127.0.0.1"}, ("HERDLAB_PUBLIC_URL", "HERDLAB_HOST=0.0.0.0"), ()),
    # A laptop serving the network: the guess is its address; another one needs a public URL.
    ({**PLAIN, "host": "0.0.0.0"}, ("HERDLAB_PUBLIC_URL",), ("HERDLAB_HOST",)),
    # Behind a trusted proxy (issue 20, item 7), whatever it listens on: only the proxy's address
    # helps; serving every interface would bypass the proxy.
    ({**PLAIN, "host": "127.0.0.1", "trusted_proxies": "127.0.0.1"}, ("HERDLAB_PUBLIC_URL", "https://"),
     ("HERDLAB_HOST",)),
    ({**PLAIN, "host": "0.0.0.0", "trusted_proxies": "10.0.0.0/8"}, ("HERDLAB_PUBLIC_URL",), ("HERDLAB_HOST",)),
    ({**PLAIN, "host": "10.1.2.3", "trusted_proxies": "10.0.0.0/8"}, ("HERDLAB_PUBLIC_URL",), ("HERDLAB_HOST",)),
], ids=["loopback", "network", "proxy-loopback", "proxy-any", "proxy-own-address"])
def test_the_presenter_says_how_to_give_students_the_right_address(client, says, never):
    hint = HINT.search(client.get("/classroom/present").get_data(as_text=True))
    assert hint, "a guessed address is said to be one"
    text = " ".join(hint.group(1).split())
    for words in says:
        assert words in text, text
    for words in never:
        assert words not in text, text


@pytest.mark.parametrize("app_config", [
    {**PLAIN, "public_url": "https://herdlab.school.example", "trusted_proxies": "127.0.0.1"},
    {**PLAIN, "host": "192.0.2.7"},
], ids=["public-url", "served-address"])
def test_the_presenter_gives_no_hint_for_an_address_it_was_told(client):
    page = client.get("/classroom/present").get_data(as_text=True)
    assert 'id="address-hint"' not in page and "HERDLAB_" not in page
