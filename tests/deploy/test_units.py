"""The shipped service files: the systemd unit verifies and is hardened, the settings file holds
only settings the app knows, with values it accepts, and the nginx site is valid nginx."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT
from tests.deploy.conftest import need
from tests.deploy.production import DEPLOY, SITE, env_file, make_certificate, site_for_test
from webapp.config import Settings

UNIT = DEPLOY / "herdlab@.service"
INSTALL_PREFIX = "/srv/herdlab"


def installed_unit(tmp_path: Path) -> Path:
    """The unit as docs/deploy.md installs it, with this checkout standing for /srv/herdlab
    (``systemd-analyze verify`` checks that the program it starts exists)."""
    text = UNIT.read_text()
    assert f"ExecStart={INSTALL_PREFIX}/.venv/bin/python -m webapp serve" in text
    (tmp_path / UNIT.name).write_text(text.replace(INSTALL_PREFIX, str(ROOT)))
    instance = tmp_path / "herdlab@5001.service"
    instance.symlink_to(UNIT.name)
    return instance


@pytest.fixture
def analyze() -> str:
    need("systemd-analyze")
    return shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def test_the_unit_verifies(analyze, tmp_path):
    res = subprocess.run([analyze, "verify", str(installed_unit(tmp_path))], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr


def test_the_unit_is_rated_below_5_by_systemd_analyze_security(analyze, tmp_path):
    res = subprocess.run([analyze, "security", "--offline=yes", "--no-pager",
                          str(installed_unit(tmp_path))], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", res.stdout).group(1))
    assert score < 5.0, res.stdout


def test_the_unit_starts_at_boot_as_a_dynamic_user_after_redis():
    text = UNIT.read_text()
    for line in ("[Install]", "WantedBy=multi-user.target", "DynamicUser=yes",
                 "After=network.target redis-server.service", "Wants=redis-server.service",
                 "EnvironmentFile=/etc/herdlab/herdlab.env", "--host 127.0.0.1 --port %i"):
        assert line in text, line


def test_the_settings_file_holds_settings_the_app_accepts():
    values = env_file()
    assert all(key.startswith("HERDLAB_") for key in values), values
    settings = Settings.from_env(env={**values, "HERDLAB_SECRET_KEY": "x"})
    assert settings.async_mode == "gevent" and settings.message_queue.startswith("redis://")
    assert settings.public_url.startswith("https://")
    assert [str(n) for n in settings.proxy_networks()] == ["127.0.0.1/32", "::1/128"]
    assert settings.rooms_per_address == 20 and settings.join_attempts_per_minute == 120


def test_the_nginx_site_is_valid_as_shipped_and_as_tested(tmp_path):
    """``nginx -t`` on the shipped site (its certificate paths pointed at a test certificate)."""
    need("nginx")
    need("openssl")
    cert, key = make_certificate(tmp_path)
    shipped = SITE.read_text().replace("/etc/herdlab/tls/herdlab.crt", str(cert)) \
                              .replace("/etc/herdlab/tls/herdlab.key", str(key))
    tested = site_for_test(8443, 8080, [5001, 5002], cert, key, 8444)
    for name, site in (("shipped", shipped), ("tested", tested)):
        (tmp_path / f"{name}.conf").write_text(site)
        conf = tmp_path / f"nginx-{name}.conf"
        conf.write_text(f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
                        f"events {{}}\nhttp {{ include {tmp_path}/{name}.conf; }}\n")
        res = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-p", str(tmp_path),
                              "-c", str(conf)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, (name, res.stderr)
    assert "listen 443 ssl default_server;" in shipped and "listen 80 default_server;" in shipped


def test_beside_debians_default_site_nginx_refuses_to_start_instead_of_hiding_the_app(tmp_path):
    """Debian's own site (sites-available/default) also claims the default server on port 80:
    with both enabled, ``nginx -t`` fails and names the conflict (docs/deploy.md removes the
    default), where a block in conf.d/ silently lost to it (issue 20)."""
    need("nginx")
    default = Path("/etc/nginx/sites-available/default")
    if not default.exists():
        pytest.skip("Debian's default nginx site is not installed here")
    cert, key = make_certificate(tmp_path)
    (tmp_path / "site.conf").write_text(SITE.read_text()
                                        .replace("/etc/herdlab/tls/herdlab.crt", str(cert))
                                        .replace("/etc/herdlab/tls/herdlab.key", str(key)))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{ include {default}; include {tmp_path}/site.conf; }}\n")
    res = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-p", str(tmp_path),
                          "-c", str(conf)], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "duplicate default server" in res.stderr
