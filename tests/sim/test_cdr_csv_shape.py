"""The simulator's cdr_csv (Master.csv) against the captures' cdr.csv: same columns, quoting,
clid form and time format, and a line for the hotline-side channel of every finished call."""

from __future__ import annotations

import re
from pathlib import Path

from acd.cdr_csv import COLUMNS, read_cdr_csv
from hotline.demo_model import demo_model
from hotline.sim.traffic import Simulation
from tests.captures import CAPTURES, capture_names

# One raw field: quoted (inner quotes doubled) or bare.
_FIELD = re.compile(r'"(?:[^"]|"")*"|[^,"]*')
_TIME = re.compile(r'^"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"$')
_CLID = re.compile(r'^"""[^"]*"" <\d+>"$')


def _raw_fields(line: str) -> list[str]:
    fields, pos = [], 0
    while True:
        match = _FIELD.match(line, pos)
        assert match is not None, line
        fields.append(match.group())
        pos = match.end()
        if pos == len(line):
            return fields
        assert line[pos] == ",", line
        pos += 1


def _shape(line: str) -> tuple[bool, ...]:
    """Which columns are quoted."""
    fields = _raw_fields(line)
    assert len(fields) == len(COLUMNS), line
    return tuple(f.startswith('"') for f in fields)


def _check_line(line: str) -> None:
    raw = dict(zip(COLUMNS, _raw_fields(line), strict=True))
    assert _CLID.match(raw["clid"]), raw["clid"]
    assert _TIME.match(raw["start"]) and _TIME.match(raw["end"]), line
    assert raw["answer"] == '""' or _TIME.match(raw["answer"]), line
    for name in ("duration", "billsec", "sequence"):
        assert raw[name].isdigit(), (name, line)


def test_simulated_master_csv_has_the_captures_shape(tmp_path: Path) -> None:
    captured = [
        line
        for name in capture_names()
        for line in (CAPTURES / name / "cdr.csv").read_text("utf-8").splitlines()
        if line
    ]
    shapes = {_shape(line) for line in captured}
    assert len(shapes) == 1
    for line in captured:
        _check_line(line)

    path = tmp_path / "cdr-csv" / "Master.csv"
    sim = Simulation(demo_model(calls_per_hour=900, agents=6), seed=3, cdr_path=path)
    sim.run_for(600)
    sim.drain()
    sim.close()
    data = path.read_bytes()
    assert b"\r" not in data and data.endswith(b"\n")
    lines = data.decode("utf-8").splitlines()
    assert {_shape(line) for line in lines} == shapes
    for line in lines:
        _check_line(line)

    entries = read_cdr_csv(path)
    assert len(entries) == len(lines)
    assert [e.sequence for e in entries] == list(range(len(entries)))
    finished = [t for t in sim.truths if t.outcome is not None]
    assert {t.outcome for t in finished} >= {"ivr_hangup", "answered", "abandoned"}
    # A transferred call has one truth per leg; its channel began with the first.
    began: dict[str, float] = {}
    for truth in finished:
        began.setdefault(truth.uniqueid, truth.started_at)
    for truth in finished:
        own = [e for e in entries if e.uniqueid == truth.uniqueid]
        assert own, truth.to_expected()
        for entry in own:
            assert not entry.channel.endswith(";1")
            assert entry.linkedid == truth.linkedid
            assert (entry.caller_num, entry.caller_name) == (truth.caller_num, truth.caller_name)
            assert int(began[truth.uniqueid]) == entry.start <= entry.end
        last = max(own, key=lambda e: e.end)
        if truth.outcome != "transferred":  # a transferred leg ends before its call
            assert last.end == int(truth.ended_at or 0)
        if truth.outcome == "ivr_hangup":
            assert (last.dcontext, last.lastapp) == ("hotline-ivr", "AGI")
