"""CPU seconds from /proc: of a process and all its descendants, and of the whole machine.

A process's figure counts its own time and that of its children it has already waited for
(utime + stime + cutime + cstime), so a uvicorn supervisor with its workers, or PostgreSQL's
postmaster with its backends (live or ended), is summed once each.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # ended meanwhile
        return None
    return text.rsplit(")", 1)[1].split()  # the fields after "(comm)", from field 3 (state)


def _parents() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    return parents


def tree(root: int) -> list[int]:
    """`root` and every process below it."""
    parents = _parents()
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def tree_seconds(root: int) -> float:
    """CPU seconds used by `root` and its descendants (including ended, reaped ones)."""
    total = 0
    for pid in tree(root):
        fields = _stat(pid)
        if fields is not None:  # utime, stime, cutime, cstime are fields 14-17
            total += sum(int(value) for value in fields[11:15])
    return total / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS
