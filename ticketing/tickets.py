"""Opening tickets: the one ticket of each new call, an incident's ticket, and their
'created' events.

A call's ticket is numbered by the moment of the citizen's contact (ticketing.numbering). A
ticket opened for a call whose survey answer is stored already also gets its 'survey' event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import chunks, dialect_insert
from ticketing.models import TICKET_CATEGORIES, TicketEventRow, TicketRow
from ticketing.numbering import TicketNumbering
from ticketing.surveys import survey_events_for_new_tickets

tickets = cast(Table, TicketRow.__table__)
ticket_events = cast(Table, TicketEventRow.__table__)

# The category comes from HOTLINE_CATEGORY, which our IVR sets from the menu's own choice
# definitions (asterisk_conf/channel_vars.py: the prompt and the ticket cannot disagree).
# For calls without it (the degraded path, another IVR), the IVR choice is mapped: by default
# with the menu of the captures' reference IVR (fixtures README), where 2 is the complaint
# queue; a deployment passes its own mapping.
DEFAULT_CATEGORY_BY_CHOICE: dict[str, str] = {
    "1": "consultation",
    "2": "complaint",
    "3": "help",
    "4": "report",
    "5": "suggestion",
}
CATEGORY_VAR = "HOTLINE_CATEGORY"
SYSTEM_ACTOR = "system"


def checked_categories(categories: Mapping[str, str] | None) -> dict[str, str]:
    """The IVR choice -> category mapping (the default menu for None); ValueError if it names
    a category that does not exist."""
    checked = dict(DEFAULT_CATEGORY_BY_CHOICE if categories is None else categories)
    unknown = set(checked.values()) - set(TICKET_CATEGORIES)
    if unknown:
        raise ValueError(f"unknown ticket categories {sorted(unknown)}")
    return checked


def category_of(call: Mapping[str, Any], categories: Mapping[str, str]) -> str:
    """The ticket category for a call: from HOTLINE_CATEGORY, else the IVR choice."""
    named = (call.get("vars") or {}).get(CATEGORY_VAR)
    if named in TICKET_CATEGORIES:
        return str(named)
    choice = call.get("ivr_choice")
    if choice in TICKET_CATEGORIES:
        return str(choice)
    return categories.get(str(choice), "other")


class CallTickets:
    """Opens the ticket of each newly stored call, inside the caller's transaction."""

    def __init__(
        self, dialect: str, numbering: TicketNumbering, categories: Mapping[str, str]
    ) -> None:
        self._numbering = numbering
        self._categories = categories
        # Built once and run with lists of parameters (executemany), so SQLAlchemy compiles
        # the statement once instead of once per batch.
        self._insert_tickets = (
            dialect_insert(dialect, tickets)
            .on_conflict_do_nothing(index_elements=["linkedid"])
            .returning(tickets.c.id, tickets.c.linkedid)
        )

    async def open_for(
        self, connection: AsyncConnection, new_rows: list[dict[str, Any]], now: datetime
    ) -> None:
        """Open the tickets of the calls whose call_records rows were just inserted."""
        # One ticket per call: the lowest leg of a linkedid opens it, later legs join the call.
        first_leg: dict[str, dict[str, Any]] = {}
        for row in sorted(new_rows, key=lambda row: row["leg"]):
            first_leg.setdefault(row["linkedid"], row)
        for chunk in chunks(list(first_leg.values())):
            have = await connection.execute(
                select(tickets.c.linkedid).where(
                    tickets.c.linkedid.in_([row["linkedid"] for row in chunk])
                )
            )
            existing = set(have.scalars())
            todo = [row for row in chunk if row["linkedid"] not in existing]
            if not todo:
                continue
            numbers = await self._numbering.allocate(
                connection, [row["counted_at"] for row in todo]
            )
            ticket_rows = [
                self._ticket_row(row, number, now)
                for row, number in zip(todo, numbers, strict=True)
            ]
            result = await connection.execute(self._insert_tickets, ticket_rows)
            opened = [(int(ticket_id), str(linkedid)) for ticket_id, linkedid in result.all()]
            by_linkedid = {row["linkedid"]: row for row in ticket_rows}
            events = [
                {
                    "ticket_id": ticket_id,
                    "at": by_linkedid[linkedid]["created_at"],
                    "kind": "created",
                    "actor": SYSTEM_ACTOR,
                    "data": {
                        "number": by_linkedid[linkedid]["number"],
                        "call_key": by_linkedid[linkedid]["call_key"],
                        "status": by_linkedid[linkedid]["status"],
                        "category": by_linkedid[linkedid]["category"],
                    },
                }
                for ticket_id, linkedid in opened
            ]
            events += await survey_events_for_new_tickets(connection, dict(opened))
            if events:
                await connection.execute(ticket_events.insert(), events)

    def _ticket_row(self, call: dict[str, Any], number: str, now: datetime) -> dict[str, Any]:
        priority = call["priority"] or 0
        return {
            "number": number,
            "call_pbx": call["pbx"],
            "call_key": call["key"],
            "linkedid": call["linkedid"],
            "caller_number": call["caller_num"],
            "caller_name": call["caller_name"],
            "category": category_of(call, self._categories),
            "status": "registered",
            "urgency": "urgent" if priority > 0 else "normal",
            "district": None,
            "subject": None,
            "content": "",
            "handling_unit": None,
            "due_at": None,
            # The citizen's contact is the moment of registration, even when stored late.
            "created_at": call["counted_at"],
            "updated_at": now,
            "version": 1,
        }


async def open_incident_ticket(
    connection: AsyncConnection,
    numbering: TicketNumbering,
    incident: Mapping[Any, Any],
    category: str,
    at: datetime,
    now: datetime,
) -> int:
    """Open the one ticket of an incident (first report at ``at``); returns its id."""
    [number] = await numbering.allocate(connection, [at])
    result = await connection.execute(
        tickets.insert()
        .values(
            number=number,
            call_pbx=None,
            call_key=None,
            linkedid=None,
            caller_number=None,
            caller_name=None,
            category=category,
            status="registered",
            urgency="urgent",
            district=None,
            subject=incident["title"][:255],
            content=incident["text"],
            handling_unit=None,
            due_at=None,
            created_at=at,
            updated_at=now,
            version=1,
        )
        .returning(tickets.c.id)
    )
    ticket_id = int(result.scalar_one())
    created = {
        "number": number,
        "call_key": None,
        "status": "registered",
        "category": category,
        "incident_id": incident["id"],
    }
    await connection.execute(
        ticket_events.insert(),
        [{"ticket_id": ticket_id, "at": at, "kind": "created", "actor": SYSTEM_ACTOR,
          "data": created}],
    )  # fmt: skip
    return ticket_id
