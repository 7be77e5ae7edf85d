"""The ticket store on SQLite and on a real PostgreSQL 15: calls, tickets, history, exclusions."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.ticketing.conftest import BASE, at, capture_records, make_record
from ticketing.models import TICKET_CATEGORIES
from ticketing.store import TicketStore, calls, ticket_events, tickets

EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


async def rows(store: TicketStore, table: Any) -> list[dict[str, Any]]:
    async with store.engine.connect() as connection:
        result = await connection.execute(select(table).order_by(table.c.id))
        return [dict(row._mapping) for row in result]


async def count(store: TicketStore, table: Any) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_capture_records_round_trip_exactly(store: TicketStore) -> None:
    records = capture_records()
    assert await store.save_calls(records) == len(records)
    stored = await store.calls_between(*EVERYTHING)
    # calls_between adds the post-call survey answer (none stored here) after the record.
    assert all(record.pop("survey") is None for record in stored)
    by_key = {record["key"]: record for record in stored}
    assert by_key == {record["key"]: record for record in records}
    # Same keys and order of keys as CallRecord.to_json(), epoch floats unchanged.
    assert all(list(record) == list(records[0]) for record in stored)


async def test_saving_again_replay_and_restart_insert_nothing(
    store: TicketStore, db_url: str
) -> None:
    records = [make_record() for _ in range(5)]
    assert await store.save_calls(records) == 5
    assert await store.save_calls(records) == 0
    # A replay mixing old and new records stores only the new one.
    fresh = make_record()
    assert await store.save_calls([*records[2:], fresh, records[0]]) == 1
    # The same record twice within one batch counts once.
    twice = make_record()
    assert await store.save_calls([twice, dict(twice)]) == 1

    restarted = await TicketStore.open(db_url)
    try:
        assert await restarted.save_calls([*records, fresh, twice]) == 0
        assert await restarted.count_calls() == 7
    finally:
        await restarted.close()
    assert await count(store, tickets) == 7
    assert await count(store, ticket_events) == 7


async def test_every_call_gets_a_registered_ticket_and_a_created_event(store: TicketStore) -> None:
    records = [
        make_record(ivr_choice="2", caller_num="13900139001", caller_name="李四"),
        make_record(ivr_choice="3", priority=5, outcome="abandoned"),
        make_record(ivr_choice="timeout", outcome="ivr_hangup", queue=None),
        make_record(ivr_choice="1", vars={"HOTLINE_CATEGORY": "praise"}),
    ]
    await store.save_calls(records)
    opened = {row["call_key"]: row for row in await rows(store, tickets)}
    assert set(opened) == {record["key"] for record in records}

    complaint = opened[records[0]["key"]]
    assert (complaint["category"], complaint["urgency"]) == ("complaint", "normal")
    assert (complaint["caller_number"], complaint["caller_name"]) == ("13900139001", "李四")
    assert complaint["status"] == "registered"
    assert complaint["version"] == 1
    assert complaint["created_at"] == at(records[0]["queue_entered_at"])
    assert (opened[records[1]["key"]]["category"], opened[records[1]["key"]]["urgency"]) == (
        "help",
        "urgent",
    )
    assert opened[records[2]["key"]]["category"] == "other"
    assert opened[records[3]["key"]]["category"] == "praise"
    assert all(row["category"] in TICKET_CATEGORIES for row in opened.values())

    # The date part is the Shanghai date of the call; numbers count up from 1 per day.
    numbers = sorted(row["number"] for row in opened.values())
    assert numbers == [f"12345-20261123-{n:06d}" for n in range(1, 5)]

    events = await rows(store, ticket_events)
    assert [event["kind"] for event in events] == ["created"] * 4
    ticket_ids = {row["id"]: row for row in opened.values()}
    for event in events:
        ticket = ticket_ids[event["ticket_id"]]
        assert event["data"]["number"] == ticket["number"]
        assert event["data"]["call_key"] == ticket["call_key"]
        assert event["actor"] == "system"
    history = await store.ticket_events_for(complaint["number"])
    assert [entry["kind"] for entry in history] == ["created"]


async def test_ticket_numbers_follow_the_local_date_and_continue_across_batches(
    store: TicketStore,
) -> None:
    # 15:59:59 UTC is 23:59:59 in Shanghai; 16:00:00 UTC is already the next day there.
    late = datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC).timestamp()
    await store.save_calls([make_record(queue_entered_at=late)])
    await store.save_calls(
        [make_record(queue_entered_at=late + 1), make_record(queue_entered_at=late - 60)]
    )
    numbers = sorted(row["number"] for row in await rows(store, tickets))
    assert numbers == ["12345-20261123-000001", "12345-20261123-000002", "12345-20261124-000001"]
    assert all(re.fullmatch(r"12345-\d{8}-\d{6}", number) for number in numbers)


async def test_a_transferred_call_has_two_records_and_one_ticket(store: TicketStore) -> None:
    transfer = [record for record in capture_records() if record["outcome"] == "transferred"]
    assert transfer, "the transfer capture has a transferred leg"
    legs = [record for record in capture_records() if record["uniqueid"] == transfer[0]["uniqueid"]]
    assert [leg["leg"] for leg in legs] == [0, 1]
    # The second leg may arrive in a later batch than the first.
    assert await store.save_calls(legs[:1]) == 1
    assert await store.save_calls(legs) == 1
    assert await store.count_calls() == 2
    opened = await rows(store, tickets)
    assert [(row["call_key"], row["linkedid"]) for row in opened] == [
        (legs[0]["key"], legs[0]["linkedid"])
    ]


async def test_calls_between_filters_on_queue_entry_or_start(store: TicketStore) -> None:
    inside = make_record(queue_entered_at=BASE + 100, queue="hotline-general")
    other_queue = make_record(queue_entered_at=BASE + 150, queue="hotline-complaint")
    at_start = make_record(queue_entered_at=BASE + 60)
    at_end = make_record(queue_entered_at=BASE + 200)  # end is exclusive
    before = make_record(queue_entered_at=BASE + 59.999)
    # Hung up in the IVR: never queued, counted by when the call started.
    ivr_only = make_record(
        queue=None, queue_entered_at=None, started_at=BASE + 120, ended_at=BASE + 130
    )
    # Queued inside the window although the call started before it.
    started_before = make_record(queue_entered_at=BASE + 70, started_at=BASE - 500)
    await store.save_calls(
        [inside, other_queue, at_start, at_end, before, ivr_only, started_before]
    )

    window = (at(BASE + 60), at(BASE + 200))
    keys = [record["key"] for record in await store.calls_between(*window)]
    assert keys == [
        at_start["key"],
        started_before["key"],
        inside["key"],
        ivr_only["key"],
        other_queue["key"],
    ]
    general = await store.calls_between(*window, queue="hotline-general")
    assert [record["key"] for record in general] == [
        at_start["key"],
        started_before["key"],
        inside["key"],
    ]
    assert await store.calls_between(*window, queue="nobody") == []
    # Windows in another time zone mean the same instants.
    zone = ZoneInfo("Asia/Shanghai")
    shanghai = (window[0].astimezone(zone), window[1].astimezone(zone))
    assert [r["key"] for r in await store.calls_between(*shanghai)] == keys


async def test_malformed_record_raises_and_stores_nothing_of_its_batch(store: TicketStore) -> None:
    good = make_record()
    for bad, complaint in [
        ({**make_record(), "uniqueid": None}, "uniqueid is missing"),
        ({**make_record(), "queue_entered_at": "yesterday"}, "queue_entered_at must be epoch"),
        ({**make_record(), "wait_s": "3"}, "wait_s must be an integer"),
        ({**make_record(), "key": "other#0"}, "is not uniqueid#leg"),
        ({**make_record(), "caller_num": "1" * 65}, "caller_num is longer than 64"),
        ({**make_record(), "ring_no_answer": "agent1"}, "ring_no_answer must be a list"),
    ]:
        with pytest.raises(ValueError, match=complaint):
            await store.save_calls([good, bad])
    assert await store.count_calls() == 0
    assert await store.save_calls([good]) == 1


async def test_recent_tickets_for_caller_are_the_last_30_days_newest_first(
    store: TicketStore,
) -> None:
    now = at(BASE)
    old = make_record(caller_num="13700137000", queue_entered_at=BASE - 31 * 86400)
    recent = make_record(caller_num="13700137000", queue_entered_at=BASE - 29 * 86400)
    newest = make_record(caller_num="13700137000", queue_entered_at=BASE - 60, ivr_choice="2")
    someone_else = make_record(caller_num="13600136000", queue_entered_at=BASE - 60)
    await store.save_calls([old, recent, newest, someone_else])

    found = await store.recent_tickets_for_caller("13700137000", now=now)
    assert [ticket["call_key"] for ticket in found] == [newest["key"], recent["key"]]
    assert found[0]["category"] == "complaint"
    assert found[0]["status"] == "registered"
    assert datetime.fromisoformat(found[0]["created_at"]) == at(BASE - 60)
    assert re.fullmatch(r"12345-\d{8}-\d{6}", found[0]["number"])
    longer = await store.recent_tickets_for_caller("13700137000", days=40, now=now)
    assert len(longer) == 3
    assert await store.recent_tickets_for_caller("10000000000", now=now) == []


async def test_exclusion_windows_overlapping_a_period(store: TicketStore) -> None:
    t = at(BASE)
    first = await store.add_exclusion(t, t + timedelta(hours=1), "停电: 供电故障", "班长 王")
    second = await store.add_exclusion(
        t + timedelta(hours=5), t + timedelta(hours=6), "traffic beyond seat capacity", "lead"
    )
    assert first != second

    assert await store.exclusions_between(t + timedelta(minutes=30), t + timedelta(hours=2)) == [
        (t, t + timedelta(hours=1), "停电: 供电故障")
    ]
    everything = await store.exclusions_between(t - timedelta(days=1), t + timedelta(days=1))
    assert [reason for _, _, reason in everything] == [
        "停电: 供电故障",
        "traffic beyond seat capacity",
    ]
    assert all(start.tzinfo is not None for start, _, _ in everything)
    # Touching is not overlapping: [start, end) periods.
    assert await store.exclusions_between(t + timedelta(hours=1), t + timedelta(hours=5)) == []

    with pytest.raises(ValueError, match="before it starts"):
        await store.add_exclusion(t, t, "empty", "lead")
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.add_exclusion(datetime(2026, 1, 1), t, "naive", "lead")
    with pytest.raises(ValueError, match="reason"):
        await store.add_exclusion(t, t + timedelta(hours=1), "  ", "lead")


async def test_ping_and_count(store: TicketStore) -> None:
    assert await store.ping() is True
    assert await store.count_calls() == 0
    await store.save_calls([make_record(), make_record()])
    assert await store.count_calls() == 2


async def test_concurrent_writers_store_each_call_once(db_url: str) -> None:
    """Two service instances saving overlapping batches at the same time (shared database)."""
    first, second = await TicketStore.open(db_url), await TicketStore.open(db_url)
    try:
        records = [make_record() for _ in range(60)]
        results = await asyncio.gather(
            *(
                writer.save_calls(records[start : start + 40])
                for writer, start in ((first, 0), (second, 20), (first, 10), (second, 0))
            )
        )
        assert sum(results) == 60
        assert await first.count_calls() == 60
        numbers = [row["number"] for row in await rows(first, tickets)]
        assert len(numbers) == len(set(numbers)) == 60
        assert sorted(numbers)[-1] == "12345-20261123-000060"
    finally:
        await first.close()
        await second.close()


async def test_stored_rows_keep_utc_aware_times_and_json(store: TicketStore) -> None:
    record = make_record(ring_no_answer=["Local/agent2@agent-robot/n"], vars={"HOTLINE_X": "是"})
    await store.save_calls([record])
    (row,) = await rows(store, calls)
    assert row["queue_entered_at"] == at(record["queue_entered_at"])
    assert row["queue_entered_at"].utcoffset() == timedelta(0)
    assert row["stored_at"].tzinfo is not None
    assert row["ring_no_answer"] == ["Local/agent2@agent-robot/n"]
    assert row["vars"] == {"HOTLINE_X": "是"}
