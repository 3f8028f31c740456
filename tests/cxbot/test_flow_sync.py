"""The running app and the publications: files published when they change (and only then),
the newer publication winning over an unchanged file at restart, a removed file retiring
its flow, another process's publication picked up by the poll — and nothing of it on the
message path."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from admin.flow_studio import FlowMissing
from cxbot.app import create_app
from cxbot.flow_publishing import Publisher
from cxbot.flow_studio import Studio
from cxbot.flow_sync import FlowSync
from cxbot.runtime import Runtime
from cxbot.settings import Settings
from flows.loader import LoadedFlow
from flows.registry import BUILTIN_DIR
from storage import flow_store
from storage.flow_store import Published
from tests.bot.test_webchat import bot_texts, open_page, post

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NPS = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")
OWN = (
    NPS.replace("id: nps", "id: shop")
    .replace("[评价, 反馈, feedback]", "[门店]")
    .replace("[/feedback]", "[/shop]")
)


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def edited(text: str, wording: str) -> str:
    return text.replace("您好！", f"您好{wording}！")


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """One app process (its lifespan runs: migrations, files published, poll started)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def parts(app: FastAPI) -> tuple[Runtime, Studio, FlowSync]:
    return app.state.runtime, app.state.flow_studio, app.state.flow_sync


def first_question(app: FastAPI, flow_id: str) -> str:
    live = parts(app)[0].registry.current(flow_id)
    assert live is not None, f"{flow_id} is not live"
    return live.source


@pytest.fixture
def own_file(app_settings: Settings) -> Path:
    assert app_settings.flows_dir is not None
    app_settings.flows_dir.mkdir(exist_ok=True)
    path = app_settings.flows_dir / "shop.yaml"
    path.write_text(OWN, encoding="utf-8")
    return path


async def test_files_become_revisions_and_an_unchanged_file_does_not_override_the_editor(
    app_settings: Settings, own_file: Path
) -> None:
    async with running(app_settings) as app:
        _, studio, sync = parts(app)
        detail = await studio.flow("shop")
        [first] = detail.history
        assert (first.revision, first.origin, first.path) == (1, "file", str(own_file))
        await studio.publish("shop", author="ann", source=edited(OWN, "（编辑器）"))
        assert "您好（编辑器）！" in first_question(app, "shop")
    async with running(app_settings) as app:  # a restart: the file did not change
        _, studio, sync = parts(app)
        assert "您好（编辑器）！" in first_question(app, "shop")
        assert [r.revision for r in (await studio.flow("shop")).history] == [2, 1]
        write(own_file, edited(OWN, "（文件）"))  # now it did
        assert await sync.refresh_files() == []
        assert "您好（文件）！" in first_question(app, "shop")
        newest = (await studio.flow("shop")).history[0]
        assert (newest.revision, newest.origin, newest.author) == (3, "file", None)
        assert await sync.refresh_files() == []  # nothing changed: nothing published
        assert len((await studio.flow("shop")).history) == 3


async def test_a_broken_file_publishes_nothing(app_settings: Settings, own_file: Path) -> None:
    async with running(app_settings) as app:
        _, studio, sync = parts(app)
        write(own_file, OWN.replace("goto: why_low", "goto: nowhere"))
        errors = await sync.refresh_files()
        assert errors and errors[0].file == str(own_file)
        assert len((await studio.flow("shop")).history) == 1
        assert first_question(app, "shop") == OWN


async def test_a_removed_file_retires_its_flow_unless_the_editor_published_since(
    app_settings: Settings, own_file: Path
) -> None:
    assert app_settings.flows_dir is not None
    other = app_settings.flows_dir / "other.yaml"
    other.write_text(OWN.replace("id: shop", "id: other").replace("[门店]", "[别的]"), "utf-8")
    other_text = other.read_text(encoding="utf-8")
    async with running(app_settings) as app:
        runtime, studio, sync = parts(app)
        await studio.publish("other", author="ann", source=edited(other_text, "（编辑器）"))
        for path in (own_file, other):
            path.unlink()
        await sync.refresh_files()
        assert runtime.registry.current("shop") is None
        assert (await studio.flow("shop")).summary.status == "retired"
        assert runtime.registry.current("other") is not None  # the editor's version stays
    async with running(app_settings) as app:  # and a restart does not bring it back
        assert parts(app)[0].registry.current("shop") is None


async def test_another_process_s_publication_is_live_after_the_next_poll(
    app_settings: Settings,
) -> None:
    async with running(app_settings) as one, running(app_settings) as two:
        await parts(one)[1].publish("nps", author="ann", source=edited(NPS, "（一）"))
        assert "您好（一）！" in first_question(one, "nps")  # at once where it was published
        sync = parts(two)[2]
        assert "您好（一）！" not in first_question(two, "nps")
        assert await sync.apply() is True  # what the poll does
        assert "您好（一）！" in first_question(two, "nps")
        assert await sync.apply() is False  # nothing new: the marker alone was read
        await parts(one)[1].retire("ces", author="ann")
        assert await sync.apply() is True
        assert parts(two)[0].registry.current("ces") is None


async def test_the_message_path_reads_no_publication(
    app_settings: Settings, client: httpx.AsyncClient, app: FastAPI
) -> None:
    statements: list[str] = []
    engine = parts(app)[0].engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    listener: Callable[..., None] = record
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        await open_page(client)
        start = await post(client, {"start": True, "lang": "zh"})
        await post(client, {"text": "9"})
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert bot_texts(start)[0].startswith("您好！")
    assert statements
    assert not [s for s in statements if "flow_publication" in s or "flow_status" in s]


async def test_a_publication_that_no_longer_loads_leaves_the_file_version_running(
    app_settings: Settings, own_file: Path
) -> None:
    async with running(app_settings) as app:
        runtime = parts(app)[0]
        # a text an older cxbot published that today's checks refuse (stored directly)
        async with runtime.service.writer.transaction() as session:
            await flow_store.publish(
                session=session,
                flow_id="shop",
                version="0ld0ld0ld0ld",
                source=OWN.replace("goto: why_low", "goto: gone"),
                origin="editor",
                now=runtime.service.clock(),
            )
    async with running(app_settings) as app:
        assert first_question(app, "shop") == OWN


async def test_with_the_database_down_at_start_the_files_run_until_it_answers(
    app_settings: Settings, own_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Publisher.publish_file
    down = True

    async def publish_file(self: Publisher, loaded: LoadedFlow, path: str) -> Published | None:
        if down:
            raise sqlite3.OperationalError("database is locked")
        return await real(self, loaded, path)

    monkeypatch.setattr(Publisher, "publish_file", publish_file)
    async with running(app_settings) as app:
        _, studio, sync = parts(app)
        assert first_question(app, "shop") == OWN  # the file runs
        await sync.poll_once()  # still down: one log line, nothing changes
        with pytest.raises(FlowMissing):
            await studio.flow("shop")
        down = False
        await sync.poll_once()  # back: the files are published, the publications applied
        assert [r.origin for r in (await studio.flow("shop")).history] == ["file"]
        assert first_question(app, "shop") == OWN
