"""Post-call survey answers (满意度回访) and the ticket event each one adds.

The answer arrives after the call has ended, often before the buffered writer has stored the
call's record and opened its ticket. So answers live in their own append-only table, and the
``survey`` ticket event is added by whichever of the two comes second: ``record_survey`` when
the ticket exists already, ``save_calls`` when it opens the ticket later. On PostgreSQL both
paths take one advisory lock for that hand-over, so two concurrent transactions cannot each
miss the other's uncommitted row (the event would be lost) — exactly one of them adds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import dialect_insert
from ticketing.models import SURVEY_ANSWERS, SurveyResultRow, TicketEventRow, TicketRow

survey_results = cast(Table, SurveyResultRow.__table__)
_tickets = cast(Table, TicketRow.__table__)
_ticket_events = cast(Table, TicketEventRow.__table__)

SURVEY_KEY = "survey"  # the key calls_between adds to each record
SURVEY_EVENT = "survey"
SURVEY_ACTOR = "ivr"
# An arbitrary constant, distinct from the migration lock's.
_PG_SURVEY_LINK_LOCK = 1_234_512_346


def check_answer(answer: str, digit: str | None) -> None:
    if answer not in SURVEY_ANSWERS:
        raise ValueError(
            f"unknown survey answer {answer!r}: use one of {', '.join(SURVEY_ANSWERS)}"
        )
    if digit is not None and (not isinstance(digit, str) or len(digit) > 8):
        raise ValueError(f"survey digit must be a short string, got {digit!r}")


async def lock_survey_links(connection: AsyncConnection) -> None:
    # SQLite needs nothing: it lets one writer at a time in, and both paths write first.
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SURVEY_LINK_LOCK}
        )


async def insert_survey(
    connection: AsyncConnection, linkedid: str, answer: str, at: datetime, digit: str | None
) -> bool:
    """Store the answer unless the call has one already (the first answer wins)."""
    statement = (
        dialect_insert(connection.dialect.name, survey_results)
        .values(linkedid=linkedid, answer=answer, digit=digit, at=at, stored_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["linkedid"])
        .returning(survey_results.c.id)
    )
    result = await connection.execute(statement)
    return result.scalar_one_or_none() is not None


async def ticket_of_call(connection: AsyncConnection, linkedid: str) -> int | None:
    result = await connection.execute(select(_tickets.c.id).where(_tickets.c.linkedid == linkedid))
    ticket_id = result.scalar_one_or_none()
    return None if ticket_id is None else int(ticket_id)


def survey_event(ticket_id: int, survey: Mapping[Any, Any]) -> dict[str, Any]:
    at: datetime = survey["at"]
    return {
        "ticket_id": ticket_id,
        "at": at,
        "kind": SURVEY_EVENT,
        "actor": SURVEY_ACTOR,
        "data": {
            "answer": survey["answer"],
            "digit": survey["digit"],
            "at": at.astimezone(UTC).isoformat(),
        },
    }


async def survey_events_for_new_tickets(
    connection: AsyncConnection, linkedid_by_ticket: Mapping[int, str]
) -> list[dict[str, Any]]:
    """The ``survey`` events of tickets just opened whose call was rated before they were."""
    if not linkedid_by_ticket:
        return []
    await lock_survey_links(connection)
    ticket_by_linkedid = {linkedid: ticket for ticket, linkedid in linkedid_by_ticket.items()}
    result = await connection.execute(
        select(survey_results.c.linkedid, survey_results.c.answer, survey_results.c.digit,
               survey_results.c.at)
        .where(survey_results.c.linkedid.in_(list(ticket_by_linkedid)))
    )  # fmt: skip
    return [survey_event(ticket_by_linkedid[row.linkedid], row._mapping) for row in result]


async def store_survey(
    connection: AsyncConnection, linkedid: str, answer: str, at: datetime, digit: str | None
) -> bool:
    """Store a checked answer and, if the call's ticket exists, its ``survey`` event.

    False (and nothing stored) when the call has an answer already.
    """
    await lock_survey_links(connection)
    if not await insert_survey(connection, linkedid, answer, at, digit):
        return False
    ticket_id = await ticket_of_call(connection, linkedid)
    if ticket_id is not None:
        event = survey_event(ticket_id, {"answer": answer, "digit": digit, "at": at})
        await connection.execute(_ticket_events.insert(), [event])
    return True
