"""The production path of docs/deploy.md, started for real: Debian's nginx with the shipped site,
TLS with a throwaway certificate, three Herd Lab processes with the shipped settings, Redis.

Only what a test machine must change is changed, each by a checked substitution: ports (free
ones instead of 80/443/5001-5003), the certificate's path, and nginx's own files in a temporary
prefix (an unprivileged master: ``nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'``). Clients
pick their source address in 127.0.5.0/24 on loopback, so nginx sees a subnet of distinct
clients, as it would a school's.
"""
from __future__ import annotations

import http.client
import json
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import websocket

from tests.browser.conftest import ROOT, LiveServer, free_port, stop_process

DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx-herdlab.conf"
ENV_FILE = DEPLOY / "herdlab.env"
SUBNET = "127.0.5."


def env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """``KEY=value`` lines as systemd's EnvironmentFile reads them (comments and blanks skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day (openssl, as docs/deploy.md)."""
    cert, key = directory / "herdlab.crt", directory / "herdlab.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def substitute(text: str, old: str, new: str, count: int | None = None) -> str:
    """Replace ``old``, which must be there (``count`` times when given): a changed site fails
    here, loudly, instead of being tested half-changed."""
    found = text.count(old)
    assert found and (count is None or found == count), f"the shipped site no longer has {old!r}"
    return text.replace(old, new)


def site_for_test(https: int, http: int, backends: list[int], cert: Path, key: Path,
                  no_upgrade: int) -> str:
    """The shipped site on test ports, plus (test only) a copy of its HTTPS server on port
    ``no_upgrade`` that drops the WebSocket upgrade, as some proxies and firewalls do."""
    text = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in backends)
    text, n = re.subn(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, text)
    assert n == 1, "the shipped site's upstream block changed"
    text = re.sub(r"\n *listen \[::\]:\d+[^;]*;", "", text)
    text = substitute(text, "listen 443 ssl default_server;",
                      f"listen 127.0.0.1:{https} ssl default_server;", 1)
    text = substitute(text, "listen 80 default_server;", f"listen 127.0.0.1:{http} default_server;", 1)
    text = substitute(text, "/etc/herdlab/tls/herdlab.crt", str(cert), 1)
    text = substitute(text, "/etc/herdlab/tls/herdlab.key", str(key), 1)
    tls_server = text[text.index("server {\n    listen 127.0.0.1:%d" % https):]
    tls_server = tls_server[:tls_server.index("\n}\n") + 3]
    stripped = substitute(tls_server, f"listen 127.0.0.1:{https} ssl default_server;",
                          f"listen 127.0.0.1:{no_upgrade} ssl;", 1)
    stripped = substitute(stripped, "proxy_set_header Upgrade $http_upgrade;", "", 1)
    stripped = substitute(stripped, "proxy_set_header Connection $herdlab_connection;",
                          'proxy_set_header Connection "";', 1)
    return text + "\n# Test only: a proxy that drops the WebSocket upgrade.\n" + stripped


class Nginx:
    """Debian's nginx as an unprivileged master in ``prefix``, serving ``site``."""

    def __init__(self, prefix: Path, site: str, ports: list[int]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "site.conf").write_text(site)
        conf = prefix / "nginx.conf"
        conf.write_text(f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 2048; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""")
        self.prefix = prefix
        self.log = open(prefix / "stderr.log", "w")
        self.proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        for port in ports:
            while not _listening(port):
                assert self.proc.poll() is None, (prefix / "stderr.log").read_text()
                assert time.monotonic() < deadline, "nginx did not open its ports"
                time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.proc, self.log)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Site:
    """Everything of docs/deploy.md running: nginx (TLS) in front of ``processes`` Herd Lab
    processes with the shipped settings, sharing rooms through ``redis_url``."""

    def __init__(self, tmp: Path, redis_url: str, processes: int = 3) -> None:
        self.https, self.http, self.no_upgrade = free_port(), free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https}"
        self.cert, key = make_certificate(tmp)
        self.context = ssl.create_default_context(cafile=str(self.cert))
        env = {**env_file(), "HERDLAB_SECRET_KEY": "deploy-tests", "HERDLAB_PUBLIC_URL": self.url,
               "HERDLAB_MESSAGE_QUEUE": redis_url, "HERDLAB_REAL_SERVICES": "off"}
        self.servers: list[LiveServer] = []
        self.nginx: Nginx | None = None
        try:
            self.servers = _start_all(env, processes)
            site = site_for_test(self.https, self.http, [s.port for s in self.servers], self.cert,
                                 key, self.no_upgrade)
            self.nginx = Nginx(tmp / "nginx", site, [self.https, self.http, self.no_upgrade])
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for server in self.servers:
            server.stop()

    def get(self, path: str, source: str = "127.0.0.1", port: int | None = None,
            tls: bool = True) -> tuple[int, dict[str, str], bytes]:
        """One request through nginx from ``source``: status, headers, body."""
        kind = http.client.HTTPSConnection if tls else http.client.HTTPConnection
        options: dict[str, Any] = {"context": self.context} if tls else {}
        conn = kind("127.0.0.1", port or (self.https if tls else self.http), timeout=10,
                    source_address=(source, 0), **options)
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            return res.status, dict(res.getheaders()), res.read()
        finally:
            conn.close()

    def process_of(self, source: str) -> int:
        """Which process (index) nginx sends ``source`` to: its access log names the request."""
        probe = secrets.token_hex(6)
        status, _, _ = self.get(f"/healthz?probe={probe}", source)
        assert status == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for i, server in enumerate(self.servers):
                if f'{source} "GET /healthz?probe={probe}"' in server.log.read_text():
                    return i
            time.sleep(0.05)
        raise AssertionError(f"no process logged the request from {source}")

    def socket(self, ns: str, source: str, origin: str | None = None) -> "WireClient":
        return WireClient(self, ns, source, origin)


def _start_all(env: dict[str, str], n: int) -> list[LiveServer]:
    """Start ``n`` processes at once (each waits for its own /healthz)."""
    started: list[Any] = [None] * n

    def start(i: int) -> None:
        try:
            started[i] = LiveServer(env)
        except Exception as exc:   # reported below, after every thread is done
            started[i] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [s for s in started if isinstance(s, Exception)]
    if failed:
        for s in started:
            if isinstance(s, LiveServer):
                s.stop()
        raise failed[0]
    return started


class WireClient:
    """A Socket.IO client on one namespace over a WebSocket through nginx, from a chosen source
    address, over TLS checked against the test's certificate (websocket-client on a socket made
    here, so that its source address can be chosen)."""

    def __init__(self, site: Site, ns: str, source: str, origin: str | None = None) -> None:
        self.ns = ns
        raw = socket.create_connection(("127.0.0.1", site.https), timeout=10, source_address=(source, 0))
        tls = site.context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.ws = websocket.create_connection(
            f"wss://127.0.0.1:{site.https}/socket.io/?EIO=4&transport=websocket", socket=tls,
            origin=origin or site.url, timeout=10)
        opened = self.ws.recv()
        assert opened.startswith("0{"), opened
        self.ws.send(f"40{ns},")
        self.wait_raw(lambda m: m.startswith(f"40{ns},"))

    def emit(self, event: str, payload: Any = None) -> None:
        self.ws.send(f"42{self.ns}," + json.dumps([event, payload]))

    def wait_raw(self, match, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            message = self.ws.recv()
            if message == "2":          # Engine.IO ping
                self.ws.send("3")
            elif match(message):
                return message
            assert time.monotonic() < deadline, f"nothing matched within {timeout} s"

    def wait(self, name: str, until=lambda _: True, timeout: float = 20.0) -> Any:
        """The payload of the next event ``name`` that satisfies ``until``."""
        prefix = f"42{self.ns},"
        found: list[Any] = []

        def match(message: str) -> bool:
            if not message.startswith(prefix):
                return False
            event, *args = json.loads(message[len(prefix):])
            if event == name and until(args[0] if args else None):
                found.append(args[0] if args else None)
                return True
            return False

        self.wait_raw(match, timeout)
        return found[0]

    def close(self) -> None:
        self.ws.close(timeout=0.5)
