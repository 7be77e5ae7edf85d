"""Call-back for satisfaction (回访): every answered case is a call-back task; its outcome
comes from the post-call survey, an agent's call from the call-back list, or a text reply
(SMS-style). Satisfied or basically satisfied → archived; dissatisfied → redone by the same
unit (重办); unreachable after the attempts → archived by a supervisor's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.workflow.cases import apply_action
from ticketing.workflow.deadlines import CaseTimers
from ticketing.workflow.table import SYSTEM, Actor, InvalidFields

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
) -> dict[str, Any]:
    """The call-back's outcome on the case, and what follows from it, in one transaction."""
    if source not in SOURCES:
        raise InvalidFields(f"call-back source must be one of {', '.join(SOURCES)}")
    fields: dict[str, Any] = {"satisfaction": satisfaction, "reason": f"call-back by {source}"}
    if process_satisfaction:
        fields["process_satisfaction"] = process_satisfaction
    case = await apply_action(
        connection, case_id, "call_back", actor, fields, expected_version, now, timers
    )
    follow_up = FOLLOW_UP.get(satisfaction)
    if follow_up is not None:
        reason = "满意, archived" if follow_up == "archive" else "不满意, redone (重办)"
        case = await apply_action(
            connection, case_id, follow_up, Actor("callback", SYSTEM), {"reason": reason},
            None, now, timers,
        )  # fmt: skip
    return case
