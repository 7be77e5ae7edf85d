"""Registering a call (登记): the agent's form on the call's ticket, and the form's drafts.

The call's ticket is normally opened by the writer when the call's record is stored (after
the call ends); an agent registers while still talking, so registering opens the ticket
itself when it is not there yet (the writer then finds it and opens none). A call is
registered once: the form's fields land on the ticket with a ``registered`` event holding
everything the agent entered. ``ending`` records how the agent ended it, and the same
transaction hands the case to the workflow (ticketing.workflow) as that ending's action by
the agent — one path for the desk and the API, the table's rules and history for both:
to be dispatched → ``submit`` (awaits the reviewer/dispatcher), answered directly →
``answer_directly`` then ``close``, referred → ``refer`` then ``close``, invalid →
``mark_invalid`` then ``archive`` (kept as evidence).

A repeat call about the same matter is added to the caller's earlier case instead: the
workflow's ``merge`` (并单) marks the call's case merged into it and keeps the caller on the
earlier case (its ``merged`` event, which also makes the chaser escalate a repeated case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import dialect_insert
from ticketing.models import (
    TICKET_CATEGORIES,
    TICKET_ENDINGS,
    AgentRow,
    CallRecordRow,
    RegistrationDraftRow,
    UserRow,
)
from ticketing.numbering import TicketNumbering
from ticketing.tickets import ticket_events, tickets
from ticketing.workflow.callback import survey_call_back
from ticketing.workflow.cases import apply_action
from ticketing.workflow.deadlines import CaseTimers
from ticketing.workflow.table import SYSTEM, Actor, WorkflowError

drafts = cast(Table, RegistrationDraftRow.__table__)
_calls = cast(Table, CallRecordRow.__table__)
_agents = cast(Table, AgentRow.__table__)
_users = cast(Table, UserRow.__table__)

# The endings an agent picks; "merged" is set by attaching to an earlier ticket.
FORM_ENDINGS: tuple[str, ...] = tuple(e for e in TICKET_ENDINGS if e != "merged")


class RegistrationError(ValueError):
    """The registration cannot be stored as asked; ``field`` names the culprit."""

    def __init__(self, field: str, message: str, error_id: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.error_id = error_id


@dataclass(frozen=True, slots=True)
class Registration:
    """A checked registration form (the web layer validates field by field first)."""

    linkedid: str
    category: str
    content: str
    ending: str
    district: str | None = None
    address: str | None = None
    subject: str | None = None
    reply_wanted: bool = False
    anonymous: bool = False
    referred_to: str | None = None
    repeat_of: str | None = None  # the number of the caller's earlier ticket

    def __post_init__(self) -> None:
        if self.category not in TICKET_CATEGORIES:
            raise RegistrationError("category", "unknown category", "input.choice")
        if self.ending not in FORM_ENDINGS:
            raise RegistrationError("ending", "unknown ending", "input.choice")
        if self.ending == "referred" and not self.referred_to:
            raise RegistrationError(
                "referred_to", "say where the caller was referred", "input.required"
            )

    def fields(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "content": self.content,
            "ending": self.ending,
            "district": self.district,
            "address": self.address,
            "subject": self.subject,
            "reply_wanted": self.reply_wanted,
            "anonymous": self.anonymous,
            "referred_to": self.referred_to,
            "repeat_of": self.repeat_of,
        }


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the ticket of a call not stored yet is opened with (from the screen pop)."""

    caller_number: str | None
    caller_name: str | None
    priority: int | None


async def register(
    connection: AsyncConnection,
    numbering: TicketNumbering,
    form: Registration,
    username: str,
    call: CallFacts | None,
    now: datetime,
    took_call: bool | None = None,
    *,
    role: str = "agent",
    timers: CaseTimers | None = None,
    call_back_attempts: int = 3,
) -> dict[str, Any]:
    """Store the registration and take its ending's workflow steps; returns ``{"ticket":
    number, "merged_into": number | None, "ending": …, "status": the case's state}``.

    ``took_call`` says whose call it is: None, anybody's (a supervisor, a tool); True, the
    desk saw this user answer it; False, it did not — then only a stored leg of the call
    answered at this user's phone lets them register it (``registration.not_yours``).
    """
    ticket = await _ticket_of_call(connection, form.linkedid)
    if ticket is None and call is None:
        raise RegistrationError("linkedid", "no such call", "registration.unknown_call")
    if ticket is not None and ticket["registered_at"] is not None:
        raise RegistrationError(
            "linkedid", "this call is registered already", "registration.already_registered"
        )
    if took_call is False and username not in await takers_of(connection, form.linkedid):
        raise RegistrationError(
            "linkedid",
            "only the agent who took this call, or a supervisor, may register it",
            "registration.not_yours",
        )
    if ticket is None:
        assert call is not None
        ticket = await _open_ticket(connection, numbering, form.linkedid, call, now)
    if ticket["registered_at"] is not None:  # opened and registered meanwhile
        raise RegistrationError(
            "linkedid", "this call is registered already", "registration.already_registered"
        )
    earlier = None
    if form.repeat_of:
        earlier = await _earlier_ticket(connection, form.repeat_of, ticket, form)
    values: dict[str, Any] = {
        "category": form.category,
        "content": form.content,
        "district": form.district,
        "address": form.address,
        "reply_wanted": form.reply_wanted,
        "anonymous": form.anonymous,
        "ending": "merged" if earlier is not None else form.ending,
        "referred_to": form.referred_to,
        "merged_into": None if earlier is None else earlier["id"],
        "registered_by": username,
        "registered_at": now,
        "updated_at": now,
        "version": tickets.c.version + 1,
    }
    if form.subject:
        values["subject"] = form.subject
    done = await connection.execute(
        update(tickets)
        .where(tickets.c.id == ticket["id"], tickets.c.version == ticket["version"])
        .values(**values)
    )
    if done.rowcount != 1:  # changed meanwhile (the case workflow, another desk)
        raise RegistrationError(
            "linkedid", "the ticket changed meanwhile; try again", "registration.conflict"
        )
    data = {**form.fields(), "linkedid": form.linkedid}
    await connection.execute(
        ticket_events.insert(),
        [{"ticket_id": ticket["id"], "at": now, "kind": "registered", "actor": username,
          "data": data}],
    )  # fmt: skip
    case = await _to_workflow(
        connection, int(ticket["id"]), form, Actor(username, role), earlier, now, timers
    )
    # A caller who rated the call before the agent registered it: a direct answer's
    # call-back is that rating (the survey arrives as the call ends; the form may follow).
    rated = await survey_call_back(connection, form.linkedid, now, timers, call_back_attempts)
    if rated is not None:
        case = rated
    await connection.execute(
        delete(drafts).where(drafts.c.username == username, drafts.c.linkedid == form.linkedid)
    )
    return {
        "ticket": ticket["number"],
        "merged_into": None if earlier is None else earlier["number"],
        "ending": values["ending"],
        "status": case["status"],
    }


async def takers_of(connection: AsyncConnection, linkedid: str) -> set[str]:
    """The users whose phone answered a stored leg of the call: its record's member
    interface on its PBX is the one the agent table ties them to."""
    joined = _calls.join(
        _agents,
        (_agents.c.pbx == _calls.c.pbx) & (_agents.c.interface == _calls.c.member_interface),
    ).join(_users, _users.c.id == _agents.c.user_id)
    result = await connection.execute(
        select(_users.c.username)
        .select_from(joined)
        .where(_calls.c.linkedid == linkedid, _calls.c.answered_by.is_not(None))
    )
    return {row.username for row in result}


# The ending's workflow steps: the agent's action, then what the domain brief says follows
# at once (a direct answer or a referral is done, 办结; an invalid call is archived as
# evidence) — by the system, so the history tells the agent's decision from its consequence.
_ENDING_STEPS: dict[str, tuple[str, str | None]] = {
    "dispatched": ("submit", None),
    "answered_directly": ("answer_directly", "close"),
    "referred": ("refer", "close"),
    "invalid": ("mark_invalid", "archive"),
}
_ON_THE_CALL = "答复见通话录音 (answered on the call; see the recording)"


async def _to_workflow(
    connection: AsyncConnection,
    case_id: int,
    form: Registration,
    actor: Actor,
    earlier: Mapping[str, Any] | None,
    now: datetime,
    timers: CaseTimers | None,
) -> dict[str, Any]:
    """The registration's ending as workflow actions on the case (its history records them)."""
    if earlier is not None:
        action, follow_up = "merge", None
        fields: dict[str, Any] = {"into": earlier["number"], "reason": "repeat call (重复来电)"}
    else:
        action, follow_up = _ENDING_STEPS[form.ending]
        fields = {}
        if action == "answer_directly":
            fields["answer"] = _ON_THE_CALL
        elif action == "refer":
            fields["referred_to"] = form.referred_to
        elif action == "mark_invalid":
            fields["reason"] = form.subject or "invalid / harassment (无效/骚扰)"
    try:
        case = await apply_action(connection, case_id, action, actor, fields, None, now, timers)
        if follow_up is not None:
            case = await apply_action(
                connection, case_id, follow_up, Actor("registration", SYSTEM),
                {"reason": f"registered as {form.ending}"}, None, now, timers,
            )  # fmt: skip
    except WorkflowError as error:
        field = "repeat_of" if earlier is not None else "ending"
        raise RegistrationError(field, str(error), "registration.workflow") from None
    return case


async def _ticket_of_call(connection: AsyncConnection, linkedid: str) -> dict[str, Any] | None:
    result = await connection.execute(
        select(
            tickets.c.id,
            tickets.c.number,
            tickets.c.version,
            tickets.c.registered_at,
            tickets.c.caller_number,
        ).where(tickets.c.linkedid == linkedid)
    )
    row = result.first()
    return None if row is None else dict(row._mapping)


async def _open_ticket(
    connection: AsyncConnection,
    numbering: TicketNumbering,
    linkedid: str,
    call: CallFacts,
    now: datetime,
) -> dict[str, Any]:
    [number] = await numbering.allocate(connection, [now])
    row = {
        "number": number,
        "call_pbx": None,
        "call_key": None,
        "linkedid": linkedid,
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "category": "other",
        "status": "registered",
        "urgency": "urgent" if (call.priority or 0) > 0 else "normal",
        "content": "",
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    # A writer storing the call at this very moment may have opened it: then use that one.
    inserted = await connection.execute(
        dialect_insert(connection.dialect.name, tickets)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["linkedid"])
        .returning(tickets.c.id)
    )
    ticket_id = inserted.scalar_one_or_none()
    if ticket_id is None:
        found = await _ticket_of_call(connection, linkedid)
        assert found is not None
        return found
    await connection.execute(
        ticket_events.insert(),
        [{"ticket_id": ticket_id, "at": now, "kind": "created", "actor": "system",
          "data": {"number": number, "call_key": None, "status": "registered",
                   "category": "other", "opened_by": "registration"}}],
    )  # fmt: skip
    return {"id": ticket_id, "number": number, "version": 1, "registered_at": None,
            "caller_number": call.caller_number}  # fmt: skip


async def _earlier_ticket(
    connection: AsyncConnection, number: str, ticket: Mapping[str, Any], form: Registration
) -> dict[str, Any]:
    """The case a repeat is merged into (并单): the same caller's, or one about the same
    address and category (another citizen reporting the same matter)."""
    result = await connection.execute(
        select(
            tickets.c.id,
            tickets.c.number,
            tickets.c.caller_number,
            tickets.c.address,
            tickets.c.category,
        ).where(tickets.c.number == number)
    )
    row = result.first()
    if row is None or row.id == ticket["id"]:
        raise RegistrationError("repeat_of", "no such earlier ticket", "registration.repeat_of")
    same_caller = bool(ticket["caller_number"]) and row.caller_number == ticket["caller_number"]
    same_place = (
        bool(form.address) and row.address == form.address and row.category == form.category
    )
    if not (same_caller or same_place):
        raise RegistrationError(
            "repeat_of",
            "that ticket is neither this caller's nor about the same address and category",
            "registration.repeat_of",
        )
    return {"id": row.id, "number": row.number, "caller_number": row.caller_number}


# -- drafts ----------------------------------------------------------------------------


async def save_draft(
    connection: AsyncConnection,
    username: str,
    linkedid: str,
    data: Mapping[str, Any],
    now: datetime,
) -> None:
    statement = (
        dialect_insert(connection.dialect.name, drafts)
        .values(username=username, linkedid=linkedid, data=dict(data), updated_at=now)
        .on_conflict_do_update(
            index_elements=["username", "linkedid"], set_={"data": dict(data), "updated_at": now}
        )
    )
    await connection.execute(statement)


async def drafts_of(
    connection: AsyncConnection, username: str, linkedid: str | None = None
) -> list[dict[str, Any]]:
    """The user's drafts (of one call), most recently saved first."""
    query = select(drafts).where(drafts.c.username == username)
    if linkedid is not None:
        query = query.where(drafts.c.linkedid == linkedid)
    result = await connection.execute(query.order_by(drafts.c.updated_at.desc()))
    return [
        {"linkedid": row.linkedid, "data": row.data, "updated_at": row.updated_at.isoformat()}
        for row in result
    ]


async def ticket_by_number(connection: AsyncConnection, number: str) -> dict[str, Any] | None:
    result = await connection.execute(select(tickets).where(tickets.c.number == number))
    row = result.first()
    if row is None:
        return None
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in row._mapping.items()
    }
