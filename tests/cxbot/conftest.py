"""Figures the crash-window tests measured, printed after the run."""

from __future__ import annotations

import pytest

from tests.cxbot.crash_rig import FIGURES


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
