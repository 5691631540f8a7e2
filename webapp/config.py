"""Settings, read once from ``HERDLAB_*`` environment variables into a frozen dataclass.

Every knob an operator may turn lives here so that limits (runs per connection, rooms, members)
are visible in one place and testable by passing overrides to ``create_app``.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

ASYNC_MODES = ("eventlet", "gevent", "threading")
PREFIX = "HERDLAB_"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    debug: bool = False
    async_mode: str = "eventlet"
    secret_key: str = ""
    message_queue: str = ""
    # Where students reach this server (join URL, QR code); else this machine's own address.
    public_url: str = ""
    # Behind a reverse proxy (docs/deploy.md): the addresses (or networks) of the proxies whose
    # X-Forwarded-For/-Proto headers are believed, and how many proxies stand in front of the app.
    # Empty: no header is believed (anyone could forge them) and the peer is the client.
    trusted_proxies: str = ""
    proxy_hops: int = 1
    # One line per request on stderr (the real client, the status, the time taken).
    access_log: bool = True
    # Live lab limits (issue 4): bounded runs and buffers.
    max_runs_per_connection: int = 2
    max_runs_per_server: int = 40
    # Ceiling for a /lab start's animate_limit (viewers animated per run; above it, a sample).
    lab_max_animate: int = 5000
    # Work budgets (issue 9): every run is computed by a worker process within these.
    run_max_steps: int = 20_000_000     # engine steps per side of a live run
    run_cpu_s: int = 60                 # CPU seconds of a live run's worker
    api_max_steps: int = 3_000_000      # engine steps of a POST /api/run
    api_timeout_s: int = 10             # wall (and CPU) seconds of a POST /api/run
    worker_memory_mb: int = 1024        # address space of one worker process
    worker_spares: int = 2              # workers started ahead, waiting for a run
    run_buffer_kb: int = 8192           # computed events a run may hold ahead of playback
    run_idle_s: int = 120               # a paused run gives its slot back after this long
    # Requests and messages (issue 9): anything larger is refused before it is read.
    max_request_kb: int = 64            # HTTP request bodies (413 beyond)
    max_message_kb: int = 64            # one Socket.IO message, WebSocket fragments included
    # Classroom limits (issue 6).
    max_rooms: int = 50
    max_room_members: int = 400
    room_idle_s: int = 2 * 60 * 60
    join_attempts_per_minute: int = 20
    rooms_per_address: int = 3          # rooms alive at once created from one address
    room_orphan_grace_s: int = 10 * 60  # a room whose instructor left closes after this
    # The real-systems lab's line (issue 17): real runs waiting at once from one address.
    real_waiting_per_address: int = 1
    # Testing switches Flask's own TESTING flag on.
    testing: bool = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> "Settings":
        """Read ``HERDLAB_<FIELD>`` variables, then apply ``overrides`` (lower-case field names)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f.name, f.type, raw)
        settings = cls(**values)
        if overrides:
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(k.lower() for k in overrides) - known)
            if unknown:
                raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
            settings = replace(settings, **{k.lower(): v for k, v in overrides.items()})
        if settings.async_mode not in ASYNC_MODES:
            raise SettingsError(
                f"{PREFIX}ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, "
                f"not {settings.async_mode!r}"
            )
        for f in fields(cls):
            value = getattr(settings, f.name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise SettingsError(f"{PREFIX}{f.name.upper()} must not be negative, not {value}")
        if settings.public_url and not _is_origin(settings.public_url):
            raise SettingsError(f"{PREFIX}PUBLIC_URL must be an address like http://host:port or "
                                f"https://host/path, not {settings.public_url!r}")
        try:
            settings.proxy_networks()
        except ValueError:
            raise SettingsError(f"{PREFIX}TRUSTED_PROXIES must be addresses or networks separated "
                                f"by commas, like 127.0.0.1,::1 or 10.0.0.0/8, not "
                                f"{settings.trusted_proxies!r}") from None
        if settings.trusted_proxies and settings.proxy_hops < 1:
            raise SettingsError(f"{PREFIX}PROXY_HOPS must be at least 1 behind a proxy")
        if settings.trusted_proxies and not settings.public_url:
            log.warning("%sTRUSTED_PROXIES is set but %sPUBLIC_URL is not: the classroom's join "
                        "address will name this process, which students cannot reach; set it to "
                        "the proxy's address", PREFIX, PREFIX)
        if not settings.secret_key:
            log.warning(
                "%sSECRET_KEY is not set: using a random key for this process only "
                "(sessions will not survive a restart or be shared between processes)",
                PREFIX,
            )
            settings = replace(settings, secret_key=secrets.token_hex(32))
        return settings

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed (ValueError if it is not a list of addresses/networks)."""
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in self.trusted_proxies.split(",") if part.strip())

    def flask_config(self) -> dict[str, Any]:
        return {"SECRET_KEY": self.secret_key, "TESTING": self.testing, "DEBUG": self.debug,
                "MAX_CONTENT_LENGTH": self.max_request_kb << 10}

    def socketio_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"async_mode": self.async_mode,
                                   "max_http_buffer_size": self.max_message_kb << 10}
        if self.message_queue:
            options["message_queue"] = self.message_queue
        return options


def _is_origin(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query \
        and not parts.fragment and not parts.username


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    """Turn an environment string into the field's type, with an error naming the variable."""
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "str")
    var = PREFIX + name.upper()
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{var} must be true or false, not {raw!r}")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{var} must be a whole number, not {raw!r}") from None
    return raw
