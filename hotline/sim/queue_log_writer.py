"""queue_log lines as Asterisk's app_queue (and our dialplan's QueueLog()) write them.

Format: ``epoch|callid|queue|agent|event|data…`` with whole-second epochs and the member
name as agent (``log_membername_as_agent = yes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO


def format_line(
    epoch: float, callid: str, queue: str, agent: str, event: str, *data: object
) -> str:
    parts = [str(int(epoch)), callid, queue, agent, event, *(str(d) for d in data)]
    return "|".join(parts)


class QueueLogWriter:
    """Appends lines to a file (line-buffered, so a reader tailing it sees them at once)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: TextIO | None = None
        self.lines: list[str] = []
        self.keep_lines = False

    def write(
        self, epoch: float, callid: str, queue: str, agent: str, event: str, *data: object
    ) -> str:
        line = format_line(epoch, callid, queue, agent, event, *data)
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8", buffering=1)
        self._fh.write(line + "\n")
        if self.keep_lines:
            self.lines.append(line)
        return line

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class QueueLogMemory:
    """The same interface, kept in memory (tests, benchmarks that do not want a file)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(
        self, epoch: float, callid: str, queue: str, agent: str, event: str, *data: object
    ) -> str:
        line = format_line(epoch, callid, queue, agent, event, *data)
        self.lines.append(line)
        return line

    def close(self) -> None:
        return None
