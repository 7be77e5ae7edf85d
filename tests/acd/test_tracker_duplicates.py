"""Duplicated AMI events (a proxy, a resync replaying what was seen) change nothing.

Every frame of a capture sent twice, one after the other, or the whole stream interleaved
with a copy of itself a few events behind, must give exactly the capture's expected.json, with
each leg emitted once.
"""

from __future__ import annotations

import pytest

from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.records import CallRecord
from tests.captures import capture_names, load_expected, load_messages

CAPTURES = capture_names()


def records_of(messages: list[AmiMessage]) -> list[dict[str, object]]:
    records: list[CallRecord] = []
    CallTracker(on_record=records.append).feed(messages)
    ordered = sorted(records, key=lambda r: (r.started_at or 0.0, r.leg))
    return [r.expected_view() for r in ordered]


@pytest.mark.parametrize("name", CAPTURES)
def test_every_frame_twice_gives_the_expected_records(name: str) -> None:
    doubled = [msg for msg in load_messages(name) for _ in range(2)]
    assert records_of(doubled) == load_expected(name)


@pytest.mark.parametrize("name", CAPTURES)
def test_a_copy_a_few_events_behind_gives_the_expected_records(name: str) -> None:
    messages = load_messages(name)
    lag = 5
    stream: list[AmiMessage] = []
    for index, msg in enumerate(messages):
        stream.append(msg)
        if index >= lag:
            stream.append(messages[index - lag])
    stream.extend(messages[-lag:])
    assert records_of(stream) == load_expected(name)
