"""The fake Bot API that served `cxbot serve` processes talk to, and the figures the
crash-window tests measured, printed after the run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.telegram_chat import TOKEN
from tests.cxbot.crash_rig import FIGURES
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API the served processes talk to (crash windows, two servers)."""
    fake = FakeTelegram(TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Time to delivery after a killed `cxbot serve` was replaced (test_crash_windows.py)."""
    if not FIGURES:
        return
    terminalreporter.section("crash windows: delivery after a SIGKILL")
    for figure in FIGURES:
        terminalreporter.write_line(
            f"{figure.after_kill:5.2f}s after the kill, {figure.after_ready:5.2f}s after the "
            f"new process was ready: {figure.test}"
        )
