"""The flows a server knows: loaded from files, reloaded on change, older versions kept.

A file that breaks is reported and the version that was running stays live. With
`files_go_live=False` (the server, where flows are published versions in the database) a
file's flow is only offered (`file_flows`); what is live is set from the publications
(`go_live`, `withdraw`). Reading
never blocks on a special file (see `loader.read_source`), and `refresh_async` does the
reading and checking in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flows.loader import FlowError, FlowLoadError, LoadedFlow, load_file, load_text
from flows.matching import matches_keyword

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).with_name("builtin")


def flow_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the .yaml/.yml entries directly inside the folders named.

    A folder's sub-folders are skipped even when named `x.yaml`; other entries that are
    not regular files (a FIFO, a device) are listed, so that loading refuses them with a
    clear error instead of hiding them.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)
            continue
        try:
            with os.scandir(path) as entries:
                names = [
                    entry.name
                    for entry in entries
                    if entry.name.endswith((".yaml", ".yml")) and not _is_dir(entry)
                ]
        except OSError as exc:
            log.warning("cannot list flow folder %s: %s", path, exc.strerror)
            continue
        found.extend(path / name for name in sorted(names))
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class _Scan:
    """What reading the flow files found: done off the event loop, applied on it."""

    present: set[Path]
    loaded: list[tuple[Path, Stamp, LoadedFlow | FlowLoadError]]


class FlowRegistry:
    """Current flows by id, every version seen by (id, version), and the latest errors."""

    def __init__(self, paths: Iterable[str | Path], *, files_go_live: bool = True) -> None:
        self.paths = [Path(p) for p in paths]
        self.files_go_live = files_go_live
        """Whether a loaded file's flow becomes current by itself (else: `go_live`)."""
        self._current: dict[str, LoadedFlow] = {}
        self._files: dict[str, LoadedFlow] = {}
        self._versions: dict[tuple[str, str], LoadedFlow] = {}
        self._stamps: dict[Path, Stamp] = {}
        self._refreshing = asyncio.Lock()
        self._owner: dict[str, Path] = {}
        self.errors: dict[str, list[FlowError]] = {}

    def refresh(self) -> list[FlowError]:
        """Reload changed files, retire deleted ones; return the errors of broken files."""
        return self._apply(self._scan())

    async def refresh_async(self) -> list[FlowError]:
        """`refresh` for the event loop: files are read and checked in a worker thread, and
        the registry changes on the loop's own thread. Concurrent calls run one at a time."""
        async with self._refreshing:
            scan = await asyncio.to_thread(self._scan)
            return self._apply(scan)

    def _scan(self) -> _Scan:
        """Read and check the files that changed since the last refresh; changes nothing."""
        present = set(flow_files(self.paths))
        loaded: list[tuple[Path, Stamp, LoadedFlow | FlowLoadError]] = []
        # earlier configured folders first, so a later folder's file with the same id wins
        for path in sorted(present, key=lambda p: (self._rank(p), str(p))):
            try:
                stat = path.stat()
            except OSError:
                continue
            # nanoseconds and the inode: a same-size edit within one mtime tick, or an editor's
            # save-by-rename, must still count as a change
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if self._stamps.get(path) == stamp:
                continue
            try:
                loaded.append((path, stamp, load_file(path)))
            except FlowLoadError as exc:
                loaded.append((path, stamp, exc))
        return _Scan(present, loaded)

    def _apply(self, scan: _Scan) -> list[FlowError]:
        for path in set(self._stamps) - scan.present:
            self._retire(path)
        for path, stamp, result in scan.loaded:
            self._stamps[path] = stamp
            self._load(path, result)
        return [error for errors in self.errors.values() for error in errors]

    def _retire(self, path: Path) -> None:
        """A flow file was deleted: its flow stops starting new interviews (running ones keep
        their pinned version)."""
        self._stamps.pop(path, None)
        self.errors.pop(str(path), None)
        for flow_id, owner in list(self._owner.items()):
            if owner == path:
                del self._owner[flow_id]
                self._files.pop(flow_id, None)
                if self.files_go_live:
                    self._current.pop(flow_id, None)
                log.info("flow %s retired: %s was removed", flow_id, path)

    def _load(self, path: Path, loaded: LoadedFlow | FlowLoadError) -> None:
        if isinstance(loaded, FlowLoadError):
            self.errors[str(path)] = loaded.errors
            for error in loaded.errors:
                log.warning("flow file rejected, running version kept: %s", error)
            return
        owner = self._owner.get(loaded.flow.id)
        if owner is not None and owner != path and self._rank(path) < self._rank(owner):
            self.errors.pop(str(path), None)
            log.info("flow %s in %s is overridden by %s", loaded.flow.id, path, owner)
            return
        if owner is not None and owner != path and self._rank(path) == self._rank(owner):
            error = FlowError(
                str(path), 1, 1, f"flow id '{loaded.flow.id}' is already used by {owner}"
            )
            self.errors[str(path)] = [error]
            log.warning("%s", error)
            return
        self.errors.pop(str(path), None)
        previous = self._files.get(loaded.flow.id)
        self._owner[loaded.flow.id] = path
        self._files[loaded.flow.id] = loaded
        self.add(loaded, current=self.files_go_live)
        if previous is None or previous.version != loaded.version:
            log.info("flow %s version %s loaded from %s", loaded.flow.id, loaded.version, path)

    def _rank(self, path: Path) -> int:
        """Which configured path a file came from: later ones override earlier ones."""
        for rank, configured in reversed(list(enumerate(self.paths))):
            if path == configured or configured in path.parents:
                return rank
        return -1

    def add(self, loaded: LoadedFlow, *, current: bool = True) -> None:
        """Register a flow version (as the current one unless `current` is false)."""
        self._versions[(loaded.flow.id, loaded.version)] = loaded
        if current:
            self._current[loaded.flow.id] = loaded

    def add_source(self, flow_id: str, version: str, source: str) -> LoadedFlow:
        """Register an older version from its stored text (for pinned conversations)."""
        loaded = load_text(source, file=f"<{flow_id}@{version}>")
        self.add(loaded, current=False)
        return loaded

    def go_live(self, loaded: LoadedFlow) -> None:
        """Make a version the one new interviews of its flow start with."""
        self.add(loaded, current=True)

    def withdraw(self, flow_id: str) -> None:
        """Stop a flow starting new interviews (its versions stay known)."""
        self._current.pop(flow_id, None)

    def file_flows(self) -> dict[str, LoadedFlow]:
        """The newest valid version of each flow in the flow files, by id (`file` is its
        path)."""
        return dict(self._files)

    def current(self, flow_id: str) -> LoadedFlow | None:
        """The live version of a flow."""
        return self._current.get(flow_id)

    def version(self, flow_id: str, version: str) -> LoadedFlow | None:
        """A specific version, if this process has seen it."""
        return self._versions.get((flow_id, version))

    def all(self) -> list[LoadedFlow]:
        """Every live flow, by id."""
        return [self._current[key] for key in sorted(self._current)]

    def triggered_by(self, text: str) -> LoadedFlow | None:
        """The flow whose start keyword or command this message is."""
        for loaded in self.all():
            start = loaded.flow.start
            if matches_keyword(text, start.keywords) or matches_keyword(text, start.commands):
                return loaded
        return None
