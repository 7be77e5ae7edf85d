"""cdr_csv lines (``cdr-csv/Master.csv``) as Asterisk writes them with ``usegmtime``,
``loguniqueid``, ``loguserfield`` and ``newcdrcolumns``: text fields in double quotes (inner
quotes doubled), duration, billsec and sequence bare, times in UTC, ``\\n`` line ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO


def cdr_time(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class CdrLine:
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: float
    answer: float | None
    end: float
    disposition: str
    uniqueid: str
    linkedid: str
    sequence: int
    accountcode: str = ""
    amaflags: str = "DOCUMENTATION"
    userfield: str = ""
    peeraccount: str = ""

    def to_line(self) -> str:
        billsec = int(self.end - self.answer) if self.answer is not None else 0
        head = (
            self.accountcode,
            self.src,
            self.dst,
            self.dcontext,
            self.clid,
            self.channel,
            self.dstchannel,
            self.lastapp,
            self.lastdata,
            cdr_time(self.start),
            cdr_time(self.answer),
            cdr_time(self.end),
        )
        tail = (
            self.disposition,
            self.amaflags,
            self.uniqueid,
            self.userfield,
            self.peeraccount,
            self.linkedid,
        )
        return ",".join(
            [
                *(_quoted(v) for v in head),
                str(int(self.end - self.start)),
                str(billsec),
                *(_quoted(v) for v in tail),
                str(self.sequence),
            ]
        )


class CdrCsvWriter:
    """Appends lines to Master.csv (line-buffered, so a reader tailing it sees them at once)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: TextIO | None = None

    def write(self, line: CdrLine) -> str:
        text = line.to_line()
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8", buffering=1, newline="")
        self._fh.write(text + "\n")
        return text

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
