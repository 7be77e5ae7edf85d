"""The dirty-hour triggers of migration 0017_rollup, on SQLite and PostgreSQL: each write of a
call, survey, case or case event marks in ``rollup_dirty`` the UTC hours whose rollup rows it
makes stale, and no others; made through the store's own write paths where they exist (the
buffered writer, the desk's registration, the workflow), by SQL where nothing in the project
updates or deletes (call records are append-only). The marked hours are read back as the
rollup code binds them: an equality on the bound UTC hour finds each one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from tests.ticketing.conftest import make_record
from ticketing.registrations import CallFacts, Registration
from ticketing.rollup.tables import rollup_dirty
from ticketing.store import TicketStore, calls, tickets
from ticketing.surveys import survey_results
from ticketing.workflow import Actor
from ticketing.writer import BufferedCallWriter

H10 = datetime(2026, 11, 23, 10, tzinfo=UTC)
AGENT = Actor("li", "agent")
UNIT = "住建局"
UNIT_STAFF = Actor("wang", "unit", UNIT)


def hour(n: int) -> datetime:
    return H10 + timedelta(hours=n)


def leg(call: str, n: int, at: datetime, **fields: Any) -> dict[str, Any]:
    """Leg ``n`` of call ``call`` (its linkedid and uniqueid), entering its queue at ``at``."""
    return make_record(
        linkedid=call, uniqueid=f"{call}.1", leg=n, queue_entered_at=at.timestamp(), **fields
    )


# A call answered in one queue at 10:59:50 and transferred to another at 11:00:20.
FIRST = leg("1795428000.1", 0, hour(0) + timedelta(minutes=59, seconds=50), outcome="transferred")
TRANSFER = leg("1795428000.1", 1, hour(1) + timedelta(seconds=20), queue="hotline-complaint")


async def marks(store: TicketStore) -> set[datetime]:
    """The marked hours, each checked to be found by the bound UTC hour the rollup code uses
    (SQLite compares the stored text: it must be the form SQLAlchemy binds)."""
    async with store.engine.connect() as connection:
        hours = set((await connection.execute(select(rollup_dirty.c.hour))).scalars())
        for marked in hours:
            assert marked.utcoffset() == timedelta(0)
            assert marked == marked.replace(minute=0, second=0, microsecond=0)
            found = select(func.count()).where(rollup_dirty.c.hour == marked)
            assert (await connection.execute(found)).scalar_one() == 1, marked
    return hours


async def clear(store: TicketStore) -> None:
    async with store.engine.begin() as connection:
        await connection.execute(delete(rollup_dirty))


async def write(store: TicketStore, statement: Any) -> None:
    async with store.engine.begin() as connection:
        await connection.execute(statement)


async def test_a_call_marks_its_hour_and_a_leg_after_the_hour_marks_both(
    store: TicketStore, tmp_path: Path
) -> None:
    writer = BufferedCallWriter(store, 100, 0.1, tmp_path / "spill.jsonl")
    try:
        # Stored by the service's path: the buffered writer (the call, its case, 'created').
        writer.submit(FIRST)
        assert await writer.flush(10)
        assert await marks(store) == {hour(0)}
        await clear(store)
        # The transfer leg after the hour boundary: the call is counted at its first leg's
        # hour, the new queue's share at this leg's: both hours change.
        writer.submit(TRANSFER)
        assert await writer.flush(10)
        assert await marks(store) == {hour(0), hour(1)}
    finally:
        await writer.stop()
    await clear(store)
    # Another call, hours later, marks its own hour only; a replayed leg marks nothing.
    assert await store.save_calls([leg("1795440000.2", 0, hour(3) + timedelta(minutes=5))]) == 1
    assert await marks(store) == {hour(3)}
    await clear(store)
    assert await store.save_calls([FIRST, TRANSFER]) == 0
    assert await marks(store) == set()
    async with store.engine.connect() as connection:
        in_range = select(func.count()).where(
            rollup_dirty.c.hour >= hour(0), rollup_dirty.c.hour < hour(1)
        )
        assert (await connection.execute(in_range)).scalar_one() == 0


async def test_a_call_update_or_delete_marks_its_old_and_new_hour_and_its_other_legs(
    store: TicketStore,
) -> None:
    await store.save_calls([FIRST, TRANSFER])
    transfer = calls.c.key == TRANSFER["key"]
    await clear(store)
    # Nothing in the project rewrites a call (append-only); a repair by SQL still marks.
    await write(store, update(calls).where(transfer).values(counted_at=hour(2)))
    assert await marks(store) == {hour(0), hour(1), hour(2)}
    await clear(store)
    await write(store, update(calls).where(transfer).values(talk_s=99))
    assert await marks(store) == {hour(0), hour(2)}
    await clear(store)
    await write(store, delete(calls).where(transfer))
    assert await marks(store) == {hour(0), hour(2)}
    async with store.engine.connect() as connection:
        in_range = select(func.count()).where(
            rollup_dirty.c.hour >= hour(0), rollup_dirty.c.hour < hour(2)
        )
        assert (await connection.execute(in_range)).scalar_one() == 1


async def test_a_survey_marks_the_hours_of_its_calls_legs(store: TicketStore) -> None:
    at = hour(1) + timedelta(minutes=2)
    # Rated before the writer stored the call: no leg yet, nothing to mark; storing the legs
    # marks their hours then.
    assert await store.record_survey("1795428000.9", "satisfied", at, "1")
    assert await marks(store) == set()
    later = [leg("1795428000.9", 0, hour(0) + timedelta(minutes=59)),
             leg("1795428000.9", 1, hour(1) + timedelta(minutes=1))]  # fmt: skip
    await store.save_calls(later)
    assert await marks(store) == {hour(0), hour(1)}
    await store.save_calls([FIRST, TRANSFER, leg("1795450000.3", 0, hour(6))])
    assert await store.record_survey("1795450000.3", "satisfied", hour(6), "1")
    await clear(store)
    # Rated after: the legs' hours (the 'survey' event on its case marks the case's hour).
    assert await store.record_survey(FIRST["linkedid"], "dissatisfied", at, "3")
    assert await marks(store) == {hour(0), hour(1)}
    await clear(store)
    # A purged answer: its call's hours again.
    await write(store, delete(survey_results).where(survey_results.c.linkedid == "1795450000.3"))
    assert await marks(store) == {hour(6)}


async def test_a_case_and_its_keyed_updates_mark_its_hour_and_its_calls_legs(
    store: TicketStore,
) -> None:
    await store.add_unit(UNIT)
    await store.save_calls([FIRST, TRANSFER])
    await clear(store)
    # The desk's registration sets the category and area (and appends events).
    form = Registration(FIRST["linkedid"], "complaint", "噪音扰民 noise", "dispatched",
                        district="东城区")  # fmt: skip
    result = await store.register_call(form, "li", CallFacts("13800138000", "张三", 0))
    assert await marks(store) == {hour(0), hour(1)}
    case = await store.case_by_number(result["ticket"])
    await clear(store)
    # Dispatch sets the first and the handling unit.
    case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": UNIT},
                                    case["version"], now=hour(30))  # fmt: skip
    assert case["first_unit"] == UNIT
    assert await marks(store) == {hour(0), hour(1)}
    await clear(store)
    # A change no count depends on marks nothing.
    await write(store, update(tickets).where(tickets.c.id == case["id"]).values(content="x"))
    assert await marks(store) == set()
    # A case no call opened (a letter, the web): its created hour.
    await store.register_case(AGENT, {"category": "help"}, at=hour(4) + timedelta(minutes=20))
    assert await marks(store) == {hour(4)}


async def test_a_case_event_marks_its_cases_created_hour_weeks_later(store: TicketStore) -> None:
    await store.add_unit(UNIT)
    created = hour(0) + timedelta(minutes=35)
    case = await store.register_case(AGENT, {"category": "help"}, at=created)
    now = created + timedelta(weeks=3)
    case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": UNIT},
                                    case["version"], now=now)  # fmt: skip
    await clear(store)
    await store.apply_action(case["id"], "sign", UNIT_STAFF, {}, case["version"], now=now)
    assert await marks(store) == {hour(0)}


async def test_marks_are_kept_once_per_hour(store: TicketStore) -> None:
    """Many writes in one hour, in one transaction and in several, keep one row per hour."""
    base = hour(0) + timedelta(minutes=1)
    records = [leg(f"1795429000.{i}", 0, base + timedelta(seconds=i)) for i in range(5)]
    await store.save_calls(records[:3])
    await store.save_calls(records[3:])
    assert await marks(store) == {hour(0)}
