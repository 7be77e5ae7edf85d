"""Major-fault incidents (重大故障) in the ticket store: rows, parsing, the JSON view and the
SQL that stores incidents and merges callers' reports (并单) into them.

The incident JSON is the one ``ivr.incidents.Incident.to_json()`` produces (this package does
not import ``ivr``): id, title, text, prompt, start, expected_end, prefixes, districts, branch,
status, ended_at, merged_callers. The store adds ``ticket_number``: the incident's one ticket,
opened by its first report; every merged call adds a ``merged`` (并单) event to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import dialect_insert
from ticketing.models import (
    INCIDENT_STATUSES,
    TICKET_CATEGORIES,
    IncidentReportRow,
    IncidentRow,
)
from ticketing.numbering import TicketNumbering
from ticketing.tickets import SYSTEM_ACTOR, open_incident_ticket, ticket_events, tickets

incidents = cast(Table, IncidentRow.__table__)
incident_reports = cast(Table, IncidentReportRow.__table__)

MERGED_EVENT = "merged"
DEFAULT_INCIDENT_CATEGORY = "help"
# What save_incident may change on an incident stored already. merged_callers and the ticket
# are the store's own count and link, never taken from the caller's copy.
_UPDATABLE = (
    "title",
    "text",
    "prompt",
    "prefixes",
    "districts",
    "branch",
    "start",
    "expected_end",
    "status",
    "ended_at",
)


def incident_row(data: Mapping[str, Any]) -> dict[str, Any]:
    """The incidents row for an incident's JSON (ISO strings or aware datetimes)."""
    if not isinstance(data, Mapping):
        raise ValueError("an incident must be an object")
    problems: list[str] = []
    row: dict[str, Any] = {}
    for name, limit in (("id", 64), ("title", 255), ("text", None), ("prompt", 255)):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: must be a non-empty string")
        elif limit is not None and len(value) > limit:
            problems.append(f"{name}: longer than {limit} characters")
        elif "\x00" in value:
            problems.append(f"{name}: NUL is not allowed (PostgreSQL text cannot hold it)")
        else:
            row[name] = value.strip()
    branch = data.get("branch")
    if branch is not None and (not isinstance(branch, str) or len(branch) > 64 or "\x00" in branch):
        problems.append("branch: must be a string of at most 64 characters (no NUL) or null")
    row["branch"] = branch or None
    for name in ("prefixes", "districts"):
        value = data.get(name) or []
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and "\x00" not in v for v in value
        ):
            problems.append(f"{name}: must be a list of strings without NUL")
        else:
            row[name] = list(value)
    for name, required in (("start", True), ("expected_end", False), ("ended_at", False)):
        try:
            row[name] = _moment(data.get(name), required)
        except ValueError as error:
            problems.append(f"{name}: {error}")
    status = data.get("status", "active")
    if status not in INCIDENT_STATUSES:
        problems.append(f"status: must be one of {', '.join(INCIDENT_STATUSES)}")
    row["status"] = status
    merged = data.get("merged_callers", 0)
    if isinstance(merged, bool) or not isinstance(merged, int) or merged < 0:
        problems.append("merged_callers: must be an integer ≥ 0")
    row["merged_callers"] = merged
    if problems:
        raise ValueError(f"invalid incident {data.get('id')!r}: " + "; ".join(problems))
    return row


def updatable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in _UPDATABLE}


def incident_view(row: Mapping[Any, Any], ticket_number: str | None) -> dict[str, Any]:
    """Incident.to_json()'s shape, plus the number of the incident's ticket."""
    return {
        "id": row["id"],
        "title": row["title"],
        "text": row["text"],
        "prompt": row["prompt"],
        "start": row["start"].isoformat(),
        "expected_end": _iso(row["expected_end"]),
        "prefixes": list(row["prefixes"] or []),
        "districts": list(row["districts"] or []),
        "branch": row["branch"],
        "status": row["status"],
        "ended_at": _iso(row["ended_at"]),
        "merged_callers": int(row["merged_callers"]),
        "ticket_number": ticket_number,
    }


def category_of_incident(branch: str | None, categories: Mapping[str, str]) -> str:
    """The ticket category: the menu branch if it names one (or maps to one), else help."""
    if branch in TICKET_CATEGORIES:
        return str(branch)
    if branch is not None and branch in categories:
        return categories[branch]
    return DEFAULT_INCIDENT_CATEGORY


async def upsert_incident(
    connection: AsyncConnection, row: Mapping[str, Any], now: datetime
) -> None:
    """Insert an incident_row, or update the stored incident keeping its count and ticket."""
    statement = (
        dialect_insert(connection.dialect.name, incidents)
        .values(**row, ticket_id=None, created_at=now, updated_at=now)
        .on_conflict_do_update(index_elements=["id"], set_={**updatable(row), "updated_at": now})
    )
    await connection.execute(statement)


async def mark_ended(connection: AsyncConnection, incident_id: str, at: datetime) -> bool:
    """Mark an active incident ended; False if it was ended already, KeyError if unknown."""
    result = await connection.execute(
        update(incidents)
        .where(incidents.c.id == incident_id, incidents.c.status == "active")
        .values(status="ended", ended_at=at, updated_at=datetime.now(UTC))
    )
    if result.rowcount:
        return True
    known = await connection.execute(select(incidents.c.id).where(incidents.c.id == incident_id))
    if known.scalar_one_or_none() is None:
        raise KeyError(incident_id)
    return False


async def list_incidents(connection: AsyncConnection, active_only: bool) -> list[dict[str, Any]]:
    """Incidents, most recent start first, as incident_view."""
    query = select(incidents, tickets.c.number.label("ticket_number")).outerjoin(
        tickets, tickets.c.id == incidents.c.ticket_id
    )
    if active_only:
        query = query.where(incidents.c.status == "active")
    query = query.order_by(incidents.c.start.desc(), incidents.c.id)
    result = await connection.execute(query)
    return [incident_view(row._mapping, row.ticket_number) for row in result]


async def merge_report(
    connection: AsyncConnection,
    numbering: TicketNumbering,
    categories: Mapping[str, str],
    incident_id: str,
    linkedid: str,
    caller_num: str | None,
    at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Merge a caller's report into the incident; see TicketStore.merge_incident_report."""
    # Writing first locks the incident row (PostgreSQL) or the database (SQLite), so
    # concurrent first reports cannot open two tickets.
    touched = await connection.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(updated_at=incidents.c.updated_at)
    )
    if not touched.rowcount:
        raise KeyError(incident_id)
    inserted = await connection.execute(
        dialect_insert(connection.dialect.name, incident_reports)
        .values(incident_id=incident_id, linkedid=linkedid, caller_num=caller_num, at=at)
        .on_conflict_do_nothing(index_elements=["incident_id", "linkedid"])
        .returning(incident_reports.c.id)
    )
    new = inserted.scalar_one_or_none() is not None
    incident = (
        (await connection.execute(select(incidents).where(incidents.c.id == incident_id)))
        .one()
        ._mapping
    )
    ticket_id = incident["ticket_id"]
    merged = int(incident["merged_callers"])
    if new:
        if ticket_id is None:
            category = category_of_incident(incident["branch"], categories)
            ticket_id = await open_incident_ticket(
                connection, numbering, incident, category, at, now
            )
        merged += 1
        await connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(merged_callers=merged, ticket_id=ticket_id, updated_at=now)
        )
        await connection.execute(
            ticket_events.insert(),
            [
                {
                    "ticket_id": ticket_id,
                    "at": at,
                    "kind": MERGED_EVENT,
                    "actor": SYSTEM_ACTOR,
                    "data": {
                        "incident_id": incident_id,
                        "linkedid": linkedid,
                        "caller_num": caller_num,
                        "at": at.astimezone(UTC).isoformat(),
                        "merged_callers": merged,
                    },
                }
            ],
        )
    number = None
    if ticket_id is not None:
        number = (
            await connection.execute(select(tickets.c.number).where(tickets.c.id == ticket_id))
        ).scalar_one()
    return {
        "incident_id": incident_id,
        "ticket_number": number,
        "merged_callers": merged,
        "new": new,
    }


def _moment(value: Any, required: bool) -> datetime | None:
    if value is None:
        if required:
            raise ValueError("required")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValueError(f"not a time: {value!r}")
    if value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. +08:00 or Z)")
    try:
        value.astimezone(UTC)  # stored as UTC; 0001-01-01T00:00+14:00 has no UTC time
    except OverflowError:
        raise ValueError(f"out of range once in UTC: {value.isoformat()}") from None
    return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def reports_of(connection: AsyncConnection, incident_id: str) -> list[dict[str, Any]]:
    """The calls merged into an incident (并单), in the order they came; KeyError for an
    unknown incident."""
    found = await connection.execute(select(incidents.c.id).where(incidents.c.id == incident_id))
    if found.one_or_none() is None:
        raise KeyError(incident_id)
    rows = await connection.execute(
        select(incident_reports.c.linkedid, incident_reports.c.caller_num, incident_reports.c.at)
        .where(incident_reports.c.incident_id == incident_id)
        .order_by(incident_reports.c.at, incident_reports.c.id)
    )
    return [
        {
            "linkedid": row.linkedid,
            "caller_num": row.caller_num,
            "at": row.at.astimezone(UTC).isoformat(),
        }
        for row in rows
    ]
