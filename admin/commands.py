"""`cxbot users …` and `cxbot tokens …`, the demo admin of `cxbot demo`, and the first-run
hint of `cxbot serve`. cxbot/cli.py only registers and dispatches these."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from admin import passwords, tokens
from admin.access import ROLES
from admin.users_page import name_problem
from storage import api_tokens, users
from storage.database import create_engine, create_sessions
from storage.migrations import upgrade
from storage.models import utcnow
from storage.writes import Writer

DEMO_ADMIN = "demo-admin"
FIRST_USER_HINT = (
    "no admin user yet: create one with `cxbot users add NAME --role admin`, "
    "then sign in at {url}/admin"
)


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `users` and `tokens` on the `cxbot` parser."""
    user = commands.add_parser("users", help="admin users: add, list, remove")
    user_commands = user.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser(
        "add", help="add a user (password from a prompt, or one line of stdin)"
    )
    add.add_argument("name", help="the name to sign in with")
    add.add_argument("--role", choices=ROLES, required=True, help="what the user may do")
    user_commands.add_parser("list", help="list users and their roles")
    remove = user_commands.add_parser("remove", help="remove a user and end their sessions")
    remove.add_argument("name", help="the user to remove")

    token = commands.add_parser("tokens", help="API tokens: create, list, revoke")
    token_commands = token.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create", help="make a token and print it once")
    create.add_argument("--role", choices=ROLES, required=True, help="what the token may do")
    create.add_argument("--name", default=None, help="a label to recognise it (default: ROLE)")
    token_commands.add_parser("list", help="list tokens (never their secret)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", type=int, help="the token's id (see `cxbot tokens list`)")


def read_password(stdin: TextIO = sys.stdin) -> str | None:
    """A new password: typed twice at a prompt, or one line of stdin when it is no terminal."""
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("cxbot: the passwords differ", file=sys.stderr)
        return None
    return first


async def _with_writer(database_url: str, work: Callable[[Writer], Awaitable[int]]) -> int:
    engine = create_engine(database_url)
    try:
        return await work(Writer(create_sessions(engine)))
    finally:
        await engine.dispose()


async def _add_user(writer: Writer, name: str, role: str, password: str) -> int:
    password_hash = await passwords.hash_password(password)
    try:
        async with writer.transaction() as session:
            await users.add_user(
                session=session, name=name, role=role, password_hash=password_hash, now=utcnow()
            )
    except IntegrityError:
        print(f"cxbot: there is already a user called {name}", file=sys.stderr)
        return 1
    print(f"user {name} added ({role})")
    return 0


async def _list_users(writer: Writer) -> int:
    async with writer.sessions() as session:
        found = await users.list_users(session=session)
    for user in found:
        print(f"{user.name}\t{user.role}\t{user.created_at:%Y-%m-%d %H:%M} UTC")
    if not found:
        print("no users yet (cxbot users add NAME --role admin)")
    return 0


async def _remove_user(writer: Writer, name: str) -> int:
    try:
        async with writer.transaction() as session:
            user = await users.user_named(session=session, name=name)
            if user is None or user.id is None:
                print(f"cxbot: no user called {name}", file=sys.stderr)
                return 1
            await users.remove_user(session=session, user_id=user.id)
    except users.LastAdmin:
        print(f"cxbot: {name} is the last admin; add another admin first", file=sys.stderr)
        return 1
    print(f"user {name} removed")
    return 0


async def _create_token(writer: Writer, role: str, name: str) -> int:
    made = await tokens.create(writer, name=name, role=role, now=utcnow(), created_by=None)
    print(f"token {made.stored.id} ({name}, {role}); shown only now, store it safely:")
    print(made.secret)
    return 0


async def _list_tokens(writer: Writer) -> int:
    async with writer.sessions() as session:
        found = await api_tokens.list_tokens(session=session)
    for token in found:
        state = "revoked" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never used"
        print(f"{token.id}\t{token.prefix}…\t{token.role}\t{state}\t{used}\t{token.name}")
    if not found:
        print("no tokens yet (cxbot tokens create --role viewer)")
    return 0


async def _revoke_token(writer: Writer, token_id: int) -> int:
    async with writer.transaction() as session:
        token = await api_tokens.revoke(session=session, token_id=token_id, now=utcnow())
    if token is None:
        print(f"cxbot: no token {token_id}", file=sys.stderr)
        return 1
    print(f"token {token_id} ({token.name}) revoked")
    return 0


def run(args: argparse.Namespace, database_url: str) -> int:
    """Run `cxbot users …` or `cxbot tokens …` against a migrated database."""
    work: Callable[[Writer], Awaitable[int]]
    if args.command == "users" and args.users_command == "add":
        problem = name_problem(args.name)
        if problem is not None:
            print("cxbot: a user name has 1-64 characters, no spaces", file=sys.stderr)
            return 2
        password = read_password()
        if password is None:
            return 2
        if passwords.problem(password):
            print(
                f"cxbot: a password needs {passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} "
                "characters",
                file=sys.stderr,
            )
            return 2
        name, role = args.name, args.role

        def work(writer: Writer) -> Awaitable[int]:
            return _add_user(writer, name, role, password)

    elif args.command == "users" and args.users_command == "list":
        work = _list_users
    elif args.command == "users":
        work = lambda writer: _remove_user(writer, args.name)  # noqa: E731
    elif args.tokens_command == "create":
        label = (args.name or args.role).strip()
        if not 1 <= len(label) <= 64:
            print("cxbot: a token name has 1-64 characters", file=sys.stderr)
            return 2
        work = lambda writer: _create_token(writer, args.role, label)  # noqa: E731
    elif args.tokens_command == "list":
        work = _list_tokens
    else:
        work = lambda writer: _revoke_token(writer, args.id)  # noqa: E731
    return asyncio.run(_with_writer(database_url, work))


async def _count(writer: Writer) -> int:
    async with writer.sessions() as session:
        return await users.count_users(session=session)


def has_users(database_url: str) -> bool:
    """Whether anyone can sign in yet (for the first-run hint of `cxbot serve`)."""
    return asyncio.run(_with_writer(database_url, _count)) > 0


def hint_first_user(database_url: str, url: str, *, migrate: bool) -> None:
    """With no user yet, print how to make the first one (`cxbot serve`)."""
    try:
        if migrate:
            upgrade(database_url)  # start-up would do it a moment later
        if not has_users(database_url):
            print(FIRST_USER_HINT.format(url=url))
    except SQLAlchemyError:  # not migrated (CXBOT_AUTO_MIGRATE=false): start-up will say
        pass


def ensure_demo_admin(database_url: str) -> tuple[str, str] | None:
    """The demo's admin and a password to print: `demo-admin` is added to a demo database
    without users, and given a new random password each time the demo starts (a password
    printed once would be lost with the terminal); None when the database has other users
    and no `demo-admin`."""
    password = passwords.random_password()
    password_hash = passwords.hash_now(password)

    async def work(writer: Writer) -> int:
        async with writer.transaction() as session:
            found = await users.user_named(session=session, name=DEMO_ADMIN)
            if found is not None and found.id is not None:
                await users.set_password_hash(
                    session=session,
                    user_id=found.id,
                    password_hash=password_hash,
                    end_sessions=False,  # a browser signed in before the restart stays so
                )
                return 1
            if await users.count_users(session=session):
                return 0
            await users.add_user(
                session=session,
                name=DEMO_ADMIN,
                role="admin",
                password_hash=password_hash,
                now=utcnow(),
            )
        return 1

    added = asyncio.run(_with_writer(database_url, work))
    return (DEMO_ADMIN, password) if added else None
