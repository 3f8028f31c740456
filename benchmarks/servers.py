"""The processes benchmarks/http_load.py measures: `cxbot serve`, the bare endpoint, and the
platforms' fakes, each started as an operator would (a subprocess, settings in the
environment), stopped by its own process group.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import cpu_times
import load_customers as lc

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
PYTHONPATH = os.pathsep.join([str(ROOT), str(HERE)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process (and its workers) on a free port; its output goes to `log`."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
                [*argv, "--port", str(self.port)],
                env={**os.environ, "PYTHONPATH": PYTHONPATH, **env},
                cwd=log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, within: float = 60.0) -> Server:
        """Wait until /healthz answers 200."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited:\n{self.log.read_text()[-3000:]}")
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(
            f"server not ready within {within:.0f}s:\n{self.log.read_text()[-3000:]}"
        )

    def cpu_seconds(self) -> float:
        """CPU seconds of the server and its workers so far."""
        return cpu_times.tree_seconds(self.process.pid)

    async def settle(self, quiet: float = 0.05, within: float = 60.0, calm_for: int = 4) -> None:
        """Wait until the server is idle (under `quiet` CPU s per 0.5 s, `calm_for` times in a
        row): a run's trailing work (Telegram's replies leave at ~30/s after the webhooks were
        answered) is counted in its CPU and does not leak into the next run. One quiet slice
        was not enough: a sending tail running near the threshold stopped the count early on
        a dip, so its CPU went uncounted in one run and counted in another."""
        deadline = time.monotonic() + within
        before = self.cpu_seconds()
        calm = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            now = self.cpu_seconds()
            calm = calm + 1 if now - before < quiet else 0
            if calm >= calm_for:
                return
            before = now

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def cxbot(database_url: str, workers: int, platforms: dict[str, str], log: Path) -> Server:
    """`cxbot serve` with every channel mounted, talking to the platforms' fakes."""
    env = {
        "CXBOT_DATABASE_URL": database_url,
        "CXBOT_FLOW_RELOAD_SECONDS": "0",
        "CXBOT_SECRET_KEY": lc.SECRET_KEY,
        "TELEGRAM_BOT_TOKEN": lc.TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": lc.TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": platforms["telegram"],
        "WECHAT_TOKEN": lc.WECHAT_TOKEN,
        "WECHAT_APP_ID": lc.WECHAT_APP_ID,
        "WECHAT_APP_SECRET": lc.WECHAT_SECRET,
        "WECHAT_ENCODING_AES_KEY": lc.WECHAT_AES_KEY,
        "WECHAT_API_BASE_URL": platforms["wechat"],
    }
    argv = [sys.executable, "-m", "cxbot.cli", "serve", "--workers", str(workers)]
    return Server(argv, env, log)


def bare(workers: int, log: Path) -> Server:
    """The bare FastAPI endpoint under the same uvicorn settings."""
    argv = [sys.executable, str(HERE / "bare_endpoint.py"), "--workers", str(workers)]
    return Server(argv, {}, log)


class Platforms:
    """The fake Telegram Bot API and WeChat API, in their own process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [
                sys.executable,
                str(HERE / "platform_fakes.py"),
                lc.TELEGRAM_TOKEN,
                lc.WECHAT_APP_ID,
                lc.WECHAT_SECRET,
            ],
            env={**os.environ, "PYTHONPATH": PYTHONPATH},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.urls: dict[str, str] = json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        """Close its standard input: it stops serving and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=15)
