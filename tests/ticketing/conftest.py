"""Fixtures for the ticket store tests: an opened store on each database, call records."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from acd.records import CallRecord
from tests.captures import capture_names, load_expected
from ticketing.store import TicketStore

# 2026-11-23 10:00:00 UTC (18:00 in Shanghai): the day of the captures.
BASE = 1_795_428_000.0
_serial = itertools.count(1)


def make_record(**fields: Any) -> dict[str, Any]:
    """A finished call as the tracker hands it over: CallRecord(...).to_json()."""
    serial = next(_serial)
    entered = fields.pop("queue_entered_at", BASE + serial)
    defaults: dict[str, Any] = {
        "linkedid": f"{BASE + serial:.0f}.{serial}",
        "uniqueid": f"{BASE + serial:.0f}.{serial}1",
        "caller_num": "13800138000",
        "caller_name": "张三",
        "ivr_digits": "1",
        "ivr_choice": "1",
        "ivr_path": ["welcome", "main"],
        "priority": 0,
        "queue": "hotline-general",
        "outcome": "answered",
        "wait_s": 3,
        "talk_s": 42,
        "answered_by": "Robot Agent 1",
        "member_interface": "Local/agent1@agent-robot/n",
        "ring_no_answer": [],
        "hangup_by": "caller",
        "started_at": None if entered is None else entered - 4.25,
        "queue_entered_at": entered,
        "answered_at": None if entered is None else entered + 3.5,
        "ended_at": None if entered is None else entered + 45.125,
        "vars": {"HOTLINE_QUEUE": "hotline-general", "HOTLINE_CHOICE": "1"},
    }
    defaults.update(fields)
    return CallRecord(**defaults).to_json()


def capture_records() -> list[dict[str, Any]]:
    """The records the real Asterisk captures' expected.json list, as full CallRecords."""
    records = []
    for name in capture_names():
        legs: dict[str, int] = {}
        for expected in load_expected(name):
            # expected.json lists a transferred call's queue legs in order, without a leg number.
            leg = legs[expected["uniqueid"]] = legs.get(expected["uniqueid"], -1) + 1
            records.append(CallRecord(**expected, leg=leg).to_json())
    return records


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[TicketStore]:
    opened = await TicketStore.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()
