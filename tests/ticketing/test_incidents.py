"""Major-fault incidents: saving, ending, listing, and merging callers into one ticket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from ivr.incidents import Incident
from ticketing.store import TicketStore, tickets

START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone(timedelta(hours=8)))


def incident_json(**fields: Any) -> dict[str, Any]:
    incident = Incident(
        id=fields.pop("id", "INC-water-1"),
        title=fields.pop("title", "城东片区停水"),
        text=fields.pop("text", "城东片区因管道抢修停水，预计下午六点恢复。"),
        prompt=fields.pop("prompt", "incident-water"),
        start=fields.pop("start", START),
        expected_end=fields.pop("expected_end", START + timedelta(hours=10)),
        prefixes=fields.pop("prefixes", ("0571",)),
        districts=fields.pop("districts", ("东城",)),
        branch=fields.pop("branch", "help"),
        **fields,
    )
    return incident.to_json()


async def test_saved_incident_lists_as_incident_to_json(store: TicketStore) -> None:
    data = incident_json()
    await store.save_incident(data)
    [listed] = await store.incidents()
    # Times come back as the same instants, in UTC.
    in_utc = {
        name: datetime.fromisoformat(data[name]).astimezone(UTC).isoformat()
        for name in ("start", "expected_end")
    }
    assert listed == {**data, **in_utc, "ticket_number": None}
    # Parsed back by the IVR's own type: the shapes agree.
    assert Incident.from_json({k: v for k, v in listed.items() if k != "ticket_number"}) == (
        Incident.from_json(data)
    )


async def test_save_is_an_upsert_and_accepts_datetimes(store: TicketStore) -> None:
    await store.save_incident(incident_json())
    changed = {**incident_json(title="城东停水（扩大）"), "start": START, "expected_end": None}
    await store.save_incident(changed)
    [listed] = await store.incidents()
    assert listed["title"] == "城东停水（扩大）"
    assert listed["expected_end"] is None
    assert datetime.fromisoformat(listed["start"]) == START


async def test_end_incident_and_active_only(store: TicketStore) -> None:
    await store.save_incident(incident_json(id="A", start=START))
    await store.save_incident(incident_json(id="B", start=START + timedelta(hours=1)))
    assert [i["id"] for i in await store.incidents()] == ["B", "A"]  # most recent first
    ended = START + timedelta(hours=3)
    assert await store.end_incident("A", ended)
    assert not await store.end_incident("A", ended + timedelta(hours=1))  # already ended
    with pytest.raises(KeyError):
        await store.end_incident("nope", ended)
    assert [i["id"] for i in await store.incidents(active_only=True)] == ["B"]
    a = next(i for i in await store.incidents() if i["id"] == "A")
    assert (a["status"], datetime.fromisoformat(a["ended_at"])) == ("ended", ended)


async def test_reports_merge_into_one_ticket_idempotently(store: TicketStore) -> None:
    await store.save_incident(incident_json(branch="help"))
    first_at = START + timedelta(minutes=5)
    first = await store.merge_incident_report("INC-water-1", "L1", "057188880001", first_at)
    assert first["new"] and first["merged_callers"] == 1
    number = first["ticket_number"]
    assert number is not None and number.startswith("12345-20261123-")

    second = await store.merge_incident_report(
        "INC-water-1", "L2", "057188880002", first_at + timedelta(minutes=1)
    )
    again = await store.merge_incident_report("INC-water-1", "L1", "057188880001", first_at)
    assert second == {"incident_id": "INC-water-1", "ticket_number": number,
                      "merged_callers": 2, "new": True}  # fmt: skip
    assert again == {**second, "new": False}

    events = await store.ticket_events_for(number)
    assert [e["kind"] for e in events] == ["created", "merged", "merged"]
    assert [e["data"]["caller_num"] for e in events[1:]] == ["057188880001", "057188880002"]
    assert events[1]["data"]["at"] == first_at.astimezone(UTC).isoformat()
    [listed] = await store.incidents()
    assert (listed["merged_callers"], listed["ticket_number"]) == (2, number)

    # Saving the incident again (an edit from the API) keeps the store's count and ticket.
    await store.save_incident(incident_json(title="城东停水（更新）"))
    [listed] = await store.incidents()
    assert (listed["merged_callers"], listed["ticket_number"]) == (2, number)


async def test_incident_ticket_category_and_subject(store: TicketStore) -> None:
    await store.save_incident(incident_json(id="X", branch="main"))
    result = await store.merge_incident_report("X", "L9", None, START)
    async with store.engine.connect() as connection:
        row = (
            await connection.execute(
                select(tickets).where(tickets.c.number == result["ticket_number"])
            )
        ).one()
    assert (row.category, row.subject, row.status) == ("help", "城东片区停水", "registered")
    assert row.linkedid is None and row.call_key is None


async def test_concurrent_first_reports_open_one_ticket(store: TicketStore) -> None:
    await store.save_incident(incident_json())
    results = await asyncio.gather(
        *(
            store.merge_incident_report("INC-water-1", f"L{n}", f"0571{n:04d}", START)
            for n in range(8)
        )
    )
    assert len({r["ticket_number"] for r in results}) == 1
    assert sorted(r["merged_callers"] for r in results) == list(range(1, 9))
    events = await store.ticket_events_for(results[0]["ticket_number"])
    assert [e["kind"] for e in events].count("merged") == 8


async def test_unknown_incident_and_bad_incidents_are_refused(store: TicketStore) -> None:
    with pytest.raises(KeyError):
        await store.merge_incident_report("nope", "L1", None, START)
    with pytest.raises(ValueError, match="start"):
        await store.save_incident({**incident_json(), "start": "yesterday"})
    with pytest.raises(ValueError, match="status"):
        await store.save_incident({**incident_json(), "status": "paused"})
    with pytest.raises(ValueError, match="time zone"):
        await store.save_incident({**incident_json(), "start": "2026-11-23T08:00:00"})
    assert await store.incidents() == []
