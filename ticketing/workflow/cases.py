"""Cases in the database: each action of the table (ticketing.workflow.table) applied to a
ticket row, inside the caller's transaction.

One action is one UPDATE of the ticket guarded by its version (optimistic locking: whoever
read an older version gets VersionConflict, and nothing changes) and one appended
``ticket_events`` row carrying the actor, the time, the states before and after and the
action's fields (reason, attachments by reference, …). The status column is the state derived
from those events (``derive_state``), kept up to date in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.numbering import TicketNumbering
from ticketing.ticket_queries import CASE_TIME_FIELDS, ticket_view
from ticketing.tickets import ticket_events, tickets
from ticketing.units import find_unit, unit_and_descendants
from ticketing.workflow.deadlines import CaseTimers
from ticketing.workflow.table import (
    CATEGORIES,
    CLOSED,
    INVALID,
    MERGED,
    REGISTERED,
    REGISTRATION_FIELDS,
    TERMINAL,
    URGENCIES,
    Actor,
    CaseFacts,
    ForbiddenTransition,
    InvalidFields,
    Step,
    WorkflowError,
    step,
)

FACT_COLUMNS = tuple(CaseFacts.__dataclass_fields__)
# Done with, for an inbox: nothing is left for a unit or the desk to do.
FINISHED = frozenset({CLOSED, INVALID})


class CaseNotFound(KeyError):
    """No case with that id or number."""

    code = "workflow.not_found"


class VersionConflict(WorkflowError):
    """Someone acted on the case since the caller read it: reload and decide again."""

    code = "workflow.conflict"

    def __init__(self, case_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"case {case_id} is at version {current}, not {expected}: someone acted on it"
            " meanwhile; reload it"
        )
        self.case_id = case_id
        self.expected = expected
        self.current = current


def facts_of(row: Mapping[Any, Any]) -> CaseFacts:
    return CaseFacts(
        status=row["status"],
        handling_unit=row["handling_unit"],
        first_unit=row["first_unit"],
        co_units=tuple(row["co_units"] or ()),
        supervised=bool(row["supervised"]),
        extensions=int(row["extensions"] or 0),
        return_rejected=bool(row["return_rejected"]),
        merged_into_case=row["merged_into_case"],
        last_satisfaction=row["last_satisfaction"],
    )


def case_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A ticket row with its workflow facts, as JSON-ready values."""
    view = ticket_view(row)
    # Where the matter is: the unit needs it to act, the desk to find duplicates (并单).
    view["address"] = row["address"]
    facts = asdict(facts_of(row))
    facts["co_units"] = list(facts["co_units"])
    view.update(facts)
    for name in CASE_TIME_FIELDS:
        value = row[name]
        view[name] = None if value is None else value.isoformat()
    return view


def derive_state(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The state a case's history leads to (oldest event first): the status column must
    always equal it."""
    state: str | None = None
    for event in events:
        data = event.get("data") or {}
        if event.get("kind") == "created":
            state = data.get("status", REGISTERED)
        elif "to" in data:
            state = data["to"]
    return state


async def _locked_row(connection: AsyncConnection, case_id: int) -> Mapping[Any, Any]:
    query = select(tickets).where(tickets.c.id == case_id)
    if connection.dialect.name == "postgresql":
        # Two writers queue here instead of both passing the version check.
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return row._mapping


async def case_id_by_number(connection: AsyncConnection, number: str) -> int:
    found = await connection.execute(select(tickets.c.id).where(tickets.c.number == number))
    case_id = found.scalar_one_or_none()
    if case_id is None:
        raise CaseNotFound(f"no case numbered {number!r}")
    return int(case_id)


async def read_case(connection: AsyncConnection, case_id: int) -> dict[str, Any]:
    row = (await connection.execute(select(tickets).where(tickets.c.id == case_id))).first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return case_view(row._mapping)


async def apply_action(
    connection: AsyncConnection,
    case_id: int,
    action: str,
    actor: Actor,
    fields: Mapping[str, Any],
    expected_version: int | None,
    now: datetime,
    timers: CaseTimers | None = None,
) -> dict[str, Any]:
    """Do ``action`` to the case; returns the case after it, with ``event`` (the appended
    history row). ForbiddenTransition / InvalidFields / VersionConflict / CaseNotFound leave
    everything as it was (the caller's transaction rolls back)."""
    row = await _locked_row(connection, case_id)
    version = int(row["version"])
    if expected_version is not None and expected_version != version:
        raise VersionConflict(case_id, expected_version, version)
    done = step(facts_of(row), action, actor, fields)
    if action == "dispatch":
        await _check_units(connection, [done.after.handling_unit or "", *done.after.co_units])
    if action == "merge":
        await _merge_into_target(connection, row, done, actor, now)
    timer_values = await _timers_after(connection, row, done, actor, now, timers)
    values: dict[str, Any] = {
        name: getattr(done.after, name) for name in FACT_COLUMNS if name != "status"
    }
    values["co_units"] = list(done.after.co_units)
    values["status"] = done.after.status
    values["version"] = version + 1
    values["updated_at"] = now
    values.update({k: v for k, v in done.fields.items() if k in REGISTRATION_FIELDS})
    values.update(timer_values)
    updated = await connection.execute(
        tickets.update()
        .where(tickets.c.id == case_id, tickets.c.version == version)
        .values(**values)
    )
    if updated.rowcount != 1:  # pragma: no cover - the row lock / SQLite's writer lock
        raise VersionConflict(case_id, version, version + 1)
    data = _event_data(done, actor, version + 1)
    if timer_values:
        data["timers"] = {k: v.isoformat() for k, v in timer_values.items()}
    event = {"ticket_id": case_id, "at": now, "kind": action, "actor": actor.name, "data": data}
    await connection.execute(ticket_events.insert(), [event])
    case = await read_case(connection, case_id)
    case["event"] = {**event, "at": now.isoformat()}
    return case


async def _check_units(connection: AsyncConnection, names: list[str]) -> None:
    """Cases go to handling units that exist and are active (ticketing.units)."""
    for name in names:
        unit = await find_unit(connection, name)
        if unit is None or not unit["active"]:
            raise InvalidFields(
                f"dispatch: no active handling unit {name!r} (add it: hotline unit add)"
            )


async def _timers_after(
    connection: AsyncConnection,
    row: Mapping[Any, Any],
    done: Step,
    actor: Actor,
    now: datetime,
    timers: CaseTimers | None,
) -> dict[str, datetime]:
    """The deadlines the action sets or moves; ForbiddenTransition when the deadline rules
    forbid it (a return after its window, an extension beyond the rules)."""
    action = done.transition.action
    state = row["status"]
    category = done.fields.get("category") or row["category"]
    urgency = done.fields.get("urgency") or row["urgency"]
    if action == "return" and row["return_until"] is not None and now > row["return_until"]:
        closed = row["return_until"].isoformat()
        raise ForbiddenTransition(
            state,
            action,
            actor.role,
            f"the return window closed at {closed}; it counts as accepted",
        )
    if timers is None:
        return {}
    if action == "dispatch":
        return timers.on_dispatch(category, urgency, now)
    if action == "redo":
        return {"due_at": timers.redo_due(category, urgency, now)}
    if action in ("request_extension", "approve_extension"):
        days = done.fields.get("days") or await _requested_days(connection, row["id"])
        problem = timers.extension_problem(category, urgency, int(row["extensions"] or 0), days)
        if problem is not None:
            raise ForbiddenTransition(state, action, actor.role, problem)
        if action == "approve_extension" and row["due_at"] is not None:
            return {"due_at": timers.extended(row["due_at"], days)}
    return {}


async def _requested_days(connection: AsyncConnection, case_id: int) -> int:
    """The days asked for by the case's latest extension request."""
    found = await connection.execute(
        select(ticket_events.c.data)
        .where(ticket_events.c.ticket_id == case_id, ticket_events.c.kind == "request_extension")
        .order_by(ticket_events.c.id.desc())
        .limit(1)
    )
    data = found.scalar_one_or_none() or {}
    return int(data.get("fields", {}).get("days") or 1)


def _event_data(done: Step, actor: Actor, version: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "from": done.before.status,
        "to": done.after.status,
        "role": actor.role,
        "version": version,
        "fields": dict(done.fields),
    }
    if actor.unit:
        data["unit"] = actor.unit
    # The units that had the case until now (a return approved takes it from them): so those
    # watching it (the live console, ticketing.workflow.cases.case_changes_after) hear of it.
    before = {done.before.handling_unit, *done.before.co_units} - {None}
    left = before - {done.after.handling_unit, *done.after.co_units}
    if left:
        data["units_before"] = sorted(u for u in left if u is not None)
    return data


async def _merge_into_target(
    connection: AsyncConnection, row: Mapping[Any, Any], done: Step, actor: Actor, now: datetime
) -> None:
    """并单: the target case keeps the merged case's caller in its history."""
    number = done.fields["into"]
    if number == row["number"]:
        raise InvalidFields("merge: a case cannot be merged into itself")
    target = (await connection.execute(select(tickets).where(tickets.c.number == number))).first()
    if target is None:
        raise InvalidFields(f"merge: no case numbered {number!r}")
    if target.status in TERMINAL:
        raise InvalidFields(f"merge: case {number} is {target.status}; merge into an open case")
    await connection.execute(
        ticket_events.insert(),
        [
            {
                "ticket_id": target.id,
                "at": now,
                "kind": "merged",
                "actor": actor.name,
                "data": {
                    "case": row["number"],
                    "caller_num": row["caller_number"],
                    "caller_name": row["caller_name"],
                    "reason": done.fields.get("reason"),
                },
            }
        ],
    )
    assert done.after.status == MERGED


def registration_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The registration of a new case, checked: category, urgency, subject, content, …"""
    unknown = sorted(set(fields) - {*REGISTRATION_FIELDS, "caller_number"})
    if unknown:
        raise InvalidFields(f"register: unknown field(s) {', '.join(unknown)}")
    values = {name: fields.get(name) for name in (*REGISTRATION_FIELDS, "caller_number")}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise InvalidFields(f"register: {name} must be a text")
    values["category"] = values["category"] or "other"
    values["urgency"] = values["urgency"] or "normal"
    if values["category"] not in CATEGORIES:
        raise InvalidFields(f"register: category must be one of {', '.join(CATEGORIES)}")
    if values["urgency"] not in URGENCIES:
        raise InvalidFields(f"register: urgency must be one of {', '.join(URGENCIES)}")
    values["content"] = values["content"] or ""
    return values


async def register_case(
    connection: AsyncConnection,
    numbering: TicketNumbering,
    actor: Actor,
    fields: Mapping[str, Any],
    at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Open a case not tied to a call (a walk-in, a letter, the web): registered, version 1,
    with its 'created' event by ``actor``."""
    values = registration_values(fields)
    [number] = await numbering.allocate(connection, [at])
    result = await connection.execute(
        tickets.insert()
        .values(
            number=number,
            status=REGISTERED,
            created_at=at,
            updated_at=now,
            version=1,
            co_units=[],
            **values,
        )
        .returning(tickets.c.id)
    )
    case_id = int(result.scalar_one())
    created = {
        "number": number,
        "call_key": None,
        "status": REGISTERED,
        "category": values["category"],
        "role": actor.role,
    }
    await connection.execute(
        ticket_events.insert(),
        [{"ticket_id": case_id, "at": at, "kind": "created", "actor": actor.name,
          "data": created}],
    )  # fmt: skip
    return await read_case(connection, case_id)


async def case_history(connection: AsyncConnection, case_id: int) -> list[dict[str, Any]]:
    """The case's events, oldest first."""
    result = await connection.execute(
        select(ticket_events)
        .where(ticket_events.c.ticket_id == case_id)
        # Append order: the order the transitions happened in, whatever their clocks said.
        .order_by(ticket_events.c.id)
    )
    return [
        {
            "id": row.id,
            "at": row.at.isoformat(),
            "kind": row.kind,
            "actor": row.actor,
            "data": row.data,
        }
        for row in result
    ]


async def unit_inbox(
    connection: AsyncConnection, unit: str, *, with_sub_units: bool = False
) -> list[dict[str, Any]]:
    """The unfinished cases a unit (and, ``with_sub_units``, any unit under it) leads or
    co-handles, the soonest due first."""
    names = await unit_and_descendants(connection, unit) if with_sub_units else [unit]
    # co_units is a JSON list: match the unit as a JSON string in its text, as each dialect
    # writes it (SQLite keeps SQLAlchemy's ASCII-escaped JSON, PostgreSQL JSONB prints UTF-8).
    ascii_only = connection.dialect.name != "postgresql"
    co_unit_matches = [
        cast(tickets.c.co_units, Text).like(_like_pattern(json.dumps(n, ensure_ascii=ascii_only)),
                                            escape="\\")
        for n in names
    ]  # fmt: skip
    query = (
        select(tickets)
        .where(
            tickets.c.status.not_in(sorted(TERMINAL | FINISHED)),
            or_(tickets.c.handling_unit.in_(names), *co_unit_matches),
        )
        .order_by(tickets.c.due_at.is_(None), tickets.c.due_at, tickets.c.id)
    )
    rows = (await connection.execute(query)).all()
    return [case_view(row._mapping) for row in rows]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def similar_cases(
    connection: AsyncConnection, case_id: int, since: datetime, limit: int = 20
) -> list[dict[str, Any]]:
    """Open cases opened since ``since`` from the same number, or about the same address and
    category, as the case: offered to the desk for a merge (并单), newest first."""
    row = (await connection.execute(select(tickets).where(tickets.c.id == case_id))).first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    same = []
    if row.caller_number:
        same.append(tickets.c.caller_number == row.caller_number)
    if row.address:
        same.append(and_(tickets.c.address == row.address, tickets.c.category == row.category))
    if not same:
        return []
    query = (
        select(tickets)
        .where(
            tickets.c.id != case_id,
            tickets.c.created_at >= since,
            tickets.c.status.not_in(sorted(TERMINAL)),
            or_(*same),
        )
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(limit)
    )
    rows = (await connection.execute(query)).all()
    found = []
    for other in rows:
        view = case_view(other._mapping)
        view["same_caller"] = bool(row.caller_number) and other.caller_number == row.caller_number
        view["same_place"] = bool(row.address) and other.address == row.address
        found.append(view)
    return found


async def cases_about_place(
    connection: AsyncConnection, address: str, category: str, since: datetime, limit: int = 20
) -> list[dict[str, Any]]:
    """Open cases opened since ``since`` about ``address`` in ``category``: what the desk
    offers for a merge (并单) while the agent types a new registration, newest first."""
    query = (
        select(tickets)
        .where(
            tickets.c.address == address.strip(),
            tickets.c.category == category,
            tickets.c.created_at >= since,
            tickets.c.status.not_in(sorted(TERMINAL)),
        )
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(limit)
    )
    return [case_view(row._mapping) for row in await connection.execute(query)]


async def case_changes_after(
    connection: AsyncConnection, after: int | None, limit: int = 500
) -> tuple[int, list[dict[str, Any]]]:
    """What happened to cases since history event ``after``: the last event id and, per case
    whose history grew, its number, state, units and latest event kind (oldest first). With
    ``after`` None only the last id: a watcher starts from now. Every change to a case appends
    an event in the same transaction, so this sees changes made by any process."""
    if after is None:
        last = (await connection.execute(select(func.max(ticket_events.c.id)))).scalar()
        return int(last or 0), []
    query = (
        select(ticket_events.c.id, ticket_events.c.kind, ticket_events.c.data, tickets.c.number,
               tickets.c.status, tickets.c.handling_unit, tickets.c.co_units)
        .join(tickets, tickets.c.id == ticket_events.c.ticket_id)
        .where(ticket_events.c.id > after)
        .order_by(ticket_events.c.id)
        .limit(limit)
    )  # fmt: skip
    changed: dict[str, dict[str, Any]] = {}
    last = after
    for row in await connection.execute(query):
        last = row.id
        earlier = changed.pop(row.number, None)  # keep the order of each case's latest event
        # Units that just lost the case hear of it too (their list must drop it).
        gone = {*(earlier or {}).get("units_before", ()), *(row.data or {}).get("units_before", ())}
        changed[row.number] = {
            "number": row.number,
            "kind": row.kind,
            "status": row.status,
            "handling_unit": row.handling_unit,
            "co_units": list(row.co_units or ()),
            "units_before": sorted(gone),
        }
    return last, list(changed.values())


async def cases_referencing(connection: AsyncConnection, ref: str) -> list[dict[str, Any]]:
    """The cases whose history names ``ref`` (an attachment's reference), as case views."""
    ids = select(ticket_events.c.ticket_id).where(
        cast(ticket_events.c.data, Text).like(_like_pattern(ref), escape="\\")
    )
    rows = (await connection.execute(select(tickets).where(tickets.c.id.in_(ids)))).all()
    return [case_view(row._mapping) for row in rows]


async def recent_chases(connection: AsyncConnection, limit: int = 200) -> list[dict[str, Any]]:
    """The latest chases (催办) and supervisions (督办), newest first, with their case."""
    query = (
        select(ticket_events, tickets.c.number, tickets.c.status, tickets.c.handling_unit,
               tickets.c.due_at, tickets.c.category)
        .join(tickets, tickets.c.id == ticket_events.c.ticket_id)
        .where(ticket_events.c.kind.in_(("chase", "supervise")))
        .order_by(ticket_events.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    chases = []
    for row in await connection.execute(query):
        fields = (row.data or {}).get("fields", {})
        chases.append(
            {
                "number": row.number,
                "kind": row.kind,
                "at": row.at.isoformat(),
                "actor": row.actor,
                "level": fields.get("level"),
                "reason": fields.get("reason"),
                "status": row.status,
                "category": row.category,
                "handling_unit": row.handling_unit,
                "due_at": None if row.due_at is None else row.due_at.isoformat(),
            }
        )
    return chases


async def open_cases(
    connection: AsyncConnection, status: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Unfinished cases (of one state), the soonest due first; at most ``limit``."""
    query = select(tickets)
    if status:
        query = query.where(tickets.c.status == status)
    else:
        query = query.where(tickets.c.status.not_in(sorted(TERMINAL | FINISHED)))
    query = query.order_by(tickets.c.due_at.is_(None), tickets.c.due_at, tickets.c.id).limit(limit)
    rows = (await connection.execute(query)).all()
    return [case_view(row._mapping) for row in rows]
