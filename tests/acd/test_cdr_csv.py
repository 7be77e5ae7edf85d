"""cdr_csv parsing on every capture's cdr.csv, bad lines, and tailing Master.csv."""

from __future__ import annotations

import csv
import logging
from calendar import timegm
from pathlib import Path
from time import strptime

import pytest

from acd.cdr_csv import (
    COLUMNS,
    CdrCsvError,
    CdrCsvTail,
    parse_clid,
    parse_line,
    parse_lines,
    read_cdr_csv,
)
from tests.captures import CAPTURES, capture_names, load_expected


def _epoch(text: str) -> float:
    return float(timegm(strptime(text, "%Y-%m-%d %H:%M:%S")))


@pytest.mark.parametrize("name", capture_names())
def test_every_capture_line_parses_to_its_columns(name: str) -> None:
    path = CAPTURES / name / "cdr.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    entries = read_cdr_csv(path)
    assert len(entries) == len(rows) > 0
    for entry, row in zip(entries, rows, strict=True):
        raw = dict(zip(COLUMNS, row, strict=True))
        assert (entry.channel, entry.uniqueid, entry.linkedid, entry.dcontext) == (
            raw["channel"],
            raw["uniqueid"],
            raw["linkedid"],
            raw["dcontext"],
        )
        assert entry.start == _epoch(raw["start"]) and entry.end == _epoch(raw["end"])
        assert entry.duration == int(raw["duration"]) and entry.sequence == int(raw["sequence"])
        assert entry.end - entry.start in (entry.duration, entry.duration + 1)


@pytest.mark.parametrize("name", capture_names())
def test_every_call_has_its_hotline_side_cdr(name: str) -> None:
    entries = read_cdr_csv(CAPTURES / name / "cdr.csv")
    by_uid = {e.uniqueid: e for e in entries}
    for truth in load_expected(name):
        entry = by_uid[truth["uniqueid"]]
        assert not entry.channel.endswith(";1")
        assert entry.linkedid == truth["linkedid"]
        assert (entry.caller_num, entry.caller_name) == (truth["caller_num"], truth["caller_name"])


@pytest.mark.parametrize(
    ("clid", "parsed"),
    [
        ('"张三" <13800138001>', ("13800138001", "张三")),
        ('"" <13800138001>', ("13800138001", None)),
        ('"O"Brien" <100>', ("100", 'O"Brien')),
        ("Bob <200>", ("200", "Bob")),
        ("<300>", ("300", None)),
        ("13800138001", ("13800138001", None)),
        ("", (None, None)),
    ],
)
def test_clid_forms(clid: str, parsed: tuple[str | None, str | None]) -> None:
    assert parse_clid(clid) == parsed


def _good_lines() -> list[str]:
    return (CAPTURES / "ivr_hangup" / "cdr.csv").read_text("utf-8").splitlines()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "\x00\x01binary",
        '"a","b","c"',
        # A quote left open: the next line must not be swallowed into it.
        '"","1","12345","hotline-ivr","""x"" <1>',
        _good_lines()[1].replace('"2026-11-23 14:50:11"', '"yesterday"'),
        _good_lines()[1].replace(",2,2,", ",two,2,"),
        _good_lines()[1].replace('"1795445409.1"', '""'),
    ],
)
def test_bad_lines_raise(bad: str) -> None:
    with pytest.raises(CdrCsvError):
        parse_line(bad)


def test_garbage_lines_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    good = _good_lines()
    lines = ["\x00garbage", good[0], "", '"unterminated,"x', good[1], "a,b", good[2], good[3]]
    with caplog.at_level(logging.WARNING, logger="acd.cdr_csv"):
        entries = parse_lines(lines)
    assert [e.uniqueid for e in entries] == [parse_line(g).uniqueid for g in good]
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 3


def test_tail_reads_only_new_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "Master.csv"
    lines = (CAPTURES / "transfer" / "cdr.csv").read_text("utf-8").splitlines(keepends=True)
    seq = [parse_line(line).sequence for line in lines]
    path.write_text("".join(lines[:2]), "utf-8")
    tail = CdrCsvTail(path)
    assert [e.sequence for e in tail.read_new()] == seq[:2]
    assert tail.read_new() == []
    # A line being written (here cut inside the UTF-8 name) waits for its newline.
    cut = lines[3].encode("utf-8")
    inside = next(i for i, byte in enumerate(cut) if byte >= 0x80) + 1
    with path.open("ab") as fh:
        fh.write(lines[2].encode("utf-8") + cut[:inside])
    assert [e.sequence for e in tail.read_new()] == [seq[2]]
    with path.open("ab") as fh:
        fh.write(cut[inside:])
    (entry,) = tail.read_new()
    assert entry.sequence == seq[3] and entry.caller_name == parse_line(lines[3]).caller_name
    # Resume from a saved position (service restart); a truncated file is read again.
    again = CdrCsvTail(path, tail.position)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[4])
    assert [e.sequence for e in again.read_new()] == [seq[4]]
    path.write_text(lines[5], "utf-8")
    assert [e.sequence for e in again.read_new()] == [seq[5]]
