"""Chasing (催办) and escalation (督办) as a sweep over the open cases.

Each sweep looks at the cases a unit holds and decides, from their timers and history alone,
what is due: ``due_soon`` (the deadline is near), ``overdue`` (past it: chased and escalated
to the supervisors), ``sign_overdue`` (not signed within the sign limit) and ``repeat`` (the
citizen called again about it: escalated). Each decision has a key — the case and what it is
about, e.g. ``overdue@2026-10-10T09:00:00+00:00`` — inserted into ``case_chases`` in the same
transaction as the chase's workflow event. So a chase is done exactly once whichever service
instance (active or standby) or restart gets there first, and nothing is missed while the
service was down: the next sweep finds what is due from the state, not from memory. A moved
deadline (an approved extension, a redo) has a new key, so it is chased again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import dialect_insert
from ticketing.models import CaseChaseRow
from ticketing.tickets import ticket_events, tickets
from ticketing.workflow.cases import apply_action
from ticketing.workflow.deadlines import CaseTimers
from ticketing.workflow.table import (
    DISPATCHED,
    EXTENSION_REQUESTED,
    IN_PROGRESS,
    REDO,
    RETURN_REQUESTED,
    SIGNED,
    SYSTEM,
    Actor,
)

case_chases = cast(Table, CaseChaseRow.__table__)

SCHEDULER = Actor("chase-scheduler", SYSTEM)
# The states in which a unit holds the case and can be chased.
CHASED_STATES = (DISPATCHED, RETURN_REQUESTED, SIGNED, IN_PROGRESS, EXTENSION_REQUESTED, REDO)
ESCALATED_LEVELS = frozenset({"overdue", "repeat"})
_REASONS = {
    "due_soon": "deadline near (即将超期)",
    "overdue": "deadline passed (已超期)",
    "sign_overdue": "not signed within the sign limit (超时未签收)",
    "repeat": "the citizen called again about it (重复来电)",
}


@dataclass(frozen=True, slots=True)
class Due:
    """One chase a case needs now."""

    case_id: int
    level: str
    about: datetime | None  # the deadline (or nothing, for a repeat)
    key: str


async def candidates(
    connection: AsyncConnection, now: datetime, due_soon: timedelta
) -> list[Mapping[str, Any]]:
    """Cases a unit holds whose deadline is near or past, not signed in time, or repeated."""
    repeats = (
        select(ticket_events.c.ticket_id, func.count().label("repeats"))
        .where(ticket_events.c.kind == "merged")
        .group_by(ticket_events.c.ticket_id)
        .subquery()
    )
    query = (
        select(tickets, func.coalesce(repeats.c.repeats, 0).label("repeats"))
        .outerjoin(repeats, repeats.c.ticket_id == tickets.c.id)
        .where(
            tickets.c.status.in_(CHASED_STATES),
            or_(
                tickets.c.due_at <= now + due_soon,
                and_(tickets.c.status == DISPATCHED, tickets.c.sign_due_at <= now),
                repeats.c.repeats > 0,
            ),
        )
        .order_by(tickets.c.id)
    )
    return [dict(row._mapping) for row in (await connection.execute(query)).all()]


def what_is_due(case: Mapping[str, Any], now: datetime, due_soon: timedelta) -> list[Due]:
    """The chases a case needs at ``now`` (pure: from its row alone)."""
    found: list[Due] = []
    case_id = int(case["id"])
    due_at: datetime | None = case["due_at"]
    if due_at is not None:
        if now >= due_at:
            found.append(Due(case_id, "overdue", due_at, f"overdue@{due_at.isoformat()}"))
        elif now >= due_at - due_soon:
            found.append(Due(case_id, "due_soon", due_at, f"due_soon@{due_at.isoformat()}"))
    sign_due: datetime | None = case["sign_due_at"]
    if case["status"] == DISPATCHED and sign_due is not None and now >= sign_due:
        found.append(Due(case_id, "sign_overdue", sign_due, f"sign_overdue@{sign_due.isoformat()}"))
    repeats = int(case.get("repeats") or 0)
    if repeats:
        found.append(Due(case_id, "repeat", None, f"repeat@{repeats}"))
    return found


async def chase_once(
    connection: AsyncConnection, due: Due, now: datetime, timers: CaseTimers | None
) -> dict[str, Any] | None:
    """Do one chase (and its escalation) unless its key is taken; the notice, else None."""
    claim = (
        dialect_insert(connection.dialect.name, case_chases)
        .values(ticket_id=due.case_id, key=due.key, at=now)
        .on_conflict_do_nothing(index_elements=["ticket_id", "key"])
        .returning(case_chases.c.id)
    )
    if (await connection.execute(claim)).first() is None:
        return None  # done already (by us before a restart, or by the other instance)
    reason = _REASONS[due.level]
    case = await apply_action(
        connection, due.case_id, "chase", SCHEDULER, {"level": due.level, "reason": reason},
        None, now, timers,
    )  # fmt: skip
    escalated = due.level in ESCALATED_LEVELS
    if escalated:
        case = await apply_action(
            connection, due.case_id, "supervise", SCHEDULER, {"reason": reason}, None, now, timers
        )
    return {
        "case_id": due.case_id,
        "number": case["number"],
        "status": case["status"],
        "level": due.level,
        "handling_unit": case["handling_unit"],
        "due_at": None if due.about is None else due.about.isoformat(),
        "at": now.isoformat(),
        "escalated": escalated,
    }
