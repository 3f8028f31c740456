"""The `cxbot` command: check flows, chat in the terminal, migrate, serve, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from pathlib import Path

from cxbot.conversations import ConversationService
from cxbot.settings import Settings
from flows.loader import FlowLoadError, load_file
from flows.registry import BUILTIN_DIR, FlowRegistry, flow_files


def _check(args: argparse.Namespace) -> int:
    paths = args.paths or [str(BUILTIN_DIR)]
    files = flow_files(paths)
    if not files:
        print(f"no flow files found in {' '.join(paths)}", file=sys.stderr)
        return 2
    failed = 0
    for path in files:
        try:
            loaded = load_file(path)
        except FlowLoadError as exc:
            failed += 1
            for error in exc.errors:
                print(error)
            continue
        print(
            f"{path}: ok (flow '{loaded.flow.id}', version {loaded.version}, "
            f"{len(loaded.flow.steps)} steps)"
        )
    if failed:
        print(f"{failed} of {len(files)} flow files have errors", file=sys.stderr)
    return 1 if failed else 0


def _format_event(name: str, data: dict[str, object]) -> str:
    fields = " ".join(f"{key}={value}" for key, value in data.items() if value not in (None, ""))
    return f"  · event {name}{' ' + fields if fields else ''}"


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from cxbot.conversations import Incoming
    from storage.database import create_engine, create_sessions
    from storage.migrations import upgrade

    paths = list(settings.flow_paths)
    target = Path(args.flow)
    if target.suffix in (".yaml", ".yml") or await asyncio.to_thread(target.exists):
        try:
            flow_id = load_file(target).flow.id
        except FlowLoadError as exc:
            for error in exc.errors:
                print(error, file=sys.stderr)
            return 1
        paths.append(target)
    else:
        flow_id = args.flow
    registry = FlowRegistry(paths)
    for error in registry.refresh():
        if str(target) == error.file or flow_id in error.file:
            print(error, file=sys.stderr)
    if registry.current(flow_id) is None:
        known = ", ".join(f.flow.id for f in registry.all())
        print(f"no flow '{flow_id}' (known: {known})", file=sys.stderr)
        return 2

    await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    service = ConversationService(sessions=create_sessions(engine), registry=registry)
    interactive = sys.stdin.isatty()
    customer = f"cli-{uuid.uuid4().hex[:12]}"

    conversations: set[int] = set()

    async def say(incoming: Incoming) -> str | None:
        reply = await service.handle(incoming)
        if reply.conversation_id is not None:
            conversations.add(reply.conversation_id)
        for _, message in reply.messages:
            text = message.as_plain_text()
            print(
                "\n".join(
                    f"bot> {line}" if i == 0 else f"     {line}"
                    for i, line in enumerate(text.splitlines())
                )
            )
        for name, data in reply.events:
            print(_format_event(name, data))
        sys.stdout.flush()
        return None

    try:
        await say(
            Incoming(
                channel="cli",
                customer_ref=customer,
                kind="command",
                command="start",
                flow_id=flow_id,
                language_hint=args.lang,
                replies="inline",
            )
        )
        while True:
            line = await asyncio.to_thread(_read_line, interactive)
            if line is None:
                break
            if not line.strip():
                continue
            if not interactive:
                print(f"you> {line}")
            await say(
                Incoming(
                    channel="cli",
                    customer_ref=customer,
                    text=line,
                    platform_message_id=uuid.uuid4().hex,
                    replies="inline",
                )
            )
        await _summarize(service, conversations)
    finally:
        await engine.dispose()
    return 0


async def _summarize(service: ConversationService, conversations: set[int]) -> None:
    """One line per interview: its status and any escalation waiting for an agent."""
    from storage import queries
    from storage.models import Conversation

    async with service.sessions() as session:
        for conversation_id in sorted(conversations):
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                continue
            line = (
                f"-- interview #{conversation_id} ({conversation.flow_id}): {conversation.status}"
            )
            for escalation in await queries.escalations_for(
                session=session, conversation_id=conversation_id
            ):
                due = escalation.due_at.strftime("%Y-%m-%d %H:%M UTC")
                line += (
                    f"; escalation #{escalation.id} {escalation.status}: "
                    f"{escalation.reason}, {escalation.priority} priority, due {due}"
                )
            print(line)


def _read_line(interactive: bool) -> str | None:
    try:
        line = input("you> ") if interactive else sys.stdin.readline()
    except EOFError:
        return None
    if not interactive and line == "":
        return None
    return line.rstrip("\n")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import uvicorn

    if getattr(args, "telegram_polling", False):
        os.environ["CXBOT_TELEGRAM_POLLING"] = "true"  # read by the app factory in each worker
    if settings.auto_migrate and args.workers > 1:
        from storage.migrations import upgrade

        upgrade(settings.database_url)  # once, here, not racing in every worker
        os.environ["CXBOT_AUTO_MIGRATE"] = "false"

    host = args.host or settings.host
    port = args.port or settings.port
    print(f"cxbot serving on http://{host}:{port}/ (the web chat pages are listed there)")
    uvicorn.run(
        "cxbot.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
    )
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from cxbot.demo import seed

    created = asyncio.run(seed(settings))
    print(
        f"demo data: {created} sample interviews added" if created else "demo data already present"
    )
    return _serve(args, settings)


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.engine import make_url

    from storage.migrations import upgrade

    upgrade(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"database at {shown} is up to date")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from flows.schema import json_schema

    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from flows.diagram import mermaid

    try:
        loaded = load_file(args.file)
    except FlowLoadError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    print(mermaid(loaded.flow, language=args.lang), end="")
    return 0


def _database_problem(url: str) -> str | None:
    """Why the database URL cannot be used (bad syntax, driver not installed), or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.ext.asyncio import create_async_engine

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return (
            f"cxbot: CXBOT_DATABASE_URL {url!r} is not a database URL; "
            "e.g. sqlite+aiosqlite:///./cxbot.db or postgresql+psycopg://user:pw@host/db"
        )
    try:
        create_async_engine(url).sync_engine.dispose()  # imports the driver, connects nothing
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        hint = " (install it: pip install 'cxbot[postgres]')" if "postgres" in url else ""
        return f"cxbot: cannot use database {shown}: {exc}{hint}"
    return None


OUR_LOGGERS = ("cxbot", "flows", "bot", "storage")
"""Loggers whose INFO lines a server operator should see (channels mounted, flows loaded)."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="cxbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate flow files")
    check.add_argument("paths", nargs="*", help="flow files or folders (default: shipped flows)")

    chat = commands.add_parser("chat", help="take an interview in the terminal")
    chat.add_argument("flow", help="a flow id (nps, ces, csat) or a flow file")
    chat.add_argument("--lang", choices=["zh", "en"], default=None)

    for name, help_text in (("serve", "run the server"), ("demo", "add sample data and serve")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default=None)
        sub.add_argument("--port", type=int, default=None)
        sub.add_argument("--workers", type=int, default=1)
        sub.add_argument(
            "--telegram-polling",
            action="store_true",
            help="get Telegram updates by long polling (no public URL needed)",
        )

    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations to CXBOT_DATABASE_URL")

    telegram = commands.add_parser("telegram", help="Telegram tasks")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    telegram_commands.add_parser("set-webhook", help="register PUBLIC_URL/webhooks/telegram")

    commands.add_parser("schema", help="print the JSON Schema of flow files")
    diagram = commands.add_parser("diagram", help="print a Mermaid diagram of a flow file")
    diagram.add_argument("file")
    diagram.add_argument("--lang", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cxbot` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command in ("serve", "demo"):
        for name in OUR_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
    if args.command == "check":
        return _check(args)
    if args.command == "schema":
        return _schema(args)
    if args.command == "diagram":
        return _diagram(args)
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"cxbot: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    problem = _database_problem(settings.database_url)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    if args.command == "chat":
        return asyncio.run(_chat(args, settings))
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "demo":
        return _demo(args, settings)
    if args.command == "telegram":
        from cxbot.channels import set_webhook_command

        return set_webhook_command(settings)
    return _db(args, settings)


if __name__ == "__main__":
    sys.exit(main())
