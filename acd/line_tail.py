"""Following a log file Asterisk appends to (queue_log, cdr_csv's Master.csv) across
truncation, rotation and service restarts."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Entry = TypeVar("Entry")
# Parses a batch of lines; `source` names the file for its log messages.
ParseLines = Callable[[list[str], str], list[Entry]]


def parse_each(
    lines: Iterable[str],
    parse_line: Callable[[str], Entry],
    error: type[Exception],
    source: str,
) -> list[Entry]:
    """Parse lines one by one (a broken line cannot swallow the next), skipping blank ones
    and logging each malformed one (``error`` raised by ``parse_line``)."""
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(parse_line(line))
        except error as exc:
            log.warning("%s line %d skipped: %s", source, number, exc)
    return entries


def read_lines(path: str | Path, parse: Callable[[Iterable[str], str], list[Entry]]) -> list[Entry]:
    """A whole log file, parsed (bad UTF-8 replaced, not fatal)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return parse(fh, str(path))


class LineTail(Generic[Entry]):
    """Reads the lines appended to a file since a saved position.

    The position is ``(inode, offset)``; save it after each read to resume after a restart.
    A truncated file (smaller than the offset) is read again from the start; a rotated file
    (new inode at the path) is finished first through its sibling with the old inode
    (``name.1``, ``name.0``…), then the new file is read from its start. Only complete lines
    are consumed.
    """

    def __init__(
        self,
        path: str | Path,
        parse: ParseLines[Entry],
        position: tuple[int, int] | None = None,
    ) -> None:
        self.path = Path(path)
        self._parse = parse
        self.inode, self.offset = position if position is not None else (0, 0)

    @property
    def position(self) -> tuple[int, int]:
        return self.inode, self.offset

    def read_new(self) -> list[Entry]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return []
        entries: list[Entry] = []
        if self.inode and stat.st_ino != self.inode:
            entries += self._finish_rotated()
            self.inode, self.offset = stat.st_ino, 0
        self.inode = stat.st_ino
        if stat.st_size < self.offset:
            log.warning("%s shrank below offset %d: reading it again", self.path, self.offset)
            self.offset = 0
        entries += self._read_from(self.path, self.offset)
        return entries

    def _finish_rotated(self) -> list[Entry]:
        for candidate in sorted(self.path.parent.glob(self.path.name + ".*")):
            try:
                if os.stat(candidate).st_ino == self.inode:
                    return self._read_from(candidate, self.offset)
            except OSError:
                continue
        log.warning(
            "%s was rotated; the old file is gone, lines after offset %d may be lost",
            self.path,
            self.offset,
        )
        return []

    def _read_from(self, path: Path, offset: int) -> list[Entry]:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
        end = data.rfind(b"\n")
        if end < 0:
            return []
        chunk = data[: end + 1]
        if path == self.path:
            self.offset = offset + len(chunk)
        text = chunk.decode("utf-8", errors="replace")
        return self._parse(text.splitlines(), str(path))


def line_start_near_end(path: str | Path, window: int) -> tuple[int, int]:
    """``(inode, offset)`` of the first whole line in the last ``window`` bytes of a file:
    where to start reading recent history of a log that is never rotated (cdr_csv)."""
    with open(path, "rb") as fh:
        stat = os.fstat(fh.fileno())
        if stat.st_size <= window:
            return stat.st_ino, 0
        fh.seek(stat.st_size - window)
        fh.readline()  # the rest of a line that began before the window
        return stat.st_ino, fh.tell()
