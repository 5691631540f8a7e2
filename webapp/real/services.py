"""A private Redis and a private PostgreSQL for the real-systems lab, run as child processes.

The lab needs services nobody else uses: a run flushes its keys, fills a pool until it saturates
and counts its own queries. So it starts them itself, each listening on a unix socket only (no
TCP port to collide with or to expose), with nothing made durable (Redis without snapshots,
Postgres with ``fsync=off``): the data is thrown away anyway, and a cold start must be quick.

- Redis: ``redis-server --port 0 --unixsocket <root>/redis.sock --save ""``. This is the lab's
  *cache*; the Socket.IO message queue, when there is one, is another Redis.
- PostgreSQL: a cluster in ``<root>/pg`` made once by ``initdb --no-sync`` and reused, started
  in the foreground (``postgres -D``, not ``pg_ctl``, so it stays our child) with
  ``listen_addresses=''`` and its socket in the data directory. As root it runs as the
  ``postgres`` user (Postgres refuses to run as root); if that user cannot reach ``<root>``
  (a checkout under ``/root``), the services use ``$TMPDIR/herdlab-<hash of root>`` instead.

Both are stopped on exit (``stop``, a context manager, and ``atexit``); if the parent is killed
outright they get a signal from the kernel (``PR_SET_PDEATHSIG``, set by util-linux's
``setpriv``): a killed parent leaves no orphans (without it, measured: both survive, the
postmaster has no parent check of its own). PDEATHSIG fires when the *thread* that started them
ends, so they are started from the main thread (green threads are fine) or, from another (a
run's task under the threading async mode), by a thread kept for that, which lives as long as
the process. A service already running on the same files (another process started it) is
attached to and left running.

**They heal.** ``start`` is called before every real run and makes sure both answer: a service
that died (killed, crashed) is reaped and started again. Reaping matters: a killed child that
nobody waits for is a zombie, and a zombie's PID still looks alive, so PostgreSQL refused to
start while the dead postmaster's PID stood in ``postmaster.pid``. Whoever's child it is, a dead
service's PID is waited for if it is ours (``waitpid``) and counts as dead if it is a zombie;
its leftover backends (a CPU-bound query outlives its postmaster) are killed before the new one
starts. A live one that is only slow to answer (busy, recovering) is waited for, never replaced:
a second server on its socket would split a run's clients between two.

**PostgreSQL follows its clients.** A real run's app servers connect as ``RUN_USER``, a role
that is not a superuser, so the server holds the line for them whatever a scenario asks:
- at most ``RUN_CONNECTIONS`` connections (``CONNECTION LIMIT``), ``LAB_CONNECTIONS`` below
  ``max_connections``: a run without a pool opens one connection per query, and the lab's own
  (the next run's start, the clean-up below) must still get in;
- ``statement_timeout`` at most the longest a real run lasts (the role's default; a run sets
  its own deadline per connection, ``settings.bounded``);
- ``client_connection_check_interval``: a backend whose client went away stops its query
  within a second instead of when it next writes (a 60 s ``pg_sleep`` held its connection to
  the end);
- ``end_run_backends`` terminates every backend of the role when a run ends or is cut (one
  real run uses the datastore at a time, so they are all that run's).

When a binary is missing, ``ServicesMissing`` says the one command that installs it; nothing
else in Herd Lab needs these services.
"""
from __future__ import annotations

import atexit
import glob
import hashlib
import os
import pwd
import queue
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from webapp.real.settings import DRAIN_S, MAX_DURATION_S

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / ".herdlab"
MAX_CONNECTIONS = 120        # Postgres backends
LAB_CONNECTIONS = 20         # of them, kept back for the lab's own connections
RUN_CONNECTIONS = MAX_CONNECTIONS - LAB_CONNECTIONS   # a run's app servers, all together
PG_PORT = 5432               # names the socket file only (.s.PGSQL.5432): no TCP listener
PG_USER = "herdlab"          # the lab itself (a superuser: it made the cluster)
RUN_USER = "herdlab_run"     # a real run's app servers (not a superuser: the server bounds it)
PG_DB = "postgres"
LONGEST_RUN_MS = round((MAX_DURATION_S + DRAIN_S) * 1000)   # statement_timeout of RUN_USER
CLIENT_CHECK_MS = 1000       # client_connection_check_interval
INSTALL = "sudo apt-get install -y postgresql redis-server"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
MAX_SOCKET_PATH = 100        # sun_path is 108 bytes on Linux, with its NUL


class ServicesMissing(RuntimeError):
    """A binary the real lab needs is not installed; the message says how to install it."""


class ServiceFailed(RuntimeError):
    """A service would not start; the message ends with the tail of its log. ``service`` names
    it in words (for a person: the log, with its paths, is for the server's operator)."""

    def __init__(self, message: str, service: str = "services") -> None:
        super().__init__(message)
        self.service = service


@dataclass(frozen=True)
class Binaries:
    redis_server: str
    pg_bin: str               # the directory holding initdb and postgres

    @property
    def initdb(self) -> str:
        return os.path.join(self.pg_bin, "initdb")

    @property
    def postgres(self) -> str:
        return os.path.join(self.pg_bin, "postgres")


@dataclass(frozen=True)
class Endpoints:
    """How to reach the running services (what a real run's processes are given)."""

    redis_socket: str
    pg_socket_dir: str
    pg_port: int = PG_PORT
    pg_user: str = PG_USER
    pg_db: str = PG_DB

    def for_runs(self) -> "Endpoints":
        """The same services, as a real run's app servers reach them (``RUN_USER``)."""
        return replace(self, pg_user=RUN_USER)

    def redis_url(self, db: int = 0) -> str:
        return f"unix://{self.redis_socket}?db={db}"

    def pg_conninfo(self, **params: str | int) -> str:
        """A libpq connection string for the unix socket (``params`` e.g. application_name)."""
        parts = {"host": self.pg_socket_dir, "port": self.pg_port, "user": self.pg_user,
                 "dbname": self.pg_db, **params}
        quote = lambda v: "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"  # noqa
        return " ".join(f"{k}={quote(v)}" for k, v in parts.items())


def find_binaries() -> Binaries:
    """Locate redis-server and the PostgreSQL server binaries, or raise ServicesMissing.

    Debian keeps Postgres's binaries in ``/usr/lib/postgresql/<version>/bin``, off PATH;
    ``HERDLAB_PG_BIN`` overrides the search."""
    redis = shutil.which("redis-server")
    pg_bin = os.environ.get("HERDLAB_PG_BIN")
    if not pg_bin:
        found = shutil.which("postgres")
        if found:
            pg_bin = os.path.dirname(os.path.realpath(found))
        else:
            versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                              key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit()
                              else 0)
            pg_bin = os.path.dirname(versions[-1]) if versions else None
    missing = []
    if not redis:
        missing.append("redis-server")
    if not pg_bin or not all(os.access(os.path.join(pg_bin, b), os.X_OK)
                             for b in ("initdb", "postgres")):
        missing.append("PostgreSQL (initdb, postgres)")
    if missing:
        raise ServicesMissing(f"The real-systems lab needs {' and '.join(missing)}; "
                              f"install with: {INSTALL}")
    return Binaries(redis, pg_bin)


def missing_message() -> str | None:
    """None when the services can run here, else the one line saying how to install them."""
    try:
        find_binaries()
    except ServicesMissing as exc:
        return str(exc)
    return None


def with_parent_death(argv: list[str], signal_name: str, user: str | None = None) -> list[str]:
    """``argv`` run so that it gets ``signal_name`` when its parent dies (``PR_SET_PDEATHSIG``),
    as ``user`` if given: util-linux's ``setpriv`` sets both, then execs. (Not a ``preexec_fn``:
    that makes Python fork instead of spawn, and run Python in the child of a process that may
    be eventlet's.) Without setpriv (not Linux), only the user is changed (by the caller)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return argv
    prefix = [setpriv, "--pdeathsig", signal_name]
    if user:
        prefix += ["--reuid", user, "--regid", user, "--init-groups"]
    return prefix + ["--"] + argv


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Services:
    """The pair of services under one root directory (default ``.herdlab/`` in the repo).

        with Services() as svc:
            endpoints = svc.endpoints
    """

    def __init__(self, root: Path | str = DEFAULT_ROOT,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.root = Path(os.environ.get("HERDLAB_DATA_DIR", root)).resolve()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres and not _reachable(self.root, *_ids("postgres")):
            # e.g. a checkout under /root (mode 700): the postgres user could not reach the
            # cluster there, so it lives in a directory of its own, named for the checkout.
            tag = hashlib.sha1(str(self.root).encode()).hexdigest()[:10]
            self.root = Path(tempfile.gettempdir()) / f"herdlab-{tag}"
        self.max_connections = max_connections
        self._redis: subprocess.Popen | None = None
        self._pg: subprocess.Popen | None = None
        self._endpoints: Endpoints | None = None
        self._roles_ready = False
        self._at_exit = False

    # ------------------------------------------------------------------ public API
    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("services not started")
        return self._endpoints

    @property
    def owned(self) -> bool:
        """True if this object started (and will stop) at least one of the services."""
        return self._redis is not None or self._pg is not None

    @property
    def pids(self) -> list[int]:
        """The process ids of the services this object started and that still run."""
        return [p.pid for p in (self._redis, self._pg) if p is not None and p.poll() is None]

    def start(self) -> Endpoints:
        """Make sure both services answer: start them, attach to ones already running here, or
        reap and restart one that died. Cheap when both are up (a PING and a connection):
        call it before every run."""
        binaries = find_binaries()
        self.root.mkdir(parents=True, exist_ok=True)
        pg_dir = self.root / "pg"
        redis_socket = self.root / "redis.sock"
        if len(str(pg_dir / f".s.PGSQL.{PG_PORT}")) > MAX_SOCKET_PATH:
            raise ServiceFailed(f"{self.root} is too deep for a unix socket path; "
                                "set HERDLAB_DATA_DIR to a shorter directory")
        if not self._at_exit:
            atexit.register(self.stop)
            self._at_exit = True
        try:
            self._ensure_redis(binaries, redis_socket)
            self._ensure_postgres(binaries, pg_dir)
        except BaseException:
            self.stop()
            raise
        self._endpoints = Endpoints(str(redis_socket), str(pg_dir))
        return self._endpoints

    def stop(self) -> None:
        """Stop what this object started (fast shutdown), waiting a bounded time for each."""
        pg, self._pg = self._pg, None
        redis, self._redis = self._redis, None
        self._endpoints = None
        for proc, sig in ((pg, signal.SIGINT), (redis, signal.SIGTERM)):
            _end(proc, sig)

    def __enter__(self) -> "Services":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ Redis
    def _ensure_redis(self, binaries: Binaries, sock: Path) -> None:
        log, pidfile = self.root / "redis.log", self.root / "redis.pid"
        if self._alive(self._redis, pidfile, sock, lambda: _redis_answers(sock), "Redis"):
            return                                   # ours, or someone else's: running
        self._redis = None
        sock.unlink(missing_ok=True)                 # the stale socket of a dead server
        args = [binaries.redis_server, "--port", "0", "--unixsocket", str(sock),
                "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", str(self.root), "--logfile", str(log),
                "--pidfile", str(pidfile),
                "--maxmemory", "256mb", "--maxmemory-policy", "volatile-ttl"]
        self._redis = self._spawn(args, "TERM", user=None)
        self._wait(self._redis, lambda: _redis_answers(sock), "Redis", log)

    # ------------------------------------------------------------------ PostgreSQL
    def _ensure_postgres(self, binaries: Binaries, data: Path) -> None:
        sock = data / f".s.PGSQL.{PG_PORT}"
        if not self._alive(self._pg, data / "postmaster.pid", sock, lambda: _pg_answers(data),
                           "PostgreSQL"):
            self._pg = None
            self._roles_ready = False
            self._start_postgres(binaries, data, self.root / "postgres.log")
        if not self._roles_ready:
            _prepare_run_role(data)
            self._roles_ready = True

    def _start_postgres(self, binaries: Binaries, data: Path, log: Path) -> None:
        sock = data / f".s.PGSQL.{PG_PORT}"
        user = "postgres" if self._as_postgres else None
        if not (data / "PG_VERSION").exists():
            self._initdb(binaries, data, user)
        _clear_dead_postmaster(data)
        sock.unlink(missing_ok=True)
        args = [binaries.postgres, "-D", str(data), "-c", "listen_addresses=",
                "-c", f"unix_socket_directories={data}", "-c", f"port={PG_PORT}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", f"max_connections={self.max_connections}", "-c", "shared_buffers=32MB",
                "-c", f"client_connection_check_interval={CLIENT_CHECK_MS}",
                "-c", "logging_collector=off", "-c", "lc_messages=C"]
        with open(log, "ab") as out:
            if user:
                os.chown(log, *_ids(user))
            self._pg = self._spawn(args, "INT", user=user, stdout=out)
        self._wait(self._pg, lambda: _pg_answers(data), "PostgreSQL", log)

    def _initdb(self, binaries: Binaries, data: Path, user: str | None) -> None:
        shutil.rmtree(data, ignore_errors=True)      # a half-made cluster of an interrupted run
        data.mkdir(mode=0o700)
        if user:
            os.chown(data, *_ids(user))
        done = subprocess.run(
            [binaries.initdb, "--no-sync", "--no-instructions", "-A", "trust", "-U", PG_USER,
             "-E", "UTF8", "-D", str(data)],
            user=user, capture_output=True, text=True, timeout=120, cwd="/")
        if done.returncode != 0:
            hint = (" (as root PostgreSQL runs as the postgres user, who must be able to reach "
                    f"{data})" if user else "")
            raise ServiceFailed(f"initdb failed ({done.returncode}){hint}: "
                                + (done.stderr or done.stdout).strip()[-800:], "PostgreSQL")

    # ------------------------------------------------------------------ helpers
    def _alive(self, proc: subprocess.Popen | None, pidfile: Path, sock: Path,
               ready: Callable[[], bool], name: str) -> bool:
        """Is the service there? True once it answers; False if it is dead (then it may be
        started again: a dead one of ours is reaped first, ``_is_running``). A live one that
        does not answer yet may be busy (a herd at its socket) or recovering (PostgreSQL
        restarts itself after a backend crash): it gets a start's time. Past it, ours is
        killed (False: started again); someone else's is theirs (ServiceFailed). Its socket is
        never taken from a live one."""
        if ready():
            return True
        pid = proc.pid if proc is not None and proc.poll() is None else _pid_in(pidfile)
        if pid is None and _accepts(sock):
            pid = -1                # someone else's, started without a pid file: alive
        deadline = time.monotonic() + START_TIMEOUT_S
        while pid == -1 or _is_running(pid):
            if ready():
                return True
            if time.monotonic() > deadline:
                if proc is None or pid != proc.pid:
                    raise ServiceFailed(f"{name} runs but does not answer (it was given "
                                        f"{START_TIMEOUT_S:g} s)", name)
                _end(proc, signal.SIGKILL)
                return False
            time.sleep(0.05)
        return False

    def _spawn(self, args: list[str], death_signal: str, user: str | None,
               stdout: object = subprocess.DEVNULL) -> subprocess.Popen:
        argv = with_parent_death(args, death_signal, user)
        return _on_lasting_thread(lambda: subprocess.Popen(
            argv, user=user if argv is args else None, stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=subprocess.STDOUT, cwd="/", start_new_session=True))

    @staticmethod
    def _wait(proc: subprocess.Popen, ready, name: str, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            if proc.poll() is not None:
                raise ServiceFailed(f"{name} exited with status {proc.returncode}:\n"
                                    + _tail(log), name)
            if time.monotonic() > deadline:
                raise ServiceFailed(f"{name} did not answer within {START_TIMEOUT_S:g} s:\n"
                                    + _tail(log), name)
            time.sleep(0.02)


def end_run_backends(conn: Any, timeout_s: float = 5.0) -> int:
    """Terminate every backend of ``RUN_USER`` (a run's app servers' connections: their
    queries stop now, a ``pg_sleep`` or a CPU-bound count alike) and wait, at most
    ``timeout_s``, until they are gone. ``conn``: an autocommit connection of the lab's own.
    Returns how many there were."""
    ended = conn.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                         "where usename = %s", (RUN_USER,)).fetchone()[0]
    deadline = time.monotonic() + timeout_s
    while ended and time.monotonic() < deadline and conn.execute(
            "select count(*) from pg_stat_activity where usename = %s",
            (RUN_USER,)).fetchone()[0]:
        time.sleep(0.02)
    return int(ended)


def _prepare_run_role(data: Path) -> None:
    """``RUN_USER`` exists, with its bounds, and may use what the lab creates (idempotent; two
    processes may do it at once)."""
    import psycopg

    statements = [
        f"do $$ begin create role {RUN_USER} login; exception when duplicate_object or "
        "unique_violation then null; end $$",
        f"alter role {RUN_USER} nosuperuser connection limit {RUN_CONNECTIONS}",
        f"alter role {RUN_USER} set statement_timeout = {LONGEST_RUN_MS}",
        f"grant all on all sequences in schema public to {RUN_USER}",
        f"grant all on all tables in schema public to {RUN_USER}",
        f"alter default privileges for role {PG_USER} in schema public grant all on sequences "
        f"to {RUN_USER}",
        f"alter default privileges for role {PG_USER} in schema public grant all on tables "
        f"to {RUN_USER}",
    ]
    conninfo = Endpoints("", str(data)).pg_conninfo(connect_timeout=5)
    for attempt in range(3):
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                for sql in statements:
                    conn.execute(sql)
            return
        except psycopg.errors.InternalError:     # "tuple concurrently updated": another did it
            if attempt == 2:
                raise
        except psycopg.Error as exc:
            raise ServiceFailed(f"PostgreSQL would not set up the run role: {exc}",
                                "PostgreSQL") from exc


def _end(proc: subprocess.Popen | None, sig: int) -> None:
    """Stop ``proc`` with ``sig`` (a kill past ``STOP_TIMEOUT_S``) and reap it."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


def _clear_dead_postmaster(data: Path) -> None:
    """Before a postmaster starts on ``data``: if the one named in its lock files
    (``postmaster.pid``, and its socket's) is dead -- reaped here if it was our child, or a
    zombie of another process (or of an init that does not reap, in a container), whose PID
    PostgreSQL would take for a live one -- the files go, and so do its orphaned backends (their
    working directory is the cluster's; one running a CPU-bound query outlives its postmaster
    and keeps the old shared memory in use, which stops a new postmaster)."""
    locks = [data / "postmaster.pid", data / f".s.PGSQL.{PG_PORT}.lock"]
    pids = [pid for pid in map(_pid_in, locks) if pid is not None]
    if not pids or any(_is_running(pid) for pid in pids):
        return                      # none, or a live one: PostgreSQL itself says no
    for lock in locks:
        lock.unlink(missing_ok=True)
    killed = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if os.readlink(entry / "cwd") == str(data):
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed.append(int(entry.name))
            except OSError:
                continue            # gone meanwhile, or not ours to look at
    # A kill is delivered, not done: a backend writing its temporary files (state "D") lets
    # go of the shared memory only when it has exited, so the new postmaster waits for that.
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(map(_is_running, killed)) and time.monotonic() < deadline:
        time.sleep(0.05)


def _accepts(sock: Path) -> bool:
    """Something listens on the unix socket ``sock`` (refused, or no file: nothing does)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(sock))
        return True
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except OSError:
        return True                 # (a timeout: busy, not dead)


def _pid_in(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_running(pid: int | None) -> bool:
    """Is ``pid`` a live process? Reaped first if it is a dead child of ours; a zombie (someone
    else's child nobody waited for) is dead."""
    if pid is None or pid <= 0:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass                        # not our child
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(") ")[2][:1] != "Z"
    except OSError:
        return False


_LASTING: queue.Queue | None = None      # jobs for the thread that starts services
_LASTING_LOCK = threading.Lock()


def _on_lasting_thread(start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
    """``start()`` on a thread that lives as long as the process: PDEATHSIG is tied to the
    thread that started a child, so one started from a run's thread (the threading async mode)
    would be killed when that run ends. The main thread (green threads run there) lasts."""
    global _LASTING
    if _on_main_thread():
        return start()
    with _LASTING_LOCK:
        if _LASTING is None:
            _LASTING = queue.Queue()
            threading.Thread(target=_start_services, args=(_LASTING,), daemon=True,
                             name="herdlab-services").start()
    answer: queue.Queue = queue.Queue(maxsize=1)
    _LASTING.put((start, answer))
    ok, value = answer.get()
    if not ok:
        raise value
    return value


def _start_services(jobs: queue.Queue) -> None:
    while True:
        start, answer = jobs.get()
        try:
            answer.put((True, start()))
        except BaseException as exc:   # noqa: BLE001 -- raised again in the caller's thread
            answer.put((False, exc))


def _on_main_thread() -> bool:
    """Running on the process's main OS thread (green threads of eventlet or gevent run there
    too): ``/proc/thread-self`` is ``<pid>/task/<tid>``, and the main thread's tid is the pid."""
    try:
        pid, _, tid = os.readlink("/proc/thread-self").partition("/task/")
    except OSError:
        return True                 # not Linux: no PDEATHSIG either
    return pid == tid


def _reachable(path: Path, uid: int, gid: int) -> bool:
    """Can ``uid`` walk down to ``path`` (search permission on each existing ancestor)?"""
    for directory in reversed([path, *path.parents]):
        try:
            st = directory.stat()
        except FileNotFoundError:
            return True                      # made by us below here, reachable
        bit = (stat.S_IXUSR if st.st_uid == uid else stat.S_IXGRP if st.st_gid == gid
               else stat.S_IXOTH)
        if not st.st_mode & bit:
            return False
    return True


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _redis_answers(sock: Path) -> bool:
    """A PING on the socket gets PONG (raw protocol: no client library needed here)."""
    return _ask(str(sock), b"PING\r\n", b"+PONG")


def _pg_answers(data: Path) -> bool:
    """The cluster accepts a real connection (not just a socket: a postmaster still starting
    up refuses sessions)."""
    import psycopg   # only here: the rest of this module needs no Postgres driver

    if not (data / f".s.PGSQL.{PG_PORT}").exists():
        return False
    try:
        psycopg.connect(Endpoints("", str(data)).pg_conninfo(connect_timeout=2)).close()
    except psycopg.Error:
        return False
    return True


def _ask(path: str, request: bytes, answer: bytes) -> bool:
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(path)
            s.sendall(request)
            return s.recv(len(answer)) == answer
    except OSError:
        return False
