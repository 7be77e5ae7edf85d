"""Post-call surveys: stored once, joined to the calls, one ticket event whatever the order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.ticketing.conftest import at, make_record
from ticketing.store import TicketStore

EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


async def ticket_number(store: TicketStore, record: dict[str, object]) -> str:
    [ticket] = await store.recent_tickets_for_caller(
        str(record["caller_num"]), days=36500, now=datetime(2100, 1, 1, tzinfo=UTC)
    )
    return str(ticket["number"])


async def survey_events(store: TicketStore, number: str) -> list[dict[str, object]]:
    return [e for e in await store.ticket_events_for(number) if e["kind"] == "survey"]


async def test_survey_after_the_record_adds_one_event(store: TicketStore) -> None:
    record = make_record(caller_num="13811110001")
    await store.save_calls([record])
    answered = at(record["ended_at"] + 8)
    assert await store.record_survey(record["linkedid"], "basically_satisfied", answered, "2")
    # The first answer wins: a second press or a retry neither changes nor duplicates it.
    assert not await store.record_survey(record["linkedid"], "dissatisfied", answered, "3")
    assert not await store.record_survey(record["linkedid"], "basically_satisfied", answered, "2")

    number = await ticket_number(store, record)
    [event] = await survey_events(store, number)
    assert event["actor"] == "ivr"
    assert event["data"] == {
        "answer": "basically_satisfied",
        "digit": "2",
        "at": answered.isoformat(),
    }
    assert event["at"] == answered.isoformat()
    [stored] = await store.calls_between(*EVERYTHING)
    assert stored["survey"] == "basically_satisfied"


async def test_survey_before_the_record_is_stored_waits_for_the_ticket(
    store: TicketStore,
) -> None:
    record = make_record(caller_num="13811110002")
    answered = at(record["ended_at"] + 8)
    assert await store.record_survey(record["linkedid"], "dissatisfied", answered, "3")
    assert await store.count_calls() == 0
    await store.save_calls([record])
    # A replay of the record (writer retry) adds neither a ticket nor a second event.
    await store.save_calls([record])
    number = await ticket_number(store, record)
    events = await store.ticket_events_for(number)
    assert [e["kind"] for e in events] == ["created", "survey"]
    assert events[1]["data"] == {"answer": "dissatisfied", "digit": "3", "at": answered.isoformat()}
    [stored] = await store.calls_between(*EVERYTHING)
    assert stored["survey"] == "dissatisfied"


async def test_every_leg_of_a_transferred_call_carries_the_call_survey(
    store: TicketStore,
) -> None:
    first = make_record(leg=0, outcome="transferred")
    second = make_record(
        linkedid=first["linkedid"], uniqueid=first["uniqueid"], leg=1,
        queue_entered_at=first["queue_entered_at"] + 60,
    )  # fmt: skip
    other = make_record()
    await store.save_calls([first, second, other])
    await store.record_survey(first["linkedid"], "none", at(second["ended_at"] + 5))
    surveys = {r["key"]: r["survey"] for r in await store.calls_between(*EVERYTHING)}
    assert surveys == {first["key"]: "none", second["key"]: "none", other["key"]: None}


async def test_concurrent_surveys_and_saves_give_exactly_one_event_each(
    store: TicketStore,
) -> None:
    records = [make_record(caller_num=f"1390000{n:04d}") for n in range(12)]

    async def survey(record: dict[str, object]) -> bool:
        moment = at(float(record["ended_at"]) + 1)  # type: ignore[arg-type]
        return await store.record_survey(str(record["linkedid"]), "satisfied", moment, "1")

    async def save(record: dict[str, object]) -> int:
        return await store.save_calls([record])

    jobs = [job for record in records for job in (survey(record), save(record))]
    results = await asyncio.gather(*jobs[::2], *jobs[1::2])
    assert results == [True] * 12 + [1] * 12
    for record in records:
        number = await ticket_number(store, record)
        assert len(await survey_events(store, number)) == 1, record["linkedid"]


@pytest.mark.parametrize(
    ("answer", "digit", "moment"),
    [
        ("great", None, datetime(2026, 11, 23, tzinfo=UTC)),
        ("satisfied", "123456789", datetime(2026, 11, 23, tzinfo=UTC)),
        ("satisfied", "1", datetime(2026, 11, 23)),
    ],
)
async def test_bad_surveys_are_refused_and_store_nothing(
    store: TicketStore, answer: str, digit: str | None, moment: datetime
) -> None:
    with pytest.raises(ValueError):
        await store.record_survey("1795428001.1", answer, moment, digit)
    assert await store.record_survey("1795428001.1", "satisfied", at(1_795_428_100))


async def _waiting_on_advisory_lock(store: TicketStore) -> bool:
    async with store.engine.connect() as connection:
        result = await connection.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
        return int(result.scalar_one()) > 0


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    # Lock waits are only visible in pg_locks: poll it, bounded by the caller's wait_for.
    while not await condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("path", ["survey", "save"])
async def test_survey_and_ticket_hand_over_is_serialised_on_postgres(
    postgres_url: str, path: str
) -> None:
    """Without the lock two concurrent transactions could each miss the other's row."""
    store = await TicketStore.open(postgres_url)
    try:
        record = make_record()
        if path == "save":
            await store.record_survey(record["linkedid"], "satisfied", at(record["ended_at"]))
        async with store.engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_xact_lock(1234512346)"))
            job = asyncio.ensure_future(
                store.record_survey(record["linkedid"], "satisfied", at(record["ended_at"]))
                if path == "survey"
                else store.save_calls([record])
            )
            await asyncio.wait_for(_until(lambda: _waiting_on_advisory_lock(store)), 10)
            assert not job.done()
            await holder.rollback()  # releases the lock
        assert await asyncio.wait_for(job, 10)
    finally:
        await store.close()
