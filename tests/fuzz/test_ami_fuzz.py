"""AMI framing and the call tracker against damaged real frames (issue 7, fuzzing suite).

Junk made from real capture frames (cut, bit-flipped, padded, odd values, lone LFs, binary)
arrives before a real call, in reads of random sizes. Nothing may escape the framer or the
tracker (not even as a logged traceback), and the real call after the junk must be recorded
exactly as its expected.json says, each leg once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.ami.framing import TERMINATOR, AmiFramer
from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.records import CallRecord
from tests.captures import capture_names, load_expected, raw_bytes
from tests.fuzz.conftest import budget
from tests.fuzz.mutations import mutated_bytes, odd_value

NAMES = capture_names()


def split(name: str) -> tuple[bytes, list[bytes]]:
    """A capture's banner line and its frames (without their blank line)."""
    raw = raw_bytes(name)
    banner, _, rest = raw.partition(b"\r\n")
    return banner + b"\r\n", [frame for frame in rest.split(TERMINATOR) if frame]


FRAMES = {name: split(name)[1] for name in NAMES}
BANNER = split(NAMES[0])[0]


@st.composite
def field_changed(draw: st.DrawFn, frame: bytes) -> bytes:
    lines = frame.split(b"\r\n")
    index = draw(st.integers(0, len(lines) - 1))
    key = lines[index].partition(b":")[0]
    value = draw(odd_value()).encode(draw(st.sampled_from(["utf-8", "gb18030"])), "replace")
    lines[index] = key + b": " + value
    return b"\r\n".join(lines)


@st.composite
def junk_frame(draw: st.DrawFn, exclude: str) -> bytes:
    source = draw(st.sampled_from([n for n in NAMES if n != exclude]))
    frame = draw(st.sampled_from(FRAMES[source]))
    damaged = draw(st.one_of(mutated_bytes(frame), field_changed(frame)))
    return damaged + TERMINATOR


@st.composite
def stream(draw: st.DrawFn) -> tuple[str, bytes]:
    """(the real call's capture, banner + junk + that call's frames)."""
    name = draw(st.sampled_from(NAMES))
    junk = draw(st.lists(junk_frame(name), min_size=1, max_size=6))
    call = b"".join(frame + TERMINATOR for frame in FRAMES[name])
    return name, BANNER + b"".join(junk) + call


def reads(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    at, turn = 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        yield data[at : at + size]
        at, turn = at + size, turn + 1


def by_start(records: list[CallRecord]) -> list[CallRecord]:
    return sorted(records, key=lambda r: (r.started_at or 0.0, r.leg))


class Tracebacks(logging.Handler):
    """Counts log records that carry an exception: a swallowed crash is still a crash."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(f"{record.name}: {record.getMessage()}")


@contextlib.contextmanager
def tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@settings(max_examples=budget(150))
@given(case=stream(), sizes=st.lists(st.integers(1, 4096), min_size=1, max_size=8))
def test_junk_then_a_real_call(case: tuple[str, bytes], sizes: list[int]) -> None:
    name, data = case
    records: list[CallRecord] = []
    with tracebacks() as crashes:
        framer = AmiFramer()
        messages: list[AmiMessage] = []
        for chunk in reads(data, sizes):
            messages.extend(framer.feed(chunk))
        tracker = CallTracker(on_record=records.append)
        tracker.feed(messages)
    expected = load_expected(name)
    linkedids = {row["linkedid"] for row in expected}
    mine = [r for r in records if r.linkedid in linkedids]
    assert [r.expected_view() for r in by_start(mine)] == expected
    assert len({r.key for r in mine}) == len(mine)
    assert crashes.seen == []
