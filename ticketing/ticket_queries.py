"""Reading tickets: a caller's recent tickets (screen pop) and one ticket's history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.tickets import ticket_events, tickets

_VIEW_FIELDS = (
    "id",
    "number",
    "call_pbx",
    "call_key",
    "linkedid",
    "caller_number",
    "caller_name",
    "category",
    "status",
    "urgency",
    "district",
    "subject",
    "content",
    "handling_unit",
    "version",
)
_TIME_FIELDS = ("due_at", "created_at", "updated_at")
# The workflow's other timers (ticketing.workflow.deadlines), added by case views.
CASE_TIME_FIELDS = ("sign_due_at", "return_until")


async def tickets_of_caller_since(
    connection: AsyncConnection, number: str, since: datetime
) -> list[dict[str, Any]]:
    """The caller's tickets opened from ``since`` on, newest first."""
    query = (
        select(tickets)
        .where(tickets.c.caller_number == number, tickets.c.created_at >= since)
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
    )
    result = await connection.execute(query)
    return [ticket_view(row._mapping) for row in result]


async def ticket_history(connection: AsyncConnection, number: str) -> list[dict[str, Any]]:
    """The events of one ticket (by its number), oldest first."""
    query = (
        select(ticket_events)
        .join(tickets, tickets.c.id == ticket_events.c.ticket_id)
        .where(tickets.c.number == number)
        .order_by(ticket_events.c.at, ticket_events.c.id)
    )
    result = await connection.execute(query)
    return [
        {
            "ticket_id": row.ticket_id,
            "at": row.at.isoformat(),
            "kind": row.kind,
            "actor": row.actor,
            "data": row.data,
        }
        for row in result
    ]


def ticket_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A tickets row as JSON-ready values (times as ISO strings)."""
    view = {name: row[name] for name in _VIEW_FIELDS}
    for name in _TIME_FIELDS:
        value = row[name]
        view[name] = None if value is None else value.isoformat()
    return view
