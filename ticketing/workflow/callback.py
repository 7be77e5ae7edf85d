"""Call-back for satisfaction (回访): every answered case is a call-back task; its outcome
comes from the post-call survey, an agent's call from the call-back list, or a text reply
(SMS-style). Satisfied or basically satisfied → archived; dissatisfied → redone by the same
unit (重办); unreachable: each failed call is an attempt in the history (the task stays on
the list) until the Nth (``cases.call_back_attempts``), which records the call-back as
unreachable for a supervisor to archive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.surveys import survey_results as _surveys
from ticketing.tickets import ticket_events, tickets
from ticketing.workflow.cases import apply_action
from ticketing.workflow.deadlines import CaseTimers
from ticketing.workflow.table import ANSWERED, CLOSED, SYSTEM, Actor, InvalidFields

UNREACHABLE: Final = "unreachable"
SURVEY_ACTOR: Final = Actor("ivr-survey", SYSTEM)

SOURCES: Final = ("survey", "agent", "text")
# A text reply as citizens write it: the survey's digits, or the words.
_TEXT_ANSWERS: Final[Mapping[str, str]] = {
    "1": "satisfied",
    "2": "basically_satisfied",
    "3": "dissatisfied",
    "满意": "satisfied",
    "非常满意": "satisfied",
    "基本满意": "basically_satisfied",
    "不满意": "dissatisfied",
    "很不满意": "dissatisfied",
}
FOLLOW_UP: Final[Mapping[str, str]] = {
    "satisfied": "archive",
    "basically_satisfied": "archive",
    "dissatisfied": "redo",
}


def satisfaction_from_text(text: str) -> str:
    """``"1"``/``"满意"`` → satisfied, ``"2"``/``"基本满意"`` → basically_satisfied,
    ``"3"``/``"不满意"`` → dissatisfied; InvalidFields for anything else."""
    answer = _TEXT_ANSWERS.get(text.strip().rstrip("。!！.").strip())
    if answer is None:
        raise InvalidFields(f"call-back reply {text!r}: answer 1 满意, 2 基本满意 or 3 不满意")
    return answer


async def record_call_back(
    connection: AsyncConnection,
    case_id: int,
    actor: Actor,
    source: str,
    satisfaction: str,
    process_satisfaction: str | None,
    expected_version: int | None,
    now: datetime,
    timers: CaseTimers | None,
    attempts: int = 3,
) -> dict[str, Any]:
    """The call-back's outcome on the case, and what follows from it, in one transaction.
    ``attempts``: how many unreachable calls make the call-back "unreachable"."""
    if source not in SOURCES:
        raise InvalidFields(f"call-back source must be one of {', '.join(SOURCES)}")
    if satisfaction == UNREACHABLE:
        tried = await _failed_attempts(connection, case_id) + 1
        if tried < attempts:
            return await apply_action(
                connection, case_id, "call_back_attempt", actor,
                {"reason": f"unreachable, attempt {tried} of {attempts} (回访未接通)"},
                expected_version, now, timers,
            )  # fmt: skip
    fields: dict[str, Any] = {"satisfaction": satisfaction, "reason": f"call-back by {source}"}
    if process_satisfaction:
        fields["process_satisfaction"] = process_satisfaction
    case = await apply_action(
        connection, case_id, "call_back", actor, fields, expected_version, now, timers
    )
    follow_up = FOLLOW_UP.get(satisfaction)
    if follow_up == "redo" and case["handling_unit"] is None:
        # Answered by the hotline itself: no unit to redo it; a supervisor deals with it.
        follow_up = None
    if follow_up is not None:
        reason = "满意, archived" if follow_up == "archive" else "不满意, redone (重办)"
        case = await apply_action(
            connection, case_id, follow_up, Actor("callback", SYSTEM), {"reason": reason},
            None, now, timers,
        )  # fmt: skip
    return case


async def _failed_attempts(connection: AsyncConnection, case_id: int) -> int:
    """Unreachable call-back attempts since the case was last answered (or closed)."""
    rows = await connection.execute(
        select(ticket_events.c.kind, ticket_events.c.data)
        .where(ticket_events.c.ticket_id == case_id)
        .order_by(ticket_events.c.id)
    )
    count = 0
    for kind, data in rows:
        moved = (data or {}).get("to"), (data or {}).get("from")
        if kind == "call_back_attempt":
            count += 1
        elif moved[0] in (ANSWERED, CLOSED) and moved[0] != moved[1]:
            count = 0  # answered (again): a new call-back task
    return count


async def survey_call_back(
    connection: AsyncConnection,
    linkedid: str,
    now: datetime,
    timers: CaseTimers | None,
    attempts: int = 3,
) -> dict[str, Any] | None:
    """The post-call survey as the call-back of the call's own case, when that case waits
    for one (answered, or closed after a direct answer) and the caller rated it; else None.

    Checked before anything is written, so a survey is never lost to a workflow refusal."""
    case = (
        await connection.execute(
            select(tickets.c.id, tickets.c.status).where(tickets.c.linkedid == linkedid)
        )
    ).first()
    if case is None or case.status not in (ANSWERED, CLOSED):
        return None
    answer = (
        await connection.execute(select(_surveys.c.answer).where(_surveys.c.linkedid == linkedid))
    ).scalar_one_or_none()
    if not isinstance(answer, str) or answer not in FOLLOW_UP:  # not rated ("none"), or none
        return None
    return await record_call_back(
        connection, int(case.id), SURVEY_ACTOR, "survey", answer, None, None, now, timers,
        attempts,
    )  # fmt: skip
