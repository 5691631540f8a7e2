"""The app factory, settings and the health endpoint."""
from __future__ import annotations

import logging

import pytest

from webapp import __version__, create_app
from webapp.config import ASYNC_MODES, Settings, SettingsError


def test_healthz_reports_version_and_async_mode(client):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json == {"status": "ok", "version": __version__, "async_mode": "threading"}


@pytest.mark.parametrize("async_mode", ASYNC_MODES)
def test_healthz_follows_the_configured_async_mode(client, async_mode):
    assert client.get("/healthz").json["async_mode"] == async_mode


def test_default_async_mode_is_eventlet():
    assert Settings.from_env(env={"HERDLAB_SECRET_KEY": "x"}).async_mode == "eventlet"


def test_index_page_loads_the_vendored_socketio_client(client):
    html = client.get("/").get_data(as_text=True)
    assert "vendor/socket.io-client-4.8.4/socket.io.esm.min.js" in html
    with client.get("/static/vendor/socket.io-client-4.8.4/socket.io.esm.min.js") as res:
        assert res.status_code == 200 and b"Socket.IO v4.8.4" in res.data


def test_settings_are_read_from_prefixed_environment():
    s = Settings.from_env(env={"HERDLAB_PORT": "5123", "HERDLAB_HOST": "0.0.0.0",
                               "HERDLAB_DEBUG": "yes", "HERDLAB_SECRET_KEY": "k"})
    assert (s.port, s.host, s.debug, s.secret_key) == (5123, "0.0.0.0", True, "k")


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"HERDLAB_PORT": "fifty"}, "HERDLAB_PORT must be a whole number"),
        ({"HERDLAB_DEBUG": "maybe"}, "HERDLAB_DEBUG must be true or false"),
        ({"HERDLAB_ASYNC_MODE": "tornado"},
         "HERDLAB_ASYNC_MODE must be one of eventlet, gevent, threading"),
        ({"HERDLAB_TRUSTED_PROXIES": "nginx"}, "HERDLAB_TRUSTED_PROXIES must be addresses"),
        ({"HERDLAB_TRUSTED_PROXIES": "127.0.0.1", "HERDLAB_PROXY_HOPS": "0"},
         "HERDLAB_PROXY_HOPS must be at least 1"),
        ({"HERDLAB_RUN_CPU_S": "-5"}, "HERDLAB_RUN_CPU_S must not be negative"),
        ({"HERDLAB_PUBLIC_URL": "javascript:alert(1)"}, "HERDLAB_PUBLIC_URL must be an address"),
        ({"HERDLAB_PUBLIC_URL": "http://x.example/?next=evil"}, "HERDLAB_PUBLIC_URL must be an address"),
    ],
)
def test_bad_settings_name_the_variable(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env={"HERDLAB_SECRET_KEY": "k", **env})


def test_unknown_override_is_refused():
    with pytest.raises(SettingsError, match="unknown setting"):
        create_app({"no_such_thing": 1})


def test_missing_secret_key_is_generated_per_process_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.config"):
        a = Settings.from_env(env={})
        b = Settings.from_env(env={})
    assert len(a.secret_key) >= 32 and a.secret_key != b.secret_key
    assert "HERDLAB_SECRET_KEY is not set" in caplog.text


def test_secret_key_from_environment_is_used_without_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.config"):
        s = Settings.from_env(env={"HERDLAB_SECRET_KEY": "from-env"})
    assert s.secret_key == "from-env" and "SECRET_KEY" not in caplog.text
