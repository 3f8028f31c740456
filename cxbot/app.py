"""The FastAPI application: health, the web chat, and every channel that has credentials."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import webchat
from cxbot.conversations import ConversationService
from cxbot.settings import Settings
from flows.registry import FlowRegistry
from storage.database import create_engine, create_sessions
from storage.migrations import upgrade

log = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
STATIC = Path(__file__).parent.parent / "bot" / "static"


Hook = Callable[[], Awaitable[None]]
CHANNEL_MODULES = ("bot.telegram", "bot.wechat")
"""Channel adapters; each has `mount(app, runtime)` and mounts itself only when configured."""


@dataclass
class Runtime:
    """What the running app holds: settings, database, flows and the conversation service."""

    settings: Settings
    engine: AsyncEngine
    registry: FlowRegistry
    service: ConversationService
    on_startup: list[Hook] = field(default_factory=list)
    """Run after migrations and flow loading (channels start their clients here)."""
    on_shutdown: list[Hook] = field(default_factory=list)
    """Run before the database closes, in reverse order."""


class BodyLimit:
    """Refuse request bodies above a size with 413 (public webhooks face the internet)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    response = JSONResponse({"detail": "request body too large"}, status_code=413)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _reload_flows(runtime: Runtime) -> None:
    """Pick up edited flow files; a broken edit is logged and the running version stays."""
    while True:
        await asyncio.sleep(runtime.settings.flow_reload_seconds)
        try:
            runtime.registry.refresh()
        except Exception:
            log.exception("flow reload failed")


async def _close_idle(runtime: Runtime) -> None:
    """Close interviews past their reply timeout, once a minute."""
    while True:
        await asyncio.sleep(60)
        try:
            closed = await runtime.service.expire_idle()
            if closed:
                log.info("closed %d idle interviews", closed)
        except Exception:
            log.exception("closing idle interviews failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing touches the database until start-up."""
    settings = settings or Settings()
    engine = create_engine(settings.database_url)
    registry = FlowRegistry(settings.flow_paths)
    service = ConversationService(sessions=create_sessions(engine), registry=registry)
    runtime = Runtime(settings, engine, registry, service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await anyio.to_thread.run_sync(upgrade, settings.database_url)
        for error in registry.refresh():
            log.error("%s", error)
        tasks = [asyncio.create_task(_close_idle(runtime))]
        if settings.flow_reload_seconds > 0:
            tasks.append(asyncio.create_task(_reload_flows(runtime)))
        log.info("flows loaded: %s", ", ".join(f.flow.id for f in registry.all()) or "none")
        for hook in runtime.on_startup:
            await hook()
        try:
            yield
        finally:
            for hook in reversed(runtime.on_shutdown):
                try:
                    await hook()
                except Exception:
                    log.exception("shutdown hook failed")
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()

    app = FastAPI(title="cxbot", lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Liveness and readiness: the database answers and flows are loaded."""
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check failed: %s", exc)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "flows": [f.flow.id for f in registry.all()],
                "flow_errors": len(registry.errors),
            }
        )

    @app.get("/")
    async def index(request: Request) -> Response:
        """A list of the interviews one can take in the browser."""
        return TEMPLATES.TemplateResponse(request, "index.html", {"flows": registry.all()})

    app.include_router(webchat.router(runtime.service, registry))
    for module_name in CHANNEL_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.mount(app, runtime)
    return app
