"""`cxbot users …` and `cxbot tokens …` as an operator runs them (subprocesses, one SQLite
file), and the first-run hint of `cxbot serve`."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from admin.commands import hint_first_user
from tests.conftest import sqlite_url
from tests.cxbot.test_cli import cxbot


def db(tmp_path: Path) -> Path:
    return tmp_path / "db" / "cli.db"


def test_users_add_list_remove(tmp_path: Path) -> None:
    added = cxbot(tmp_path, "users", "add", "ann", "--role", "admin", stdin="a good password\n")
    assert (added.returncode, added.stdout) == (0, "user ann added (admin)\n"), added.stderr
    assert cxbot(tmp_path, "users", "add", "bo", "--role", "viewer", stdin="x" * 12).returncode == 0
    with sqlite3.connect(db(tmp_path)) as connection:
        (stored,) = connection.execute(
            "SELECT password_hash FROM admin_user WHERE name = 'ann'"
        ).fetchone()
    assert stored.startswith("$argon2id$") and PasswordHasher().verify(stored, "a good password")
    listed = cxbot(tmp_path, "users", "list").stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["ann", "admin"], ["bo", "viewer"]]
    last = cxbot(tmp_path, "users", "remove", "ann")
    assert last.returncode == 1 and "last admin" in last.stderr
    assert cxbot(tmp_path, "users", "remove", "bo").stdout == "user bo removed\n"
    missing = cxbot(tmp_path, "users", "remove", "bo")
    assert missing.returncode == 1 and missing.stderr == "cxbot: no user called bo\n"


def test_users_add_refuses_short_passwords_names_taken_and_bad_roles(tmp_path: Path) -> None:
    short = cxbot(tmp_path, "users", "add", "ann", "--role", "admin", stdin="short\n")
    assert short.returncode == 2 and "password needs 10" in short.stderr
    spaced = cxbot(tmp_path, "users", "add", "a n", "--role", "admin", stdin="long enough pw\n")
    assert spaced.returncode == 2
    bad_role = cxbot(tmp_path, "users", "add", "ann", "--role", "root", stdin="long enough pw\n")
    assert bad_role.returncode == 2 and "invalid choice: 'root'" in bad_role.stderr
    assert (
        cxbot(tmp_path, "users", "add", "ann", "--role", "agent", stdin="long enough pw").returncode
        == 0
    )
    taken = cxbot(tmp_path, "users", "add", "ann", "--role", "agent", stdin="long enough pw")
    assert taken.returncode == 1 and "already a user called ann" in taken.stderr


def test_tokens_create_list_revoke(tmp_path: Path) -> None:
    created = cxbot(tmp_path, "tokens", "create", "--role", "viewer", "--name", "BI tool")
    assert created.returncode == 0, created.stderr
    header, secret = created.stdout.splitlines()
    assert header == "token 1 (BI tool, viewer); shown only now, store it safely:"
    assert secret.startswith("cxb_") and len(secret) == 47
    with sqlite3.connect(db(tmp_path)) as connection:
        rows = connection.execute("SELECT token_hash, name, role FROM api_token").fetchall()
    assert rows == [(hashlib.sha256(secret.encode()).hexdigest(), "BI tool", "viewer")]
    listed = cxbot(tmp_path, "tokens", "list").stdout
    assert secret not in listed
    assert listed.split("\t")[:4] == ["1", f"{secret[:12]}…", "viewer", "active"]
    assert cxbot(tmp_path, "tokens", "revoke", "1").stdout == "token 1 (BI tool) revoked\n"
    assert "\trevoked\t" in cxbot(tmp_path, "tokens", "list").stdout
    assert cxbot(tmp_path, "tokens", "revoke", "7").returncode == 1
    assert cxbot(tmp_path, "tokens", "create", "--role", "agent").stdout.startswith(
        "token 2 (agent, agent)"
    )


def test_serve_says_how_to_make_the_first_user_until_there_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(db(tmp_path))
    hint_first_user(url, "http://127.0.0.1:8000", migrate=True)
    assert capsys.readouterr().out == (
        "no admin user yet: create one with `cxbot users add NAME --role admin`, "
        "then sign in at http://127.0.0.1:8000/admin\n"
    )
    assert cxbot(tmp_path, "users", "add", "ann", "--role", "admin", stdin="x" * 12).returncode == 0
    hint_first_user(url, "http://127.0.0.1:8000", migrate=True)
    assert capsys.readouterr().out == ""


def test_each_demo_start_prints_a_new_working_password_for_demo_admin(tmp_path: Path) -> None:
    from admin.commands import ensure_demo_admin
    from storage.migrations import upgrade

    url = sqlite_url(tmp_path / "demo.db")
    upgrade(url)
    first = ensure_demo_admin(url)
    again = ensure_demo_admin(url)  # the demo restarted: the first password is gone with it
    assert first is not None and again is not None
    assert first[0] == again[0] == "demo-admin" and first[1] != again[1]
    with sqlite3.connect(tmp_path / "demo.db") as connection:
        rows = connection.execute("SELECT name, password_hash FROM admin_user").fetchall()
    assert [name for name, _ in rows] == ["demo-admin"]  # one user, not one per start
    assert PasswordHasher().verify(rows[0][1], again[1])
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(rows[0][1], first[1])


def test_the_demo_leaves_a_database_with_real_users_alone(tmp_path: Path) -> None:
    from admin.commands import ensure_demo_admin

    assert cxbot(tmp_path, "users", "add", "ann", "--role", "admin", stdin="a good password\n")
    assert ensure_demo_admin(sqlite_url(db(tmp_path))) is None
    with sqlite3.connect(db(tmp_path)) as connection:
        assert connection.execute("SELECT name FROM admin_user").fetchall() == [("ann",)]
