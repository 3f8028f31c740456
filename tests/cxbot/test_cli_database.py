"""A database cxbot cannot use: one line naming the host and the cause, never a traceback.

The real `cxbot` command in a subprocess, against a port nobody listens on (a stopped
server), a host that does not resolve, the tests' PostgreSQL server with a wrong password
or a missing database, and SQLite files in folders that cannot be written.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import free_port
from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pw"


def cxbot(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CXBOT_DATABASE_URL": url,
        "CXBOT_DEMO_DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CXBOT_FLOWS_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "cxbot.cli", *args],
        input="",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that failed cleanly."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cxbot: "), lines[0]
    return lines[0]


COMMANDS = [
    pytest.param(["db", "upgrade"], id="db-upgrade"),
    pytest.param(["chat", "nps"], id="chat"),
    pytest.param(["serve", "--port", "0"], id="serve"),
    pytest.param(["serve", "--workers", "2"], id="serve-workers"),
    pytest.param(["demo", "--port", "0"], id="demo"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_database_command_names_a_stopped_server(tmp_path: Path, command: list[str]) -> None:
    port = free_port()  # nobody listens there: a stopped server
    url = f"postgresql://cx:{PASSWORD}@127.0.0.1:{port}/cx"
    line = one_line(cxbot(tmp_path, url, *command))
    assert line == (
        f"cxbot: cannot connect to PostgreSQL at 127.0.0.1:{port} (database cx, user cx): "
        "connection refused (is the server running and listening on that port?)"
    )


def test_an_unknown_host_is_named(tmp_path: Path) -> None:
    url = f"postgres://cx:{PASSWORD}@db.invalid/cx"
    line = one_line(cxbot(tmp_path, url, "db", "upgrade"))
    assert line == (
        "cxbot: cannot connect to PostgreSQL at db.invalid (database cx, user cx): "
        "unknown host 'db.invalid' (the name does not resolve)"
    )


def test_a_missing_database_says_how_to_create_it(tmp_path: Path, postgres: PostgresServer) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{postgres.port}/no_such_db"
    line = one_line(cxbot(tmp_path, url, "chat", "nps"))
    assert line == (
        f"cxbot: cannot connect to PostgreSQL at 127.0.0.1:{postgres.port} "
        '(database no_such_db, user postgres): database "no_such_db" does not exist '
        "(create it first, e.g. createdb no_such_db)"
    )


@pytest.fixture
def password_user(postgres: PostgresServer) -> Iterator[str]:
    """A role that must give its password (the rest of the test server trusts everyone)."""
    hba = postgres.data / "pg_hba.conf"
    original = hba.read_text()
    rule = "host all cxbot_pw 127.0.0.1/32 scram-sha-256\n"
    admin = {"host": "127.0.0.1", "port": postgres.port, "dbname": "postgres"}
    with psycopg.connect(**admin, user="postgres", autocommit=True) as connection:
        connection.execute(f"CREATE ROLE cxbot_pw LOGIN PASSWORD '{PASSWORD}'")
        hba.write_text(rule + original)
        connection.execute("SELECT pg_reload_conf()")
    try:
        _wait_until_passwords_are_checked(admin)
        yield "cxbot_pw"
    finally:
        hba.write_text(original)
        with psycopg.connect(**admin, user="postgres", autocommit=True) as connection:
            connection.execute("SELECT pg_reload_conf()")
            connection.execute("DROP ROLE cxbot_pw")


def _wait_until_passwords_are_checked(admin: dict[str, object]) -> None:
    """The reload is a signal: wait (boundedly) until a wrong password is refused."""
    for _ in range(200):
        try:
            with psycopg.connect(**admin, user="cxbot_pw", password="wrong", connect_timeout=5):
                pass
        except psycopg.OperationalError as refused:
            if "password authentication failed" in str(refused):
                return
            raise
        with contextlib.suppress(OSError):
            os.sched_yield()
    raise AssertionError("the server still trusts cxbot_pw")


def test_a_wrong_password_is_said_without_showing_it(
    tmp_path: Path, postgres: PostgresServer, password_user: str
) -> None:
    url = f"postgresql://{password_user}:{PASSWORD}-typo@127.0.0.1:{postgres.port}/postgres"
    line = one_line(cxbot(tmp_path, url, "db", "upgrade"))
    assert line == (
        f"cxbot: cannot connect to PostgreSQL at 127.0.0.1:{postgres.port} "
        f"(database postgres, user {password_user}): password authentication failed for user "
        f'"{password_user}"'
    )
    right = f"postgresql://{password_user}:{PASSWORD}@127.0.0.1:{postgres.port}/postgres"
    with psycopg.connect(right):
        pass  # the right password gets in: the refusal was about the password


@pytest.mark.parametrize("command", COMMANDS[:3] + COMMANDS[4:])
def test_a_sqlite_folder_that_cannot_be_created(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "data").write_text("a file where a folder should be")
    url = f"sqlite:///{tmp_path / 'data' / 'cx' / 'cxbot.db'}"
    line = one_line(cxbot(tmp_path, url, *command))
    assert line == (
        f"cxbot: cannot use the SQLite database {tmp_path / 'data' / 'cx' / 'cxbot.db'}: "
        f"cannot create the folder {tmp_path / 'data' / 'cx'}: {tmp_path / 'data'} is a file"
    )


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """No writing to `path` (a folder or file), even for root (immutable), in the block."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def test_a_read_only_sqlite_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        line = one_line(cxbot(tmp_path, "sqlite:///ro/cxbot.db", "db", "upgrade"))
    assert line == (
        "cxbot: cannot use the SQLite database ro/cxbot.db: unable to open database file "
        "(the folder ro is read-only)"
    )


def test_a_read_only_sqlite_file(tmp_path: Path) -> None:
    assert cxbot(tmp_path, "sqlite:///cx.db", "db", "upgrade").returncode == 0
    with read_only(tmp_path / "cx.db"):
        line = one_line(cxbot(tmp_path, "sqlite:///cx.db", "chat", "nps"))
    assert line == (
        "cxbot: cannot use the SQLite database cx.db: attempt to write a readonly database "
        "(the file is read-only)"
    )


def test_a_database_that_answers_still_works(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "sqlite:///cx.db", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "database at sqlite+aiosqlite:///cx.db is up to date\n"
