"""The `cxbot` command: check flows, chat in the terminal, migrate, serve, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from pathlib import Path

from admin import commands as admin_commands
from cxbot import analysis_commands, analyze_text, flows_cli
from cxbot.conversations import ConversationService
from cxbot.handoff import HandoffPolicy
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


def _names_a_file(target: Path) -> bool:
    """Whether a FLOW argument is a flow file rather than a flow id."""
    return target.suffix in (".yaml", ".yml") or target.exists()


def _format_event(name: str, data: dict[str, object]) -> str:
    fields = " ".join(f"{key}={value}" for key, value in data.items() if value not in (None, ""))
    return f"  · event {name}{' ' + fields if fields else ''}"


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from cxbot.conversations import Incoming
    from storage.database import create_engine, create_sessions
    from storage.migrations import upgrade

    paths = list(settings.flow_paths)
    target = Path(args.flow)
    if await asyncio.to_thread(_names_a_file, target):
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
    service = ConversationService(
        sessions=create_sessions(engine),
        registry=registry,
        handoff=HandoffPolicy.from_settings(settings),  # the deadlines the server would set
    )
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

    from cxbot.access_log import log_config
    from cxbot.metrics import shared_by_workers

    # each worker sends at its share; a larger CXBOT_WORKERS (several hosts) is kept
    os.environ["CXBOT_WORKERS"] = str(max(settings.workers, args.workers))
    if getattr(args, "telegram_polling", False):
        os.environ["CXBOT_TELEGRAM_POLLING"] = "true"  # read by the app factory in each worker
    if settings.auto_migrate and args.workers > 1:
        from storage.migrations import upgrade

        upgrade(settings.database_url)  # once, here, not racing in every worker
        os.environ["CXBOT_AUTO_MIGRATE"] = "false"

    host = settings.host if args.host is None else args.host
    port = settings.port if args.port is None else args.port  # 0: any free port
    print(f"cxbot serving on http://{host}:{port}/ (the web chat pages are listed there)")
    admin_commands.hint_first_user(
        settings.database_url, f"http://{host}:{port}", migrate=settings.auto_migrate
    )
    with shared_by_workers(args.workers if settings.metrics else 1):
        uvicorn.run(
            "cxbot.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            proxy_headers=True,
            log_level="info",
            log_config=log_config(),  # no query strings or client addresses in the access log
        )
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    """Seed and serve the demo database; `settings` already point at it (see _demo_settings)."""
    import os

    from cxbot.demo import describe_database, seed

    created = asyncio.run(seed(settings))
    where = describe_database(settings.database_url)
    print(
        f"demo data: {created} sample interviews added to {where}"
        if created
        else f"demo data already present in {where}"
    )
    first_admin = admin_commands.ensure_demo_admin(settings.database_url)
    if first_admin is not None:
        name, password = first_admin
        print(
            f"admin pages: sign in at /admin as {name} with password {password} "
            "(a new one each time the demo starts)"
        )
    os.environ["CXBOT_DATABASE_URL"] = settings.database_url  # for the app factory's workers
    return _serve(args, settings)


def _demo_settings(settings: Settings) -> Settings:
    """The settings of `cxbot demo`: its own database, never CXBOT_DATABASE_URL's."""
    return settings.model_copy(update={"database_url": settings.demo_database_url})


def _db(settings: Settings) -> int:
    from storage.database import normalize_url, shown_url
    from storage.migrations import upgrade

    upgrade(settings.database_url)
    print(f"database at {shown_url(normalize_url(settings.database_url))} is up to date")
    return 0


def _schema() -> int:
    from flows.schema import json_schema

    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from flows.diagram import mermaid

    if _names_a_file(Path(args.flow)):
        try:
            loaded = load_file(args.flow)
        except FlowLoadError as exc:
            for error in exc.errors:
                print(error, file=sys.stderr)
            return 1
    else:
        settings = _read_settings()
        if settings is None:
            return 2
        registry = FlowRegistry(settings.flow_paths)
        registry.refresh()
        found = registry.current(args.flow)
        if found is None:
            known = ", ".join(f.flow.id for f in registry.all())
            print(f"no flow '{args.flow}' (known: {known})", file=sys.stderr)
            return 2
        loaded = found
    print(mermaid(loaded.flow, language=args.lang), end="")
    return 0


def _database_problem(url: str, variable: str = "CXBOT_DATABASE_URL") -> str | None:
    """Why the database URL cannot be used (bad syntax, driver not installed), or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.database import normalize_url, shown_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return (
            f"cxbot: {variable} {url!r} is not a database URL; "
            "e.g. sqlite:///./cxbot.db or postgresql://user:pw@host/db"
        )
    try:
        normalized = normalize_url(url)
    except ArgumentError as exc:
        return f"cxbot: {variable} {shown}: {exc}"
    shown = shown_url(normalized)
    try:
        create_async_engine(normalized).sync_engine.dispose()  # imports the driver only
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        if normalized.drivername == "postgresql+asyncpg":
            hint = " (install asyncpg, or write postgresql:// to use psycopg)"
        elif normalized.get_backend_name() == "postgresql":
            hint = " (install it: pip install 'cxbot[postgres]')"
        else:
            hint = ""
        return f"cxbot: cannot use database {shown}: {exc}{hint}"
    return None


def _read_settings() -> Settings | None:
    """The settings from the environment; None (after saying why) when they are invalid."""
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"cxbot: invalid settings:\n{exc}", file=sys.stderr)
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
    chat.add_argument(
        "--lang", choices=["zh", "en"], default=None, help="the language (default: the flow's)"
    )

    for name, help_text in (
        ("serve", "run the server"),
        ("demo", "add sample data to its own database and serve it"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default=None, help="address to listen on (CXBOT_HOST)")
        sub.add_argument("--port", type=int, default=None, help="port to listen on (CXBOT_PORT)")
        sub.add_argument(
            "--workers",
            type=int,
            default=1,
            help="worker processes (default 1; use PostgreSQL for more)",
        )
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

    admin_commands.add_parsers(commands)
    analysis_commands.add_parsers(commands)
    flows_cli.add_parsers(commands)
    analyze_text.add_parser(commands)

    commands.add_parser("schema", help="print the JSON Schema of flow files")
    diagram = commands.add_parser("diagram", help="print a Mermaid diagram of a flow")
    diagram.add_argument("flow", help="a flow id (nps, ces, csat) or a flow file")
    diagram.add_argument(
        "--lang", default=None, help="the language of the texts (default: the flow's)"
    )
    return parser


DATABASE_COMMANDS = (
    "chat", "serve", "demo", "db", "users", "tokens", "flows", "worker", "analyze"
)
"""Commands that use the database: it is checked before they start."""


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
        return _schema()
    if args.command == "diagram":
        return _diagram(args)
    if args.command == "analyze-text":
        return analysis_commands.analyze_text(args)  # the model when configured
    settings = _read_settings()
    if settings is None:
        return 2
    if args.command == "telegram":
        from cxbot.channels import set_webhook_command

        return set_webhook_command(settings)
    variable = "CXBOT_DATABASE_URL"
    if args.command == "demo":
        settings, variable = _demo_settings(settings), "CXBOT_DEMO_DATABASE_URL"
    problem = _database_problem(settings.database_url, variable)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    return _run_with_database(args, settings)


def _run_with_database(args: argparse.Namespace, settings: Settings) -> int:
    """Run a database command; an unusable database is one line on stderr and exit status 1."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from storage.reachability import DatabaseUnreachable, check_reachable, explain_failure

    try:
        check_reachable(settings.database_url)
        if args.command == "chat":
            return asyncio.run(_chat(args, settings))
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "demo":
            return _demo(args, settings)
        if args.command in ("users", "tokens", "flows"):
            if settings.auto_migrate:
                from storage.migrations import upgrade

                upgrade(settings.database_url)
            if args.command == "flows":
                return flows_cli.run(args, settings.database_url)
            return admin_commands.run(args, settings.database_url)
        if args.command in ("worker", "analyze"):
            return analysis_commands.run(args, settings)
        return _db(settings)
    except DatabaseUnreachable as exc:
        print(f"cxbot: {exc}", file=sys.stderr)
    except (OperationalError, InterfaceError) as exc:  # it went away while the command ran
        print(f"cxbot: {explain_failure(settings.database_url, exc)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
