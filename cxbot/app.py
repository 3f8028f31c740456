"""The FastAPI application: health, the web chat, and every channel that has credentials."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin import (
    access,
    dashboard_page,
    desk_api,
    desk_pages,
    desk_stream,
    flow_pages,
    flow_tools,
    flows_api,
    transcript_pages,
    transcripts_api,
)
from admin import metrics as admin_metrics
from admin.auth import AdminAuth, AuthConfig
from admin.install import install as install_admin
from admin.rendering import STATIC as ADMIN_STATIC
from admin.rendering import STATIC_PATH as ADMIN_STATIC_PATH
from admin.simulator import Simulator
from bot import webchat
from bot.channel import Unavailable
from cxbot import announcements, api, api_docs, channels, intelligence
from cxbot.closing import expire_idle
from cxbot.conversations import ConversationService
from cxbot.delivery import Delivery
from cxbot.desk import Desk
from cxbot.flow_publishing import Publisher
from cxbot.flow_studio import Studio
from cxbot.flow_sync import FlowSync
from cxbot.handoff import HandoffPolicy
from cxbot.headers import SecurityHeaders
from cxbot.runtime import Runtime
from cxbot.settings import Settings
from cxbot.unattended import tell_unattended
from flows.registry import FlowRegistry
from storage import server_secrets
from storage.database import Sessions, create_engine, create_sessions, transaction
from storage.migrations import upgrade
from storage.outages import ping, unavailable

log = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
STATIC = Path(__file__).parent.parent / "bot" / "static"
HEALTH_SECONDS = 2.0
"""/healthz answers within this long, database or not."""


class _BodyTooLarge(Exception):
    """The request body went past the limit while the app was reading it."""


class BodyLimit:
    """Refuse request bodies above a size with 413 (public webhooks face the internet).

    A declared `Content-Length` over the limit is refused before the app runs; a body
    without one (chunked) is counted as `receive` hands it over, and the first chunk past
    the limit ends the request with 413 — the rest is never read, and whatever the app
    would have answered to its truncated body is dropped.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a body it never got whole
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": "request body too large"}, status_code=413)
        await response(scope, receive, send)


def _printable(text: str) -> str:
    """`text` with anything UTF-8 cannot carry (a lone surrogate) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


_CONTROLS = {n: f"\\x{n:02x}" for n in (*range(0x20), 0x7F)} | {0x0A: "\\n", 0x0D: "\\r"}


def _loggable(text: str) -> str:
    """`text` (a request's path) for one log line: control characters escaped, so a path
    can neither forge a line nor drive the terminal that shows the log."""
    return _printable(text).translate(_CONTROLS)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with where and what is wrong, never the offending input (it may be huge,
    private, or not even encodable); one log line naming the fields."""
    assert isinstance(exc, RequestValidationError)
    fields = sorted({".".join(str(p) for p in e["loc"])[:80] for e in exc.errors()})[:5]
    log.info(
        "%s %s refused (422): %s",
        request.method,
        _loggable(request.url.path),
        _printable(", ".join(fields)),
    )
    return JSONResponse(
        {
            "detail": [
                {
                    "loc": [p if isinstance(p, int) else _printable(str(p)) for p in e["loc"]],
                    "msg": _printable(str(e.get("msg", ""))),
                    "type": _printable(str(e.get("type", ""))),
                }
                for e in exc.errors()
            ]
        },
        status_code=422,
    )


def _database_errors() -> tuple[type[Exception], ...]:
    """What the drivers raise that may mean an outage (the handler tells which it is)."""
    errors: list[type[Exception]] = [Unavailable, SQLAlchemyError, OSError]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support is an extra
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 when the database is unavailable (platforms and pages try again), with one log
    line and no traceback; any other database error is a bug: logged in full, 500."""
    reason = str(exc) if isinstance(exc, Unavailable) else unavailable(exc)
    if reason is None:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)
    log.warning(
        "%s %s: database unavailable (%s); answered 503", request.method, request.url.path, reason
    )
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None and not isinstance(exc, Unavailable):  # the service counted those
        metrics.outage(reason)
    return JSONResponse(
        {"detail": "the database is unavailable; try again"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _reload_flows(runtime: Runtime, sync: FlowSync) -> None:
    """Pick up edited flow files and publish them; a broken edit is logged and the running
    version stays."""
    while True:
        await asyncio.sleep(runtime.settings.flow_reload_seconds)
        try:
            await sync.refresh_files()
        except Exception as exc:
            reason = unavailable(exc)
            if reason is not None:
                log.warning("flow reload skipped: database unavailable (%s)", reason)
            else:
                log.exception("flow reload failed")


async def _close_idle(runtime: Runtime) -> None:
    """Close interviews past their reply timeout and tell customers whose case nobody
    picked up, every `idle_sweep_seconds`."""
    while True:
        await asyncio.sleep(runtime.settings.idle_sweep_seconds)
        try:
            closed = await expire_idle(runtime.service)
            if closed:
                log.info("closed %d idle interviews", closed)
            await tell_unattended(runtime.service)
        except Exception as exc:
            reason = unavailable(exc)
            if reason is not None:  # an outage: one line; the next sweep catches up
                log.warning("idle sweep skipped: database unavailable (%s)", reason)
            else:
                log.exception("closing idle interviews failed")


def _log_to_stderr_if_unconfigured() -> None:
    """uvicorn's worker processes start without our logging set-up: give them the same."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        for name in ("cxbot", "flows", "bot", "storage"):
            logging.getLogger(name).setLevel(logging.INFO)


async def _secret_key(settings: Settings, sessions: Sessions) -> bytes:
    """CXBOT_SECRET_KEY, else the key stored in the database (made by the first process)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    async with transaction(sessions) as session:
        return (await server_secrets.shared_secret(session=session, name="secret_key")).encode()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing touches the database until start-up."""
    _log_to_stderr_if_unconfigured()
    settings = settings or Settings()
    engine = create_engine(settings.database_url, timeout=settings.database_timeout_seconds)
    registry = FlowRegistry(settings.flow_paths, files_go_live=False)
    sessions = create_sessions(engine)
    service = ConversationService(
        sessions=sessions,
        registry=registry,
        lease=timedelta(seconds=settings.send_lease_seconds),
        wait_seconds=settings.database_timeout_seconds,
        handoff=HandoffPolicy.from_settings(settings),
    )
    delivery = Delivery(writer=service.writer, clock=service.clock, lease=service.lease)
    runtime = Runtime(settings, engine, registry, service, delivery)
    publisher = Publisher(service.writer, service.clock)
    flow_sync = FlowSync(sessions=sessions, publisher=publisher, registry=registry)
    studio = Studio(
        sessions=sessions,
        registry=registry,
        publisher=publisher,
        sync=flow_sync,
        clock=service.clock,
    )
    auth = AdminAuth(
        sessions=sessions,
        writer=service.writer,
        config=AuthConfig(
            session_lifetime=timedelta(hours=settings.admin_session_hours),
            legacy_api_token=(
                settings.api_token.get_secret_value() if settings.api_token is not None else None
            ),
            secure_cookies=settings.admin_secure_cookies,
        ),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await anyio.to_thread.run_sync(upgrade, settings.database_url)
        secret = await _secret_key(settings, sessions)
        runtime.visitor_ids.use_key(secret)
        auth.use_key(secret)
        for error in await flow_sync.start():
            log.error("%s", error)
        stop_sweeping = asyncio.Event()
        sweeper = asyncio.create_task(delivery.run(settings.delivery_sweep_seconds, stop_sweeping))
        tasks = [asyncio.create_task(_close_idle(runtime))]
        if settings.flow_reload_seconds > 0:
            tasks.append(asyncio.create_task(_reload_flows(runtime, flow_sync)))
        if settings.flow_poll_seconds > 0:
            tasks.append(asyncio.create_task(flow_sync.poll(settings.flow_poll_seconds)))
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
            stop_sweeping.set()
            with contextlib.suppress(Exception):
                await sweeper
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()

    app = FastAPI(title="cxbot", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.flow_studio = studio
    app.state.flow_sync = flow_sync
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    install_admin(app, auth)
    app.include_router(dashboard_page.page_router(sessions, viewer=access.page_role("viewer")))
    app.include_router(admin_metrics.api_router(sessions, viewer=access.api_role("viewer")))
    app.include_router(transcripts_api.api_router(sessions, agent=access.api_role("agent")))
    app.include_router(
        transcript_pages.pages_router(
            sessions,
            agent=access.page_role("agent"),
            flow_ids=lambda: sorted(loaded.flow.id for loaded in registry.all()),
        )
    )
    desk = Desk(sessions=sessions, writer=service.writer, delivery=delivery, clock=service.clock)
    app.state.desk = desk
    app.include_router(desk_pages.router(desk))
    app.include_router(
        desk_stream.router(desk, guard=access.api_role("agent"), poll=settings.desk_poll_seconds)
    )
    app.include_router(desk_api.router(desk, guard=access.api_role("agent")))
    app.include_router(
        flows_api.router(studio, viewer=access.api_role("viewer"), admin=access.api_role("admin"))
    )
    simulator = Simulator(
        key=lambda: auth.cookie_key, clock=service.clock, alerts=service.handoff.alerts
    )
    app.include_router(flow_tools.router(simulator, admin=access.api_role("admin")))
    app.include_router(flow_pages.router(studio, admin=access.page_role("admin")))
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error in _database_errors():
        app.add_exception_handler(error, _database_error)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount(ADMIN_STATIC_PATH, StaticFiles(directory=str(ADMIN_STATIC)), name="admin-static")
    if settings.metrics:
        from cxbot import metrics

        metrics.install(app, runtime)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Liveness and readiness: the database answers and flows are loaded."""
        problem = await ping(engine, seconds=min(HEALTH_SECONDS, settings.database_timeout_seconds))
        if problem is not None:
            log.warning("health check failed: %s", problem)
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

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        """The icon browsers ask for by themselves (an SVG; pages link it too)."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    if settings.api_docs:
        api_docs.mount(app)
    chat = webchat.WebChat(runtime.service, registry, runtime.visitor_ids)
    app.include_router(webchat.router(chat))
    app.include_router(api.router(runtime, guard=access.api_role("agent")))
    channels.mount_all(app, runtime)
    announcements.install(app, runtime, auth)
    intelligence.install(app, runtime)
    return app
