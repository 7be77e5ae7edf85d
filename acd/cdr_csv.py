"""Asterisk cdr_csv (``cdr-csv/Master.csv``): parsing its lines and tailing the file.

cdr_csv writes one line per channel that ran dialplan, when the channel (or a bridged
segment of it) ends, whether or not AMI was listening. It is the only trace of a caller who
hung up in the IVR during an AMI outage: such a call never reached a queue, so queue_log is
silent about it.

Columns with ``usegmtime``, ``loguniqueid``, ``loguserfield`` and ``newcdrcolumns`` (the
captures' cdr.conf): accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
lastdata, start, answer, end (UTC ``YYYY-MM-DD HH:MM:SS``), duration, billsec, disposition,
amaflags, uniqueid, userfield, peeraccount, linkedid, sequence.
"""

from __future__ import annotations

import csv
import logging
import re
from calendar import timegm
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from time import strptime

from acd.line_tail import LineTail, parse_each, read_lines

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# `"name" <number>`, `name <number>` or a bare number; the name may itself hold quotes.
_CLID = re.compile(r'^\s*(?:"(?P<quoted>.*)"|(?P<bare>[^<]*?))\s*<(?P<num>[^>]*)>\s*$')


class CdrCsvError(ValueError):
    """A line that is not a cdr_csv line."""


@dataclass(frozen=True, slots=True)
class CdrEntry:
    accountcode: str
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
    duration: int
    billsec: int
    disposition: str
    amaflags: str
    uniqueid: str
    userfield: str
    peeraccount: str
    linkedid: str
    sequence: int

    @property
    def caller_num(self) -> str | None:
        return parse_clid(self.clid)[0] or self.src or None

    @property
    def caller_name(self) -> str | None:
        return parse_clid(self.clid)[1]


def parse_clid(clid: str) -> tuple[str | None, str | None]:
    """``"张三" <13800138001>`` → (number, name); missing parts are None."""
    match = _CLID.match(clid)
    if match is None:
        text = clid.strip()
        return (text or None), None
    name = match.group("quoted") if match.group("quoted") is not None else match.group("bare")
    return (match.group("num").strip() or None), (name.strip() or None)


def _time(value: str, column: str) -> float:
    try:
        return float(timegm(strptime(value, TIME_FORMAT)))
    except ValueError:
        raise CdrCsvError(f"bad {column} time {value[:30]!r}") from None


def _int(value: str, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CdrCsvError(f"bad {column} {value[:20]!r}") from None


def parse_row(row: list[str]) -> CdrEntry:
    if len(row) != len(COLUMNS):
        raise CdrCsvError(f"{len(row)} fields, expected {len(COLUMNS)}")
    f = dict(zip(COLUMNS, row, strict=True))
    if not f["uniqueid"] or not f["channel"]:
        raise CdrCsvError("no uniqueid or channel")
    return CdrEntry(
        accountcode=f["accountcode"],
        src=f["src"],
        dst=f["dst"],
        dcontext=f["dcontext"],
        clid=f["clid"],
        channel=f["channel"],
        dstchannel=f["dstchannel"],
        lastapp=f["lastapp"],
        lastdata=f["lastdata"],
        start=_time(f["start"], "start"),
        # A channel never answered has an empty answer time.
        answer=_time(f["answer"], "answer") if f["answer"] else None,
        end=_time(f["end"], "end"),
        duration=_int(f["duration"], "duration"),
        billsec=_int(f["billsec"], "billsec"),
        disposition=f["disposition"],
        amaflags=f["amaflags"],
        uniqueid=f["uniqueid"],
        userfield=f["userfield"],
        peeraccount=f["peeraccount"],
        linkedid=f["linkedid"] or f["uniqueid"],
        sequence=_int(f["sequence"], "sequence"),
    )


def parse_line(line: str) -> CdrEntry:
    """Parse one line; raises CdrCsvError for anything that is not a cdr_csv line."""
    try:
        rows = list(csv.reader([line.rstrip("\r\n")], strict=True))
    except csv.Error as exc:
        raise CdrCsvError(f"not CSV: {exc}") from None
    if len(rows) != 1:
        raise CdrCsvError("not one CSV row")
    return parse_row(rows[0])


def parse_lines(lines: Iterable[str], *, source: str = "cdr_csv") -> list[CdrEntry]:
    """Parse lines one by one, skipping (and logging) blank and malformed ones."""
    return parse_each(lines, parse_line, CdrCsvError, source)


def read_cdr_csv(path: str | Path) -> list[CdrEntry]:
    return read_lines(path, lambda lines, source: parse_lines(lines, source=source))


class CdrCsvTail(LineTail[CdrEntry]):
    """The cdr_csv lines appended since a saved ``(inode, offset)`` position (see LineTail)."""

    def __init__(self, path: str | Path, position: tuple[int, int] | None = None) -> None:
        super().__init__(path, _parse_batch, position)


def _parse_batch(lines: list[str], source: str) -> list[CdrEntry]:
    return parse_lines(lines, source=source)
