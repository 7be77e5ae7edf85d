"""CallTracker.apply_ivr_outcome on the real captures: before, during and after the call."""

from __future__ import annotations

from typing import Any

import pytest

from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.records import CallRecord
from tests.captures import load_expected, load_messages


def outcome(linkedid: str, uniqueid: str, **extra: Any) -> dict[str, Any]:
    return {
        "linkedid": linkedid,
        "uniqueid": uniqueid,
        "path": ["welcome", "main"],
        "choice": "1",
        "digits": "11",
        "incident": "water-1",
        "callback_requested": True,
        "language": "yue",
        **extra,
    }


def replay(messages: list[AmiMessage], at: int | None, payload: dict[str, Any]) -> list[CallRecord]:
    """Feed the capture, applying the IVR outcome before message ``at`` (None: at the end)."""
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    for index, msg in enumerate(messages):
        if index == at:
            tracker.apply_ivr_outcome(payload)
        tracker.handle(msg)
    if at is None:
        tracker.apply_ivr_outcome(payload)
    return records


def first_index(messages: list[AmiMessage], name: str) -> int:
    return next(i for i, m in enumerate(messages) if m.name == name)


@pytest.mark.parametrize("when", ["before_the_call", "during_the_ivr", "in_the_queue"])
def test_outcome_lands_on_the_record(when: str) -> None:
    messages = load_messages("answered_fast")
    (expected,) = load_expected("answered_fast")
    at = {
        "before_the_call": 0,
        "during_the_ivr": first_index(messages, "AGIExecStart"),
        "in_the_queue": first_index(messages, "QueueCallerJoin") + 1,
    }[when]
    (record,) = replay(messages, at, outcome(expected["linkedid"], expected["uniqueid"]))
    got = record.to_json()
    assert (got["ivr_path"], got["incident_id"], got["callback_requested"], got["language"]) == (
        ["welcome", "main"],
        "water-1",
        True,
        "yue",
    )
    # What the AMI stream saw stays the truth where it has one.
    assert got["ivr_digits"] == expected["ivr_digits"] == "1"
    assert {k: got[k] for k in expected} == expected


def test_found_by_linkedid_when_the_uniqueid_is_another_channel() -> None:
    messages = load_messages("answered_fast")
    (expected,) = load_expected("answered_fast")
    at = first_index(messages, "AGIExecStart")
    (record,) = replay(messages, at, outcome(expected["linkedid"], "not-a-channel"))
    assert record.incident_id == "water-1"


def test_outcome_after_the_record_is_not_merged_and_not_kept() -> None:
    messages = load_messages("ivr_hangup")
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.feed(messages)
    record = records[0]
    tracker.apply_ivr_outcome(outcome(record.linkedid, record.uniqueid))
    assert record.incident_id is None
    assert not tracker._pending_ivr


def test_outcomes_of_calls_never_seen_are_bounded() -> None:
    tracker = CallTracker()
    for n in range(5_000):
        tracker.apply_ivr_outcome(outcome(f"L{n}", f"U{n}"))
    assert len(tracker._pending_ivr) <= 2_000
    # The newest are the ones kept.
    assert "U4999" in tracker._pending_ivr and "U0" not in tracker._pending_ivr


def test_garbage_payload_fields_do_not_break_the_call() -> None:
    messages = load_messages("answered_fast")
    (expected,) = load_expected("answered_fast")
    bad = outcome(
        expected["linkedid"],
        expected["uniqueid"],
        path="not-a-list",
        incident=None,
        language=None,
        callback_requested=0,
    )
    (record,) = replay(messages, first_index(messages, "AGIExecStart"), bad)
    assert record.incident_id is None and record.callback_requested is False
    assert record.expected_view() == expected
