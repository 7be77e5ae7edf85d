"""Finding calls and their recordings: the search supervisors and QA staff run (date, agent,
queue, number, outcome, duration), one call with its ticket, one call-back's message.

A recording is reached by its call's (or call-back's) id, never by a file name: callers of
this module get the stored path and decide, outside this package, whether it may be served
(hotline.recording_files checks it lies under a recordings directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.call_rows import calls
from ticketing.models import AgentRow, CallbackRow, TicketRow, UserRow
from ticketing.times import require_aware

_tickets = cast(Table, TicketRow.__table__)
_callbacks = cast(Table, CallbackRow.__table__)
_agents = cast(Table, AgentRow.__table__)
_users = cast(Table, UserRow.__table__)

MAX_RESULTS = 1000


@dataclass(frozen=True, slots=True)
class CallSearch:
    """What to look for; None means any. ``start``/``end`` bound the reporting instant."""

    start: datetime
    end: datetime
    agent: str | None = None  # a username, an agent's display name or its interface
    queue: str | None = None
    number: str | None = None  # the caller's number, or a part of it
    outcome: str | None = None
    min_talk_s: int | None = None
    max_talk_s: int | None = None
    ticket: str | None = None
    recorded_only: bool = False
    blocked_only: bool = False  # blocklisted nuisance callers the IVR turned away
    limit: int = 200


@dataclass(frozen=True, slots=True)
class Agent:
    """Who took a call, as the call record names it: the member interface and name."""

    username: str
    interface: str
    name: str
    pbx: str


_COLUMNS = (
    calls.c.id,
    calls.c.pbx,
    calls.c.linkedid,
    calls.c.uniqueid,
    calls.c.caller_num,
    calls.c.queue,
    calls.c.outcome,
    calls.c.wait_s,
    calls.c.talk_s,
    calls.c.answered_by,
    calls.c.member_interface,
    calls.c.recording,
    calls.c.recording_audio,
    calls.c.started_at,
    calls.c.answered_at,
    calls.c.ended_at,
    calls.c.counted_at,
    calls.c.vars,
    _tickets.c.number.label("ticket"),
)


def _view(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("started_at", "answered_at", "ended_at", "counted_at"):
        data[key] = data[key].isoformat() if data[key] is not None else None
    data["id"] = int(data["id"])
    return data


class RecordingIndex:
    """Read-only queries over call records, tickets and call-backs for recordings and QA."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def agent_of(self, username: str) -> Agent | None:
        """The phone tied to a user, if any: whose calls are "theirs"."""
        query = (
            select(_users.c.username, _agents.c.interface, _agents.c.name, _agents.c.pbx)
            .join(_agents, _agents.c.user_id == _users.c.id)
            .where(_users.c.username == username)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else Agent(row.username, row.interface, row.name, row.pbx)

    async def search(self, what: CallSearch) -> tuple[list[dict[str, Any]], bool]:
        """Matching calls, newest first, and whether more matched than ``limit``."""
        require_aware(what.start, "start")
        require_aware(what.end, "end")
        limit = max(1, min(what.limit, MAX_RESULTS))
        query = (
            select(*_COLUMNS)
            .outerjoin(_tickets, _tickets.c.linkedid == calls.c.linkedid)
            .where(calls.c.counted_at >= what.start, calls.c.counted_at < what.end)
        )
        if what.agent is not None:
            agent = await self.agent_of(what.agent)
            names = [what.agent] + ([agent.name] if agent else [])
            interfaces = [what.agent] + ([agent.interface] if agent else [])
            query = query.where(
                or_(calls.c.answered_by.in_(names), calls.c.member_interface.in_(interfaces))
            )
        if what.queue is not None:
            query = query.where(calls.c.queue == what.queue)
        if what.number is not None:
            query = query.where(calls.c.caller_num.contains(what.number, autoescape=True))
        if what.outcome is not None:
            query = query.where(calls.c.outcome == what.outcome)
        if what.min_talk_s is not None:
            query = query.where(calls.c.talk_s >= what.min_talk_s)
        if what.max_talk_s is not None:
            query = query.where(calls.c.talk_s <= what.max_talk_s)
        if what.ticket is not None:
            query = query.where(_tickets.c.number == what.ticket)
        if what.recorded_only:
            query = query.where(calls.c.recording.is_not(None))
        if what.blocked_only:
            # HOTLINE_CHOICE "blocked" (asterisk_conf.channel_vars), kept as ivr_choice.
            query = query.where(calls.c.ivr_choice == "blocked")
        query = query.order_by(calls.c.counted_at.desc(), calls.c.id.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_view(row) for row in rows[:limit]], len(rows) > limit

    async def call(self, call_id: int) -> dict[str, Any] | None:
        """One call record with its ticket number (None: no such call)."""
        query = (
            select(*_COLUMNS)
            .outerjoin(_tickets, _tickets.c.linkedid == calls.c.linkedid)
            .where(calls.c.id == call_id)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else _view(row)

    async def callback_message(self, callback_id: int) -> dict[str, Any] | None:
        """One call-back entry's message: its path, PBX and who holds it."""
        query = select(
            _callbacks.c.id,
            _callbacks.c.pbx,
            _callbacks.c.linkedid,
            _callbacks.c.message_path,
            _callbacks.c.claimed_by,
        ).where(_callbacks.c.id == callback_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else dict(row._mapping)


def call_is_agents(call: dict[str, Any], agent: Agent) -> bool:
    """Whether ``agent`` answered ``call`` (its interface, else its queue_log name, same PBX)."""
    if call.get("pbx") not in (None, agent.pbx):
        return False
    if call.get("member_interface"):
        return bool(call["member_interface"] == agent.interface)
    return bool(call.get("answered_by")) and call.get("answered_by") == agent.name
