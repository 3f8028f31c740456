"""A throwaway PostgreSQL server for the test run, and a fresh database for each test.

One server per pytest session: `initdb` into a temporary folder (as the `postgres` user when
we are root: initdb refuses root), listening on a free port of 127.0.0.1 with its socket in
that folder, durability off for speed. Each test gets its own database, copied from a
template that Alembic migrated once, and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from storage.migrations import upgrade

INSTALL_HINT = (
    "PostgreSQL's server programs (initdb, pg_ctl, postgres) were not found on PATH nor in "
    "/usr/lib/postgresql/*/bin. Install them (`apt-get install postgresql`); `./dev test` "
    "does so by itself when run as root."
)
TEMPLATE = "cxbot_template"
SPEED = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def find_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres (the newest version if several)."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    installed = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(installed, key=lambda p: p.parent.name.zfill(8), reverse=True)
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A running throwaway server; `database()` hands out fresh databases."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = 0
        self._as_postgres = os.geteuid() == 0

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb and start a server; raises RuntimeError with the reason when it cannot."""
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(INSTALL_HINT)
        server = cls(bin_dir, Path(tempfile.mkdtemp(prefix="cxbot-pg-")))
        try:
            server._init()
            server._run()
            server._migrate_template()
        except BaseException:
            server.stop()
            raise
        return server

    def _command(self, program: str, *args: str) -> None:
        argv = [str(self.bin_dir / program), *args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )

    def _init(self) -> None:
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._command(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )

    def _run(self) -> None:
        options = " ".join(
            [f"-h 127.0.0.1 -k {self.root}", *(f"-c {setting}" for setting in SPEED)]
        )
        for attempt in range(3):  # a free port can be taken between the probe and the bind
            self.port = _free_port()
            try:
                self._command(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                    "-o", f"{options} -p {self.port}", "start",
                )
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def url(self, database: str) -> str:
        """The async SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _migrate_template(self) -> None:
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {TEMPLATE}")
        upgrade(self.url(TEMPLATE))

    @contextlib.contextmanager
    def database(self, *, migrated: bool = True) -> Iterator[str]:
        """A new database (migrated to head, or empty), dropped when the block ends."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        template = TEMPLATE if migrated else "template1"
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        try:
            yield self.url(name)
        finally:
            with self._admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster), wait for it, remove the folder."""
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 2)
            deadline = time.monotonic() + 30
            while pid_file.exists() and time.monotonic() < deadline:  # removed at shutdown
                os.kill(pid, 0)  # ProcessLookupError once it is gone
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)
