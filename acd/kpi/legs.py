"""Turn call-record dicts (``CallRecord.to_json()`` or a capture's expected.json) into legs.

A record the KPIs cannot use is not dropped silently: it comes back as a ``Rejected`` with the
reason, and the report lists it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

QUEUE_OUTCOMES = frozenset({"answered", "abandoned", "timeout", "joinempty", "transferred"})
# "transferred" is a leg an agent answered and then moved to another queue.
ANSWERED_OUTCOMES = frozenset({"answered", "transferred"})
OUTCOMES = QUEUE_OUTCOMES | {"ivr_hangup"}
# The post-call survey answers a record's ``survey`` key may carry; "none" = heard the survey,
# pressed nothing (counted apart, not as rated).
SURVEY_ANSWERS = ("satisfied", "basically_satisfied", "dissatisfied", "none")


@dataclass(frozen=True, slots=True)
class Leg:
    """The part of one call record the KPIs need."""

    call_id: str
    leg: int | None
    outcome: str
    queue: str | None
    # The moment that places the leg in an hour, a day and an exclusion window.
    at: float | None
    wait_s: float | None
    talk_s: float | None
    answered_by: str | None
    ring_no_answer: tuple[str, ...]
    # The call's post-call survey answer (every leg of a call carries the same), if any.
    survey: str | None = None
    # Set when the caller was merged into a major-fault incident (a deflected call).
    incident_id: str | None = None
    linkedid: str | None = None
    # The Asterisk the call went through; None for records that do not say (expected.json).
    pbx: str | None = None

    @property
    def in_queue(self) -> bool:
        return self.outcome in QUEUE_OUTCOMES

    @property
    def answered(self) -> bool:
        return self.outcome in ANSWERED_OUTCOMES


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record left out of every figure, and why."""

    key: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "reason": self.reason}


class BadRecord(ValueError):
    pass


def _number(record: Mapping[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    # bool is an int in Python; a True wait is a bug upstream, not one second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRecord(f"{name} is not a number: {value!r}")
    if not math.isfinite(value) or value < 0:
        raise BadRecord(f"{name} is negative or not finite: {value!r}")
    return float(value)


def _text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{name} is not text: {value!r}")
    return value


def record_key(record: Any) -> str:
    if not isinstance(record, Mapping):
        return repr(record)[:80]
    for name in ("key", "uniqueid", "linkedid"):
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return "?"


def _call_id(record: Mapping[str, Any], fallback: str) -> str:
    # All legs of a call share the hotline-side channel's uniqueid (the queue_log callid),
    # which is unique on its own Asterisk only.
    call = _text(record, "uniqueid") or _text(record, "linkedid") or fallback
    pbx = _text(record, "pbx")
    return call if pbx is None else f"{pbx}/{call}"


def _elapsed(record: Mapping[str, Any], start: str, end: str) -> float | None:
    begin, finish = _number(record, start), _number(record, end)
    if begin is None or finish is None or finish < begin:
        return None
    return float(int(finish - begin))  # whole seconds, like queue_log


def parse_leg(record: Any, fallback_id: str) -> Leg:
    """One record as a Leg; raise BadRecord with a clear reason when the KPIs cannot use it."""
    if not isinstance(record, Mapping):
        raise BadRecord(f"not a record object: {type(record).__name__}")
    outcome = record.get("outcome")
    if outcome not in OUTCOMES:
        raise BadRecord(f"unknown outcome {outcome!r}")
    queue = _text(record, "queue")
    leg_number = record.get("leg")
    if leg_number is not None and (isinstance(leg_number, bool) or not isinstance(leg_number, int)):
        raise BadRecord(f"leg is not an integer: {leg_number!r}")
    at = _number(record, "queue_entered_at")
    if at is None:
        at = _number(record, "started_at")
    if at is None:
        at = _number(record, "ivr_ended_at")
    if at is None:
        at = _number(record, "ended_at")
    wait_s = talk_s = None
    if outcome in QUEUE_OUTCOMES:
        if queue is None:
            raise BadRecord(f"outcome {outcome} without a queue")
        wait_s = _number(record, "wait_s")
        if wait_s is None:
            wait_s = 0.0 if outcome == "joinempty" else _elapsed_wait(record, outcome)
        if wait_s is None:
            raise BadRecord(f"outcome {outcome} without wait_s")
    if outcome in ANSWERED_OUTCOMES:
        talk_s = _number(record, "talk_s")
        if talk_s is None:
            talk_s = _elapsed(record, "answered_at", "ended_at")
        if talk_s is None:
            raise BadRecord(f"outcome {outcome} without talk_s")
    survey = record.get("survey")
    if survey is not None and survey not in SURVEY_ANSWERS:
        raise BadRecord(f"unknown survey answer {survey!r}")
    rings = record.get("ring_no_answer") or []
    if not isinstance(rings, list | tuple) or not all(isinstance(r, str) for r in rings):
        raise BadRecord(f"ring_no_answer is not a list of names: {rings!r}")
    return Leg(
        call_id=_call_id(record, fallback_id),
        leg=leg_number,
        outcome=outcome,
        queue=queue,
        at=at,
        wait_s=wait_s,
        talk_s=talk_s,
        answered_by=_text(record, "answered_by") if outcome in ANSWERED_OUTCOMES else None,
        ring_no_answer=tuple(rings),
        survey=survey,
        incident_id=_text(record, "incident_id"),
        linkedid=_text(record, "linkedid"),
        pbx=_text(record, "pbx"),
    )


def _elapsed_wait(record: Mapping[str, Any], outcome: str) -> float | None:
    end = "answered_at" if outcome in ANSWERED_OUTCOMES else "ended_at"
    return _elapsed(record, "queue_entered_at", end)
