"""The flows folder may hold anything: special files are refused or skipped, never read
until they block, and the registry can refresh off the event loop."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.loader import FlowLoadError, load_file
from flows.registry import FlowRegistry, flow_files
from flows.safe_yaml import MAX_BYTES
from tests.flows.test_loader import BASE


def finishes(action: Callable[[], object]) -> object:
    """Run `action` in a thread and return its result; fail (not hang) if it blocks."""
    outcome: list[object] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "blocked"
    if failure:
        raise failure[0]
    return outcome[0]


def errors_by_file(registry: FlowRegistry) -> dict[str, str]:
    errors = finishes(registry.refresh)
    assert isinstance(errors, list)
    return {Path(error.file).name: error.message for error in errors}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "demo.yaml").write_text(BASE, encoding="utf-8")
    return tmp_path


def test_a_fifo_is_refused_without_blocking(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")  # opening it for reading would wait for a writer
    registry = FlowRegistry([folder])
    assert errors_by_file(registry) == {
        "pipe.yaml": "cannot read file: it is a named pipe (FIFO), not a regular file"
    }
    assert registry.current("demo") is not None


def test_a_link_to_dev_zero_is_refused(folder: Path) -> None:
    (folder / "zero.yaml").symlink_to("/dev/zero")  # reading it would never end
    assert errors_by_file(FlowRegistry([folder])) == {
        "zero.yaml": "cannot read file: it is a character device, not a regular file"
    }


def test_a_link_to_a_flow_file_is_read(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "real.yaml"
    elsewhere.write_text(BASE.replace("id: demo", "id: linked"), encoding="utf-8")
    (folder / "linked.yaml").symlink_to(elsewhere)
    registry = FlowRegistry([folder])
    assert errors_by_file(registry) == {}
    assert registry.current("linked") is not None


def test_a_folder_named_like_a_flow_file_is_skipped(folder: Path) -> None:
    (folder / "x.yaml").mkdir()
    assert flow_files([folder]) == [folder / "demo.yaml"]
    assert errors_by_file(FlowRegistry([folder])) == {}


def test_a_huge_file_is_refused_before_it_is_read(folder: Path) -> None:
    with (folder / "huge.yaml").open("wb") as huge:
        huge.truncate(8 * 1024**3)  # 8 GiB, sparse: reading it whole would exhaust memory
    assert errors_by_file(FlowRegistry([folder])) == {
        "huge.yaml": f"file is larger than {MAX_BYTES // 1024} KiB"
    }


def test_a_special_file_named_directly_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(FlowLoadError) as refused:
        finishes(lambda: load_file(tmp_path / "pipe.yaml"))
    assert str(refused.value) == (
        f"{tmp_path / 'pipe.yaml'}:1:1: cannot read file: it is a named pipe (FIFO), "
        "not a regular file"
    )
    with pytest.raises(FlowLoadError, match="it is a directory"):
        load_file(tmp_path)


async def test_refresh_async_reads_off_the_event_loop(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = FlowRegistry([folder])
    released = threading.Event()
    scan = registry._scan

    def slow_scan() -> object:
        # waits for the event loop: if the scan ran on the loop, nothing could release it
        assert released.wait(timeout=30), "the scan blocked the event loop"
        return scan()

    monkeypatch.setattr(registry, "_scan", slow_scan)
    refreshing = asyncio.create_task(registry.refresh_async())
    await asyncio.sleep(0)  # let the refresh start
    assert not refreshing.done()
    released.set()
    assert await refreshing == []
    assert registry.current("demo") is not None


async def test_concurrent_async_refreshes_load_a_file_once(folder: Path) -> None:
    registry = FlowRegistry([folder])
    first, second = await asyncio.gather(registry.refresh_async(), registry.refresh_async())
    assert first == second == []
    loaded = registry.current("demo")
    await registry.refresh_async()
    assert registry.current("demo") is loaded
