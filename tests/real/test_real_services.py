"""The private services: unix sockets only, nothing durable, no orphans, a clear install line."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis

from webapp.real import services as services_module
from webapp.real.services import INSTALL, Services, ServicesMissing, missing_message

pytestmark = pytest.mark.real
REPO = Path(__file__).resolve().parents[2]


def test_services_listen_on_unix_sockets_only_and_keep_nothing(services):
    with psycopg.connect(services.pg_conninfo()) as conn:
        setting = lambda name: conn.execute(f"show {name}").fetchone()[0]  # noqa: E731
        assert setting("listen_addresses") == ""
        assert setting("fsync") == "off"
        assert int(setting("max_connections")) == services_module.MAX_CONNECTIONS
    client = redis.Redis.from_url(services.redis_url())
    assert client.config_get("port") == {"port": "0"}
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    client.close()


def test_a_second_start_attaches_and_leaves_the_services_running(services):
    other = Services(Path(services.pg_socket_dir).parent)
    assert other.start() == services
    assert not other.owned and other.pids == []
    other.stop()
    assert redis.Redis.from_url(services.redis_url()).ping()


def test_missing_binaries_say_the_one_command_that_installs_them(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HERDLAB_PG_BIN", str(tmp_path))
    message = missing_message()
    assert message and INSTALL in message and "redis-server" in message
    assert "\n" not in message
    with pytest.raises(ServicesMissing):
        Services(tmp_path / "data").start()


def test_a_killed_parent_leaves_no_orphans():
    """The parent dies by SIGKILL (no cleanup runs): the kernel signals both services
    (PR_SET_PDEATHSIG) and they exit. (Its own cluster, beside the session's: a test's tmp
    directory is not reachable by the postgres user.)"""
    code = ("import os, sys; from webapp.real.services import Services\n"
            "os.register_at_fork(before=lambda: print('forked', flush=True))\n"
            "s = Services(sys.argv[1]); s.start(); print(*s.pids, flush=True)\n"
            "import time; time.sleep(60)\n")
    root = REPO / ".herdlab" / "test-orphans"
    parent = subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()
        # Spawned, never forked with Python in the child (no preexec_fn): eventlet's web
        # process warns on fork, and Python code in a forked child of it is unsafe.
        assert "forked" not in line
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")


def test_serve_starts_the_services_when_installed_and_says_why_not(services, monkeypatch, capsys):
    from webapp.serve import start_real_services

    monkeypatch.setenv("HERDLAB_DATA_DIR", str(Path(services.pg_socket_dir).parent))
    attached = start_real_services()          # already running there (this session's): attached
    assert attached is not None and not attached.owned
    assert "private Redis and PostgreSQL in" in capsys.readouterr().out
    monkeypatch.setenv("HERDLAB_REAL_SERVICES", "off")
    assert start_real_services() is None
    monkeypatch.setenv("HERDLAB_REAL_SERVICES", "auto")
    monkeypatch.setenv("HERDLAB_PG_BIN", "/nonexistent")
    assert start_real_services() is None
    assert "install with: sudo apt-get install -y postgresql" in capsys.readouterr().out
