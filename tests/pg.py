"""pytest plugin: a real PostgreSQL 15 server for the tests, and a ``db_url`` over both dialects.

The server is one ``initdb`` cluster per test session in a temporary folder owned by the
``postgres`` user (PostgreSQL refuses to run as root), listening on a free loopback port with
trust authentication. Each test that asks for ``db_url``/``postgres_url`` gets a fresh database.
``postgres_server.stop()`` / ``.start()`` (or ``with postgres_server.stopped():``) simulate an
outage on the same port and data.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("HOTLINE_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One throw-away PostgreSQL cluster; ``url(database)`` gives asyncpg URLs to it."""

    def __init__(self, root: Path, options: tuple[str, ...] = ()) -> None:
        self.root = root
        # More "-c name=value" server settings (bench/reports.py sizes the caches).
        self.options = options
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", PG_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            log_tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr.strip()}\n"
                f"{log_tail}"
            )
        return result

    def init(self) -> None:
        if self._as_root:
            user = pwd.getpwnam(PG_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run(
            "initdb",
            "-D", str(self.data),
            "-U", PG_USER,
            "-A", "trust",
            "-E", "UTF8",
            "--no-locale",
            "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.root}",
                # Durability is not under test here; speed is.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=100",
                *self.options,
            ]
        )
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "30", "-o", options)  # fmt: skip

    def stop(self) -> None:
        # fast: disconnect clients at once, the way a crashed or restarted server looks to them.
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")

    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.data), check=False).returncode == 0

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The server is down inside the block and up again after it, whatever happens."""
        self.stop()
        try:
            yield
        finally:
            if not self.running():
                self.start()

    def create_database(self, name: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, name)
        return name

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{database}"


def _missing_binaries() -> str | None:
    missing = [name for name in ("initdb", "pg_ctl", "createdb") if not (PG_BIN / name).exists()]
    if missing:
        return f"PostgreSQL 15 binaries not found in {PG_BIN}: {', '.join(missing)}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root but `runuser` is missing to start PostgreSQL as postgres"
    return None


@contextlib.contextmanager
def running_server(options: tuple[str, ...] = ()) -> Iterator[PostgresServer]:
    """A new cluster in a temporary folder, started on a free port; stopped and removed after
    the block (the tests' session server, and bench/reports.py's)."""
    reason = _missing_binaries()
    if reason:
        raise RuntimeError(reason)
    # Not under pytest's tmp_path: its parents are root-only and the postgres user must enter.
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    server = PostgresServer(root, options)
    try:
        server.init()
        for attempt in range(3):
            try:
                server.start()
                break
            except RuntimeError:
                # The free port may have been taken between probing and binding: try another.
                if attempt == 2:
                    raise
                server.port = _free_port()
        yield server
    finally:
        if server.data.exists() and server.running():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = _missing_binaries()
    if reason:
        pytest.skip(reason)
    with running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    if not postgres_server.running():  # a previous test left it stopped
        postgres_server.start()
    return postgres_server.url(postgres_server.create_database())


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database URL, once on SQLite (a temporary file) and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hotline.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))
