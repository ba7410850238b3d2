"""A real PostgreSQL server for the tests, started once per session (fixture ``postgres_server``).

Debian's ``postgresql`` package: ``initdb`` into a temporary folder, then ``postgres`` on a
free loopback port (TCP only, password authentication, durability off: the data is thrown
away). The server refuses to run as root, so as root (CI) both run as the unprivileged
user ``nobody``. Nothing is mocked and nothing is skipped: without the binaries the
session fails and says how to get them (`python3 dev.py test`, as root on Debian, installs
them). ACCORD_POSTGRES_BIN names another bin folder (a PostgreSQL installed elsewhere).

``postgres_db`` gives each test a database of its own, created empty on that server.
``running_postgres`` starts another server, e.g. on a host of its own (tests/ops/test_several_hosts.py).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

STARTUP_TIMEOUT = 60.0
UNPRIVILEGED = "nobody"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    version: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"accord_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    override = os.environ.get("ACCORD_POSTGRES_BIN")
    if override:
        return Path(override)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name)
                      if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Log:
    """The server's stderr, drained by a thread (a full pipe would stall the server); ``ready``
    is set when it accepts connections, or when it has exited."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: deque[str] = deque(maxlen=50)
        self.ready = threading.Event()
        self.accepting = False
        threading.Thread(target=self._drain, args=(process,), name="postgres-log", daemon=True).start()

    def _drain(self, process: subprocess.Popen) -> None:
        for line in process.stderr:
            self.lines.append(line.rstrip())
            if "ready to accept connections" in line:
                self.accepting = True
                self.ready.set()
        self.ready.set()  # exited

    def tail(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Started:
    server: PostgresServer
    seconds: float  # from initdb to accepting connections
    initdb_seconds: float
    as_user: str


@contextmanager
def running_postgres(listen: str = "127.0.0.1", *, prefix: Sequence[str] = (), allow: str | None = None,
                     port: int | None = None, superuser: str = "accord") -> Iterator[Started]:
    """A new PostgreSQL server listening on ``listen`` (TCP only), stopped and removed afterwards.

    ``prefix`` runs the server through another command (``ip netns exec NS``: on a host of
    its own); ``allow`` is a further network (CIDR) whose clients may connect with the password;
    ``superuser`` names the user initdb makes (with a random password).
    Raises RuntimeError with the server's words if it cannot start."""
    binaries = bin_dir()
    if binaries is None or not (binaries / "initdb").exists():
        raise RuntimeError("PostgreSQL is not installed: the storage tests run against a real server. Run "
                           "`python3 dev.py test` as root on Debian (it installs the `postgresql` package), or "
                           "`apt-get install postgresql`, or set ACCORD_POSTGRES_BIN to a PostgreSQL bin folder.")
    as_root = os.geteuid() == 0
    account = pwd.getpwnam(UNPRIVILEGED) if as_root else None
    # The server's own user for its files and processes (None: the current one, not root).
    who = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if account else {}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
    home = Path(tempfile.mkdtemp(prefix="accord-postgres-"))
    data = home / "data"
    password = secrets.token_urlsafe(16)
    (home / "pwfile").write_text(password + "\n")
    if account:
        for path in (home, home / "pwfile"):
            os.chown(path, account.pw_uid, account.pw_gid)
    server: subprocess.Popen | None = None
    try:
        began = time.monotonic()
        initdb = subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", superuser, f"--pwfile={home / 'pwfile'}",
             "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=False, capture_output=True, text=True, env=env, cwd=home, **who,
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stderr[-3000:]}")
        if allow:
            with (data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {allow} scram-sha-256\n")
        initialised = time.monotonic()
        port = port or _free_port()
        command = [str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-c", f"listen_addresses={listen}",
                   "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off",
                   "-c", "full_page_writes=off", "-c", "max_connections=200"]
        if prefix and account:  # the user changes after the prefix (entering a namespace needs root)
            command = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", *command]
            who = {}
        server = subprocess.Popen([*prefix, *command], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=home, **who)
        log = _Log(server)
        if not log.ready.wait(STARTUP_TIMEOUT) or not log.accepting:
            raise RuntimeError(f"PostgreSQL did not start (exit code {server.poll()}):\n{log.tail()}")
        started = time.monotonic()
        version = re.search(r"\d+(\.\d+)?", subprocess.run([str(binaries / "postgres"), "--version"],
                                                           check=False, capture_output=True, text=True).stdout)
        yield Started(PostgresServer(listen, port, superuser, password, version.group(0) if version else "?"),
                      started - began, initialised - began, UNPRIVILEGED if account else "the current user")
    finally:
        if server is not None:
            server.send_signal(2)  # SIGINT: fast shutdown, clients disconnected
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    try:
        with running_postgres() as started:
            _say(request, f"[postgres] PostgreSQL {started.server.version} ready on 127.0.0.1:{started.server.port} "
                          f"as {started.as_user} in {started.seconds:.2f} s (initdb {started.initdb_seconds:.2f} s)")
            yield started.server
    except RuntimeError as exc:  # it could not start: say why, once, for every test that needs it
        pytest.fail(str(exc), pytrace=False)


def _say(request: pytest.FixtureRequest, line: str) -> None:
    """One line on the terminal, past the output capture (how long the server took to start)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database for one test."""
    return postgres_server.create_database()
