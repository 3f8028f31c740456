"""Shared fixtures: a migrated SQLite file, the shipped flows, a service with a clock, the app.

Everything is real: a SQLite file in `tmp_path` migrated by Alembic, the flow files from
`flows/builtin`, the conversation service and the FastAPI app with its lifespan running.

A module or test marked `@pytest.mark.backends("sqlite", "postgresql")` runs once per
database: on PostgreSQL `db_url` is a fresh database on one throwaway server for the whole
run (see tests/postgres.py). Everything else stays on SQLite.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from cxbot.app import create_app
from cxbot.conversations import ConversationService, Incoming, Reply
from cxbot.settings import Settings
from flows.registry import BUILTIN_DIR, FlowRegistry
from storage import outbox
from storage.database import Sessions, create_engine, create_sessions
from storage.migrations import upgrade
from tests.postgres import PostgresServer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by `timedelta(**delta)` and return the new time."""
        self.now += timedelta(**delta)
        return self.now


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's SQLite database lives."""
    return tmp_path / "cxbot.db"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests marked `backends(...)` once per named database."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole run (fails, never skips, if missing)."""
    try:
        server = PostgresServer.start()
    except RuntimeError as error:
        reason = str(error)
    else:
        reason = ""
    if reason:
        pytest.fail(f"cannot start PostgreSQL for the tests: {reason}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: sqlite unless parametrized by `backends(...)`."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db_url(request: pytest.FixtureRequest, backend: str, db_path: Path) -> Iterator[str]:
    """A database migrated to head with Alembic: a SQLite file in tmp_path, or a fresh
    PostgreSQL database."""
    if backend == "sqlite":
        url = sqlite_url(db_path)
        upgrade(url)
        yield url
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        with server.database() as url:
            yield url


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched yet: a SQLite file in a folder that does not exist
    yet, or an empty PostgreSQL database."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "nested" / "fresh.db")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        with server.database(migrated=False) as url:
            yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """The async engine on the migrated file (WAL, BEGIN IMMEDIATE)."""
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    """The session factory on the test database."""
    return create_sessions(engine)


@pytest.fixture
def registry() -> FlowRegistry:
    """The shipped flows (nps, ces, csat), loaded."""
    registry = FlowRegistry([BUILTIN_DIR])
    assert registry.refresh() == []
    return registry


@pytest.fixture
def clock() -> Clock:
    """A controllable clock starting at START."""
    return Clock()


@pytest.fixture
def service(sessions: Sessions, registry: FlowRegistry, clock: Clock) -> ConversationService:
    """The conversation service over the test database, the shipped flows and the clock."""
    return ConversationService(sessions=sessions, registry=registry, clock=clock)


class Customer:
    """One customer talking to a service: numbered platform ids, readable calls."""

    def __init__(self, service: ConversationService, ref: str, channel: str = "test") -> None:
        self.service = service
        self.ref = ref
        self.channel = channel
        self.sent = 0

    def incoming(self, text: str = "", **fields: object) -> Incoming:
        """The next message from this customer (a fresh platform id unless given)."""
        self.sent += 1
        fields.setdefault("platform_message_id", f"{self.ref}-{self.sent}")
        return Incoming(
            channel=self.channel,
            customer_ref=self.ref,
            text=text,
            **fields,  # type: ignore[arg-type]
        )

    async def says(self, text: str = "", **fields: object) -> Reply:
        """Send one message and return the service's reply."""
        return await self.service.handle(self.incoming(text, **fields))

    async def starts(self, flow_id: str = "nps", language: str | None = None) -> Reply:
        """Open an interview the way the web chat does (flow id + start command)."""
        return await self.says(
            kind="command", command="start", flow_id=flow_id, language_hint=language
        )


async def claim(service: ConversationService, ids: list[int]) -> list[int]:
    """Ask for outbound messages as a sender would (`storage.outbox.claim`)."""
    async with service.writer.transaction() as session:
        return await outbox.claim(
            session=session, message_ids=ids, now=service.clock(), lease=service.lease
        )


def texts(reply: Reply) -> list[str]:
    """The texts of a reply's messages."""
    return [message.text for _, message in reply.messages]


@pytest.fixture
def customer(service: ConversationService) -> Customer:
    """A customer named `alice` on the `test` channel."""
    return Customer(service, "alice")


@pytest.fixture
def app_settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for an app on the test database; no background reload, no .env file."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flow_reload_seconds=0,
        flows_dir=tmp_path / "flows",
    )


@pytest.fixture
async def app(app_settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (migrations, flows loaded)."""
    assert app_settings.flows_dir is not None
    app_settings.flows_dir.mkdir(exist_ok=True)
    app = create_app(app_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The app served by uvicorn on 127.0.0.1."""

    url: str
    app: FastAPI


@pytest.fixture
async def live_server(app_settings: Settings) -> AsyncIterator[LiveServer]:
    """The app served by uvicorn in this process on a free port."""
    assert app_settings.flows_dir is not None
    app_settings.flows_dir.mkdir(exist_ok=True)
    app = create_app(app_settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
