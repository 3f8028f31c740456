"""`cxbot flows …`: the published flows for teams that script or keep flows in git — list,
show, export (the exact bytes back), publish files, roll back, retire. Running servers pick
a change up within `flow_poll_seconds`. cxbot/cli.py only registers and dispatches these."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

from admin.flow_studio import Revision, StudioError
from cxbot.flow_publishing import Publisher
from cxbot.flow_studio import Studio
from cxbot.flow_sync import FlowSync
from flows.loader import FlowError, FlowLoadError, read_source
from flows.registry import FlowRegistry
from flows.validation import validate
from storage.database import create_engine, create_sessions
from storage.models import utcnow
from storage.writes import Writer


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `flows` on the `cxbot` parser."""
    flows = commands.add_parser("flows", help="published flows: list, show, export, publish")
    sub = flows.add_subparsers(dest="flows_command", required=True)
    sub.add_parser("list", help="every flow: status, current revision, where it came from")
    show = sub.add_parser("show", help="a flow's history, or one revision's text")
    show.add_argument("id", help="the flow's id")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--revision", type=int, default=None, help="print this revision")
    which.add_argument("--version", default=None, help="print this version (a hash)")
    export = sub.add_parser("export", help="print the published text, byte for byte")
    export.add_argument("id", help="the flow's id")
    export.add_argument("--revision", type=int, default=None, help="an older revision")
    publish = sub.add_parser("publish", help="publish flow files as new revisions")
    publish.add_argument("files", nargs="+", metavar="FILE", help="flow files")
    rollback = sub.add_parser("rollback", help="publish an older revision again")
    rollback.add_argument("id", help="the flow's id")
    rollback.add_argument("revision", type=int, help="the revision to restore")
    retire = sub.add_parser("retire", help="stop a flow starting new interviews")
    retire.add_argument("id", help="the flow's id")


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _origin(revision: Revision) -> str:
    where = revision.origin + (f" {revision.path}" if revision.path else "")
    who = f" by {revision.author}" if revision.author else ""
    back = f" (restores {revision.restored_from})" if revision.restored_from else ""
    return f"{where}{who}{back}"


async def _list(studio: Studio, _args: argparse.Namespace) -> int:
    flows = await studio.list_flows()
    for flow in flows:
        current = flow.current
        if current is None:
            print(f"{flow.id}\tdraft\t-\t-\tdrafts: {', '.join(flow.drafts)}")
            continue
        print(
            f"{flow.id}\t{flow.status}\t{current.revision}\t{current.version}\t"
            f"{_when(current.published_at)}\t{_origin(current)}"
        )
    if not flows:
        print(
            "no published flows yet: the server publishes its flow files when it starts, "
            "or run cxbot flows publish FILE"
        )
    return 0


async def _show(studio: Studio, args: argparse.Namespace) -> int:
    if args.revision is not None:
        revision, source = await studio.revision(args.id, args.revision)
        print(
            f"# {args.id} revision {revision.revision}, version {revision.version}, "
            f"{_when(revision.published_at)}, {_origin(revision)}"
        )
        _write(source)
        return 0
    if args.version is not None:
        print(f"# {args.id} version {args.version}")
        _write(await studio.version_source(args.id, args.version))
        return 0
    detail = await studio.flow(args.id)
    summary = detail.summary
    print(f"{summary.id}: {summary.status}")
    if summary.drafts:
        print(f"drafts by: {', '.join(summary.drafts)}")
    for revision in detail.history:
        print(
            f"  {revision.revision}\t{revision.version}\t{_when(revision.published_at)}\t"
            f"{_origin(revision)}"
        )
    return 0


def _write(source: str) -> None:
    """The text exactly as stored (no newline added, no line ends translated)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(source.encode("utf-8"))
    sys.stdout.buffer.flush()


async def _export(studio: Studio, args: argparse.Namespace) -> int:
    if args.revision is not None:
        _, source = await studio.revision(args.id, args.revision)
    else:
        detail = await studio.flow(args.id)
        if detail.source is None:
            print(f"cxbot: flow {args.id} was never published", file=sys.stderr)
            return 1
        source = detail.source
    _write(source)
    return 0


async def _publish(studio: Studio, args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            source = await asyncio.to_thread(read_source, name)
        except FlowLoadError as exc:
            failed += 1
            _print_errors(exc.errors)
            continue
        checked = await asyncio.to_thread(validate, source, file=name)
        if checked.loaded is None:
            failed += 1
            for problem in checked.problems:
                print(f"{name}:{problem.line}:{problem.column}: {problem.message}")
            continue
        flow_id = checked.loaded.flow.id
        live = studio.registry.current(flow_id)
        if live is not None and live.version == checked.loaded.version:
            print(f"{name}: flow {flow_id} version {live.version} is already the current one")
            continue
        path = await asyncio.to_thread(os.path.abspath, name)
        published = await studio.publish(
            flow_id, author=None, source=source, origin="cli", path=path
        )
        print(
            f"{name}: flow {flow_id} revision {published.revision} "
            f"(version {published.version}) published"
        )
    if failed:
        print(f"{failed} of {len(args.files)} flow files have errors", file=sys.stderr)
    return 1 if failed else 0


def _print_errors(errors: list[FlowError]) -> None:
    for error in errors:
        print(error)


async def _rollback(studio: Studio, args: argparse.Namespace) -> int:
    published = await studio.restore(args.id, args.revision, author=None, origin="cli")
    print(
        f"flow {args.id} revision {published.revision} published "
        f"(the text of revision {args.revision}, version {published.version})"
    )
    return 0


async def _retire(studio: Studio, args: argparse.Namespace) -> int:
    await studio.retire(args.id, author=None)
    print(f"flow {args.id} retired: it starts no new interviews (running ones go on)")
    return 0


COMMANDS: dict[str, Callable[[Studio, argparse.Namespace], Awaitable[int]]] = {
    "list": _list,
    "show": _show,
    "export": _export,
    "publish": _publish,
    "rollback": _rollback,
    "retire": _retire,
}


async def _run(args: argparse.Namespace, database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        sessions = create_sessions(engine)
        registry = FlowRegistry([], files_go_live=False)
        publisher = Publisher(Writer(sessions), utcnow)
        sync = FlowSync(sessions=sessions, publisher=publisher, registry=registry)
        studio = Studio(
            sessions=sessions, registry=registry, publisher=publisher, sync=sync, clock=utcnow
        )
        if args.flows_command == "publish":
            await sync.apply()  # to tell an unchanged file from a new version
        try:
            return await COMMANDS[args.flows_command](studio, args)
        except StudioError as exc:
            print(f"cxbot: {exc.detail}", file=sys.stderr)
            for problem in getattr(exc, "problems", ()):
                print(f"  {problem.line}:{problem.column}: {problem.message}", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()


def run(args: argparse.Namespace, database_url: str) -> int:
    """Run `cxbot flows …` against a migrated database."""
    return asyncio.run(_run(args, database_url))
