"""A record's JSON is every field plus its key, and shares no list or dict with the record
(to_json is hand-written for speed: this keeps it equal to the generic dataclass form)."""

from __future__ import annotations

from dataclasses import asdict, fields

from acd.records import CallRecord


def _record() -> CallRecord:
    return CallRecord(
        linkedid="1.1",
        uniqueid="1.2",
        leg=1,
        caller_num="13800000000",
        ivr_path=["main", "water"],
        ring_no_answer=["agent1"],
        vars={"HOTLINE_CHOICE": "2"},
        outcome="answered",
        pbx="east",
    )


def test_to_json_is_asdict_plus_the_key_in_field_order() -> None:
    record = _record()
    expected = {**asdict(record), "key": "1.2#1"}
    got = record.to_json()
    assert got == expected
    assert list(got) == [f.name for f in fields(CallRecord)] + ["key"]


def test_to_json_shares_no_container_with_the_record() -> None:
    record = _record()
    data = record.to_json()
    for name, value in data.items():
        if isinstance(value, list | dict):
            assert value is not getattr(record, name), name
    data["ivr_path"].append("x")
    data["vars"]["X"] = "1"
    data["ring_no_answer"].clear()
    assert record.ivr_path == ["main", "water"]
    assert record.vars == {"HOTLINE_CHOICE": "2"}
    assert record.ring_no_answer == ["agent1"]
