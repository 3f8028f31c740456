"""`cxbot serve` as an operator runs it: a real process on a free port, killed with SIGKILL.

The crash-window tests start one, let it reach a chosen point (a platform call held by a
fake), kill it the way an OOM killer or a pulled plug would (no shutdown, no cleanup), and
start another on the same database. `until` polls for an outcome with a deadline: no sleep
decides what happened.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


async def until(
    check: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
    *,
    what: str,
    within: float = 15.0,
    every: float = 0.05,
) -> T:
    """Poll `check` until it returns something truthy (returned); fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f}s: {what}")
        await asyncio.sleep(every)


class ServeProcess:
    """One `cxbot serve` subprocess; its output goes to `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.ready_at = 0.0
        """time.monotonic() when it first answered /healthz."""
        self.killed_at = 0.0
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cxbot.cli", "serve", "--port", str(self.port)],
                env=full_env,
                cwd=log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        """What the process printed (the tail)."""
        return self.log.read_text(errors="replace")[-4000:]

    async def ready(self, within: float = 30.0) -> ServeProcess:
        """Wait until it answers /healthz."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:

            async def healthy() -> bool:
                if self.process.poll() is not None:
                    raise AssertionError(f"cxbot serve exited:\n{self.output()}")
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy, what="cxbot serve answers /healthz", within=within)
        self.ready_at = time.monotonic()
        return self

    def kill(self) -> None:
        """SIGKILL: no lifespan shutdown, no draining, nothing flushed."""
        self.killed_at = time.monotonic()
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End it if still running (SIGTERM, then SIGKILL)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
