"""Call records (登记单) as rows: a CallRecord JSON dict checked and turned into a
call_records row, and a row turned back into the JSON dict.

Records come in as the JSON form of ``acd.records.CallRecord`` (``to_json()``): this package
does not import ``acd``; the field names are the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table

from ticketing.models import CallRecordRow

calls = cast(Table, CallRecordRow.__table__)

# The keys of CallRecord.to_json(), in its order.
RECORD_FIELDS: tuple[str, ...] = (
    "linkedid",
    "uniqueid",
    "leg",
    "caller_num",
    "caller_name",
    "ivr_digits",
    "ivr_choice",
    "ivr_path",
    "priority",
    "queue",
    "outcome",
    "wait_s",
    "talk_s",
    "answered_by",
    "member_interface",
    "agent_channel",
    "ring_no_answer",
    "hangup_by",
    "recording",
    "spied_by",
    "started_at",
    "ivr_ended_at",
    "queue_entered_at",
    "answered_at",
    "ended_at",
    "transferred_to",
    "recovered",
    "vars",
    "incident_id",
    "callback_requested",
    "language",
    "callback_message",
    "recording_audio",
    "pbx",
    "key",
)
# Rows stored before calls carried their PBX (migration 0003) belong to the first PBX.
DEFAULT_PBX = "pbx1"
TIME_FIELDS: tuple[str, ...] = (
    "started_at",
    "ivr_ended_at",
    "queue_entered_at",
    "answered_at",
    "ended_at",
)
_INT_FIELDS = ("priority", "wait_s", "talk_s")
_LIST_FIELDS = ("ivr_path", "ring_no_answer")


def call_row(record: Mapping[str, Any], stored_at: datetime) -> dict[str, Any]:
    """The call_records row for a CallRecord JSON dict; ValueError names what is wrong."""
    try:
        linkedid = _text(record, "linkedid", required=True)
        uniqueid = _text(record, "uniqueid", required=True)
        leg = record.get("leg", 0)
        if isinstance(leg, bool) or not isinstance(leg, int) or leg < 0:
            raise ValueError(f"leg must be a non-negative integer, got {leg!r}")
        key = f"{uniqueid}#{leg}"
        if record.get("key", key) != key:
            raise ValueError(f"key {record.get('key')!r} is not uniqueid#leg ({key!r})")
        pbx = _text(record, "pbx") or DEFAULT_PBX
        row: dict[str, Any] = {
            "pbx": pbx,
            "key": key,
            "linkedid": linkedid,
            "uniqueid": uniqueid,
            "leg": leg,
        }
        for name in (
            "caller_num",
            "caller_name",
            "ivr_digits",
            "ivr_choice",
            "queue",
            "outcome",
            "answered_by",
            "member_interface",
            "agent_channel",
            "hangup_by",
            "recording",
            "spied_by",
            "transferred_to",
            "incident_id",
            "language",
            "callback_message",
        ):
            row[name] = _text(record, name)
        for name in _INT_FIELDS:
            row[name] = _integer(record, name)
        for name in _LIST_FIELDS:
            value = record.get(name) or []
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"{name} must be a list of strings, got {value!r}")
            row[name] = list(value)
        variables = record.get("vars") or {}
        if not isinstance(variables, Mapping):
            raise ValueError(f"vars must be an object, got {variables!r}")
        row["vars"] = {str(name): str(value) for name, value in variables.items()}
        row["recovered"] = bool(record.get("recovered", False))
        callback = record.get("callback_requested", False)
        if callback is None:
            callback = False
        if not isinstance(callback, bool):
            raise ValueError(f"callback_requested must be true or false, got {callback!r}")
        row["callback_requested"] = callback
        audio = record.get("recording_audio")
        if audio is not None and not isinstance(audio, bool):
            raise ValueError(f"recording_audio must be true, false or null, got {audio!r}")
        row["recording_audio"] = audio
        for name in TIME_FIELDS:
            row[name] = _instant(record, name)
        _check_lengths(row)
    except ValueError as error:
        raise ValueError(
            f"call record {record.get('key') or record.get('uniqueid')!r}: {error}"
        ) from None
    row["counted_at"] = row["queue_entered_at"] or row["started_at"] or row["ended_at"] or stored_at
    row["stored_at"] = stored_at
    return row


def record_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The CallRecord JSON dict of a call_records row (timestamps back to epoch floats)."""
    record = {name: row[name] for name in RECORD_FIELDS}
    for name in TIME_FIELDS:
        value = record[name]
        record[name] = None if value is None else value.timestamp()
    record["ivr_path"] = list(record["ivr_path"] or [])
    record["ring_no_answer"] = list(record["ring_no_answer"] or [])
    record["vars"] = dict(record["vars"] or {})
    record["recovered"] = bool(record["recovered"])
    record["callback_requested"] = bool(record["callback_requested"])
    return record


def _text(record: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is missing")
        return None if value is None else ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _integer(record: Mapping[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _instant(record: Mapping[str, Any], name: str) -> datetime | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be epoch seconds, got {value!r}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{name} is not a usable epoch time: {value!r}") from None


def _check_lengths(row: Mapping[str, Any]) -> None:
    # PostgreSQL would refuse an over-long value and SQLite would keep it: refuse it on both.
    for column in calls.columns:
        limit = getattr(column.type, "length", None)
        value = row.get(column.name)
        if limit and isinstance(value, str) and len(value) > limit:
            raise ValueError(f"{column.name} is longer than {limit} characters")
