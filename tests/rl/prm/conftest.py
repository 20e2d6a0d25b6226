"""A throwaway PostgreSQL server for the PRM store's tests, and the ``store_url`` fixture that runs
a test on both backends.

The server is real (Debian's ``postgresql`` binaries: ``initdb`` and ``pg_ctl``), started once per
test session on a Unix socket in a temporary directory (no TCP), as an unprivileged user
(``postgres`` via ``runuser`` when the tests run as root), and stopped at the end. Each test gets
its own schema, so tests cannot see each other's rows. Without the binaries or psycopg the
PostgreSQL cases are skipped with the reason printed; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

BACKENDS = ("sqlite", "postgresql")


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    return Path(versions[-1]).parent if versions else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    print(f"\nskipping PostgreSQL cases: {reason}")
    pytest.skip(reason)


class PgServer:
    """A running throwaway server: ``url(schema)`` names a database schema on it."""

    def __init__(self, base: Path, bin_dir: Path, port: int) -> None:
        self.base, self.bin_dir, self.port = base, bin_dir, port
        self.data, self.socket = base / "data", base / "socket"
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._schemas = itertools.count()

    def run(self, *args: str) -> None:
        proc = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
            )

    def start(self, settings: str = "-c fsync=off -c full_page_writes=off") -> None:
        """initdb and start; ``settings``: extra server options (the tests' default trades crash
        safety of the throwaway server for speed; a killed *client* is unaffected)."""
        self.socket.mkdir(parents=True)
        if self._as_user:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.socket, "postgres")
        self.run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-k {self.socket} -c listen_addresses='' -p {self.port} -c max_connections=50 "
            f"{settings}"
        )
        self.run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self.run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
        )

    @property
    def base_url(self) -> str:
        return f"postgresql:///postgres?host={self.socket}&port={self.port}&user=postgres"

    def new_schema(self) -> str:
        """A fresh, empty schema; returns a URL whose search path is it."""
        import psycopg

        name = f"t{next(self._schemas)}"
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.base_url + "&options=" + quote(f"-csearch_path={name}")


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (skipped, or failed under CI, when it cannot run)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'rlvr[postgres]'")
    bin_dir = _pg_bin()
    if bin_dir is None:
        _unavailable("no PostgreSQL server binaries (initdb, pg_ctl); apt-get install postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser to start the server as the postgres user")
    base = Path(tempfile.mkdtemp(prefix="rlvr-pg-"))
    server = PgServer(base, bin_dir, 40000 + os.getpid() % 20000)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        _unavailable(f"could not start PostgreSQL: {exc}")
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend a ``store_url`` test runs on."""
    return request.param


@pytest.fixture
def store_url(backend, tmp_path, request) -> str:
    """Where a test's store lives: a SQLite file, or a fresh schema on the session's PostgreSQL
    server."""
    if backend == "sqlite":
        return str(tmp_path / "prm.db")
    return request.getfixturevalue("pg_server").new_schema()


@pytest.fixture
def other_store_url(backend, tmp_path, request) -> str:
    """A second, independent store on the same backend as ``store_url``."""
    if backend == "sqlite":
        return str(tmp_path / "other.db")
    return request.getfixturevalue("pg_server").new_schema()
