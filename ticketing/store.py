"""The ticket store: call records (登记单), the ticket opened for each call, KPI exclusions.

Records come in as the JSON form of ``acd.records.CallRecord`` (``to_json()``): this package
does not import ``acd``; the field names are the contract. Saving is idempotent by the record's
key ("uniqueid#leg"), so a replay after an AMI reconnect, a writer retry or a restart never
duplicates a call, its ticket or its ticket's history.

Also here, each with its own module for rows and checks: post-call survey answers
(ticketing.surveys), major-fault incidents and merged callers (ticketing.incidents), web users
and the access log (ticketing.users).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Insert, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import migrate
from ticketing.engine import make_engine
from ticketing.incidents import (
    MERGED_EVENT,
    category_of_incident,
    incident_reports,
    incident_row,
    incident_view,
    incidents,
    updatable,
)
from ticketing.models import (
    TICKET_CATEGORIES,
    CallRecordRow,
    KpiExclusionRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
)
from ticketing.surveys import (
    SURVEY_KEY,
    check_answer,
    insert_survey,
    lock_survey_links,
    survey_event,
    survey_events_for_new_tickets,
    survey_results,
    ticket_of_call,
)
from ticketing.users import (
    access_log_table,
    access_view,
    check_role,
    check_username,
    user_view,
    users,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# The keys of CallRecord.to_json(), in its order.
RECORD_FIELDS: tuple[str, ...] = (
    "linkedid",
    "uniqueid",
    "leg",
    "caller_num",
    "caller_name",
    "ivr_digits",
    "ivr_choice",
    "ivr_path",
    "priority",
    "queue",
    "outcome",
    "wait_s",
    "talk_s",
    "answered_by",
    "member_interface",
    "agent_channel",
    "ring_no_answer",
    "hangup_by",
    "recording",
    "spied_by",
    "started_at",
    "ivr_ended_at",
    "queue_entered_at",
    "answered_at",
    "ended_at",
    "transferred_to",
    "recovered",
    "vars",
    "incident_id",
    "callback_requested",
    "language",
    "key",
)
TIME_FIELDS: tuple[str, ...] = (
    "started_at",
    "ivr_ended_at",
    "queue_entered_at",
    "answered_at",
    "ended_at",
)
_INT_FIELDS = ("priority", "wait_s", "talk_s")
_LIST_FIELDS = ("ivr_path", "ring_no_answer")

# The menu of the reference IVR (fixtures README): key -> request type. Menus are data, so a
# deployment passes its own mapping; an IVR may also set HOTLINE_CATEGORY to the name itself.
DEFAULT_CATEGORY_BY_CHOICE: dict[str, str] = {
    "1": "consultation",
    "2": "complaint",
    "3": "help",
    "4": "report",
    "5": "suggestion",
}
CATEGORY_VAR = "HOTLINE_CATEGORY"
SYSTEM_ACTOR = "system"
# Rows per INSERT statement: well below SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 200

calls = cast(Table, CallRecordRow.__table__)
tickets = cast(Table, TicketRow.__table__)
ticket_events = cast(Table, TicketEventRow.__table__)
ticket_counters = cast(Table, TicketCounterRow.__table__)
kpi_exclusions = cast(Table, KpiExclusionRow.__table__)


class TicketStore:
    """Async access to the ticket database. Create with ``await TicketStore.open(url)``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timezone: str = "Asia/Shanghai",
        ticket_prefix: str = "12345",
        categories: Mapping[str, str] | None = None,
    ) -> None:
        self._engine = engine
        self._zone = ZoneInfo(timezone)
        self._prefix = ticket_prefix
        self._categories = dict(DEFAULT_CATEGORY_BY_CHOICE if categories is None else categories)
        unknown = set(self._categories.values()) - set(TICKET_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown ticket categories {sorted(unknown)}")
        # Built once and run with lists of parameters (executemany), so SQLAlchemy compiles
        # each statement once instead of once per batch.
        self._insert_calls = (
            self._insert(calls)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(calls.c.key)
        )
        self._insert_tickets = (
            self._insert(tickets)
            .on_conflict_do_nothing(index_elements=["linkedid"])
            .returning(tickets.c.id, tickets.c.linkedid)
        )
        count_up = self._insert(ticket_counters)
        self._count_up = count_up.on_conflict_do_update(
            index_elements=["day"],
            set_={"last": ticket_counters.c.last + count_up.excluded.last},
        ).returning(ticket_counters.c.last)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        timezone: str = "Asia/Shanghai",
        ticket_prefix: str = "12345",
        categories: Mapping[str, str] | None = None,
    ) -> TicketStore:
        """Connect to ``url`` and migrate its schema to the newest revision."""
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine)
            return cls(
                engine, timezone=timezone, ticket_prefix=ticket_prefix, categories=categories
            )
        except BaseException:
            await engine.dispose()
            raise

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self._engine.connect() as connection:
                await connection.execute(select(1))
        except Exception as error:
            log.debug("database ping failed: %s", error)
            return False
        return True

    # -- calls and their tickets ----------------------------------------------------------

    async def save_calls(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Store call records, each with its ticket and 'created' event, in one transaction.

        A ticket opened for a call whose survey answer is already stored also gets its
        'survey' event here.

        Records already stored (same key) are skipped; returns how many were new. A malformed
        record raises ValueError naming it, and nothing of the batch is stored.
        """
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for record in records:
            row = call_row(record, now)
            rows.setdefault(row["key"], row)
        if not rows:
            return 0
        async with self._engine.begin() as connection:
            new_rows: list[dict[str, Any]] = []
            for chunk in _chunks(list(rows.values()), _CHUNK):
                result = await connection.execute(self._insert_calls, chunk)
                inserted = set(result.scalars())
                new_rows.extend(row for row in chunk if row["key"] in inserted)
            await self._open_tickets(connection, new_rows, now)
        return len(new_rows)

    async def _open_tickets(
        self, connection: AsyncConnection, new_rows: list[dict[str, Any]], now: datetime
    ) -> None:
        # One ticket per call: the lowest leg of a linkedid opens it, later legs join the call.
        first_leg: dict[str, dict[str, Any]] = {}
        for row in sorted(new_rows, key=lambda row: row["leg"]):
            first_leg.setdefault(row["linkedid"], row)
        for chunk in _chunks(list(first_leg.values()), _CHUNK):
            have = await connection.execute(
                select(tickets.c.linkedid).where(
                    tickets.c.linkedid.in_([row["linkedid"] for row in chunk])
                )
            )
            existing = set(have.scalars())
            todo = [row for row in chunk if row["linkedid"] not in existing]
            if not todo:
                continue
            numbers = await self._allocate_numbers(connection, todo)
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

    async def _allocate_numbers(
        self, connection: AsyncConnection, rows: list[dict[str, Any]]
    ) -> list[str]:
        days = [row["counted_at"].astimezone(self._zone).strftime("%Y%m%d") for row in rows]
        wanted: dict[str, int] = {}
        for day in days:
            wanted[day] = wanted.get(day, 0) + 1
        next_number: dict[str, int] = {}
        for day, count in sorted(wanted.items()):
            # The counter row stays locked until commit, so concurrent writers (several service
            # instances on one PostgreSQL) get disjoint blocks of numbers.
            result = await connection.execute(self._count_up, {"day": day, "last": count})
            last = result.scalar_one()
            next_number[day] = last - count + 1
        numbers = []
        for day in days:
            numbers.append(f"{self._prefix}-{day}-{next_number[day]:06d}")
            next_number[day] += 1
        return numbers

    def _ticket_row(self, call: dict[str, Any], number: str, now: datetime) -> dict[str, Any]:
        priority = call["priority"] or 0
        return {
            "number": number,
            "call_key": call["key"],
            "linkedid": call["linkedid"],
            "caller_number": call["caller_num"],
            "caller_name": call["caller_name"],
            "category": self.category_of(call),
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

    def category_of(self, call: Mapping[str, Any]) -> str:
        """The ticket category for a call: from HOTLINE_CATEGORY, else the IVR choice."""
        named = (call.get("vars") or {}).get(CATEGORY_VAR)
        if named in TICKET_CATEGORIES:
            return str(named)
        choice = call.get("ivr_choice")
        if choice in TICKET_CATEGORIES:
            return str(choice)
        return self._categories.get(str(choice), "other")

    def _insert(self, table: Table) -> Any:
        # Each dialect's own INSERT carries ON CONFLICT; both spell it the same way.
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement: Insert = dialect_insert(table)
        return statement

    async def count_calls(self) -> int:
        async with self._engine.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).select_from(calls))).scalar_one()
            )

    async def latest_call_end(self) -> float | None:
        """Epoch seconds of the latest stored call end; None when none is stored."""
        async with self._engine.connect() as connection:
            end = (await connection.execute(select(func.max(calls.c.ended_at)))).scalar_one()
        return None if end is None else float(end.timestamp())

    async def calls_between(
        self, start: datetime, end: datetime, queue: str | None = None
    ) -> list[dict[str, Any]]:
        """Calls that entered a queue (or, never queued, started) in [start, end).

        Each is a dict with the keys and value conventions of CallRecord.to_json(), plus
        ``survey``: the caller's post-call survey answer for the call, or None.
        """
        query = (
            select(calls, survey_results.c.answer.label(SURVEY_KEY))
            .outerjoin(survey_results, survey_results.c.linkedid == calls.c.linkedid)
            .where(calls.c.counted_at >= start, calls.c.counted_at < end)
        )
        if queue is not None:
            query = query.where(calls.c.queue == queue)
        query = query.order_by(calls.c.counted_at, calls.c.id)
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [
                {**record_from_row(row._mapping), SURVEY_KEY: row._mapping[SURVEY_KEY]}
                for row in result
            ]

    async def recent_tickets_for_caller(
        self, number: str, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The caller's tickets opened in the last ``days`` days, newest first (screen pop)."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        query = (
            select(tickets)
            .where(tickets.c.caller_number == number, tickets.c.created_at >= since)
            .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        )
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [_ticket_view(row._mapping) for row in result]

    async def ticket_events_for(self, number: str) -> list[dict[str, Any]]:
        """The history of one ticket (by its number), oldest first."""
        query = (
            select(ticket_events)
            .join(tickets, tickets.c.id == ticket_events.c.ticket_id)
            .where(tickets.c.number == number)
            .order_by(ticket_events.c.at, ticket_events.c.id)
        )
        async with self._engine.connect() as connection:
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

    # -- post-call surveys ------------------------------------------------------------------

    async def record_survey(
        self, linkedid: str, answer: str, at: datetime, digit: str | None = None
    ) -> bool:
        """Store a call's survey answer; True if new, False if the call had one already.

        ``answer`` is one of SURVEY_ANSWERS (ValueError otherwise). The call's ticket gets a
        ``survey`` event now if it exists, else when save_calls opens it.
        """
        check_answer(answer, digit)
        _require_aware(at, "at")
        if not linkedid:
            raise ValueError("a survey needs the call's linkedid")
        async with self._engine.begin() as connection:
            await lock_survey_links(connection)
            if not await insert_survey(connection, linkedid, answer, at, digit):
                return False
            ticket_id = await ticket_of_call(connection, linkedid)
            if ticket_id is not None:
                event = survey_event(ticket_id, {"answer": answer, "digit": digit, "at": at})
                await connection.execute(ticket_events.insert(), [event])
        return True

    # -- major-fault incidents (重大故障) and merged callers (并单) --------------------------

    async def save_incident(self, data: Mapping[str, Any]) -> None:
        """Create or update an incident from its JSON (Incident.to_json(); times ISO or aware).

        On update the stored merged-caller count and ticket are kept.
        """
        row = incident_row(data)
        now = datetime.now(UTC)
        statement = (
            self._insert(incidents)
            .values(**row, ticket_id=None, created_at=now, updated_at=now)
            .on_conflict_do_update(
                index_elements=["id"], set_={**updatable(row), "updated_at": now}
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def end_incident(self, incident_id: str, at: datetime) -> bool:
        """Mark an active incident ended at ``at``; False if it was ended already.

        KeyError for an unknown incident.
        """
        _require_aware(at, "at")
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(incidents)
                .where(incidents.c.id == incident_id, incidents.c.status == "active")
                .values(status="ended", ended_at=at, updated_at=datetime.now(UTC))
            )
            if result.rowcount:
                return True
            known = await connection.execute(
                select(incidents.c.id).where(incidents.c.id == incident_id)
            )
            if known.scalar_one_or_none() is None:
                raise KeyError(incident_id)
            return False

    async def incidents(self, active_only: bool = False) -> list[dict[str, Any]]:
        """Incidents, most recent start first, each as Incident.to_json() plus ticket_number."""
        query = select(incidents, tickets.c.number.label("ticket_number")).outerjoin(
            tickets, tickets.c.id == incidents.c.ticket_id
        )
        if active_only:
            query = query.where(incidents.c.status == "active")
        query = query.order_by(incidents.c.start.desc(), incidents.c.id)
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [incident_view(row._mapping, row.ticket_number) for row in result]

    async def merge_incident_report(
        self, incident_id: str, linkedid: str, caller_num: str | None, at: datetime
    ) -> dict[str, Any]:
        """Merge a caller's report into the incident (并单); idempotent per (incident, call).

        The first report opens the incident's ticket; every new report adds a ``merged``
        event to it. Returns {incident_id, ticket_number, merged_callers, new}. KeyError for an
        unknown incident.
        """
        _require_aware(at, "at")
        if not linkedid:
            raise ValueError("a report needs the call's linkedid")
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
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
                self._insert(incident_reports)
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
                    ticket_id = await self._open_incident_ticket(connection, incident, at, now)
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
                    await connection.execute(
                        select(tickets.c.number).where(tickets.c.id == ticket_id)
                    )
                ).scalar_one()
        return {
            "incident_id": incident_id,
            "ticket_number": number,
            "merged_callers": merged,
            "new": new,
        }

    async def _open_incident_ticket(
        self, connection: AsyncConnection, incident: Mapping[Any, Any], at: datetime, now: datetime
    ) -> int:
        [number] = await self._allocate_numbers(connection, [{"counted_at": at}])
        category = category_of_incident(incident["branch"], self._categories)
        result = await connection.execute(
            tickets.insert()
            .values(
                number=number,
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

    # -- users and the access log -----------------------------------------------------------

    async def add_user(
        self,
        username: str,
        display_name: str,
        role: str,
        password_hash: str,
        unit: str | None = None,
    ) -> int:
        """Create a user; returns its id. ValueError on a duplicate username or unknown role."""
        check_username(username)
        check_role(role)
        if not password_hash:
            raise ValueError("a user needs a password hash")
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            result = await connection.execute(
                self._insert(users)
                .values(
                    username=username,
                    display_name=display_name,
                    role=role,
                    password_hash=password_hash,
                    active=True,
                    unit=unit,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["username"])
                .returning(users.c.id)
            )
            user_id = result.scalar_one_or_none()
        if user_id is None:
            raise ValueError(f"user {username!r} exists already")
        return int(user_id)

    async def get_user(self, username: str) -> dict[str, Any] | None:
        """The user with its password_hash, role and active flag; None if there is none."""
        async with self._engine.connect() as connection:
            result = await connection.execute(select(users).where(users.c.username == username))
            row = result.one_or_none()
        return None if row is None else user_view(row._mapping, with_hash=True)

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace a user's password hash; KeyError for an unknown user."""
        if not password_hash:
            raise ValueError("a user needs a password hash")
        await self._update_user(username, password_hash=password_hash)

    async def set_active(self, username: str, active: bool) -> None:
        """Enable or disable a user's login; KeyError for an unknown user."""
        await self._update_user(username, active=bool(active))

    async def _update_user(self, username: str, **values: Any) -> None:
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(users)
                .where(users.c.username == username)
                .values(**values, updated_at=datetime.now(UTC))
            )
            if not result.rowcount:
                raise KeyError(username)

    async def list_users(self) -> list[dict[str, Any]]:
        """Every user by username, without password hashes."""
        async with self._engine.connect() as connection:
            result = await connection.execute(select(users).order_by(users.c.username))
            return [user_view(row._mapping, with_hash=False) for row in result]

    async def log_access(
        self,
        actor: str,
        role: str,
        action: str,
        target: str | None,
        detail: Mapping[str, Any] | None = None,
        remote: str | None = None,
    ) -> None:
        """Append one entry to the access log (login, playback, export, …)."""
        if not actor or not action:
            raise ValueError("an access log entry needs an actor and an action")
        async with self._engine.begin() as connection:
            await connection.execute(
                access_log_table.insert().values(
                    at=datetime.now(UTC),
                    actor=actor[:128],
                    role=role[:32],
                    action=action[:64],
                    target=target,
                    detail=dict(detail or {}),
                    remote=None if remote is None else remote[:64],
                )
            )

    async def access_log(
        self, since: datetime | None = None, actor: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Access log entries, newest first, optionally from ``since`` on and by one actor."""
        query = select(access_log_table)
        if since is not None:
            _require_aware(since, "since")
            query = query.where(access_log_table.c.at >= since)
        if actor is not None:
            query = query.where(access_log_table.c.actor == actor)
        query = query.order_by(access_log_table.c.at.desc(), access_log_table.c.id.desc())
        query = query.limit(max(0, limit))
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [access_view(row._mapping) for row in result]

    # -- KPI exclusion windows -------------------------------------------------------------

    async def add_exclusion(
        self, start: datetime, end: datetime, reason: str, created_by: str
    ) -> int:
        """Record a window whose calls the call KPIs leave out; returns its id."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            raise ValueError(f"exclusion window ends ({end}) before it starts ({start})")
        if not reason.strip():
            raise ValueError("an exclusion window needs a reason")
        async with self._engine.begin() as connection:
            result = await connection.execute(
                kpi_exclusions.insert()
                .values(
                    starts_at=start,
                    ends_at=end,
                    reason=reason,
                    created_by=created_by,
                    created_at=datetime.now(UTC),
                )
                .returning(kpi_exclusions.c.id)
            )
            return int(result.scalar_one())

    async def exclusions_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, str]]:
        """Exclusion windows overlapping [start, end), by start time."""
        query = (
            select(kpi_exclusions.c.starts_at, kpi_exclusions.c.ends_at, kpi_exclusions.c.reason)
            .where(kpi_exclusions.c.starts_at < end, kpi_exclusions.c.ends_at > start)
            .order_by(kpi_exclusions.c.starts_at, kpi_exclusions.c.id)
        )
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [(row.starts_at, row.ends_at, row.reason) for row in result]


# -- record <-> row ---------------------------------------------------------------------------


def call_row(record: Mapping[str, Any], stored_at: datetime) -> dict[str, Any]:
    """The call_records row for a CallRecord JSON dict; ValueError names what is wrong."""
    try:
        linkedid = _text(record, "linkedid", required=True)
        uniqueid = _text(record, "uniqueid", required=True)
        leg = record.get("leg", 0)
        if isinstance(leg, bool) or not isinstance(leg, int) or leg < 0:
            raise ValueError(f"leg must be a non-negative integer, got {leg!r}")
        key = f"{uniqueid}#{leg}"
        if record.get("key", key) != key:
            raise ValueError(f"key {record.get('key')!r} is not uniqueid#leg ({key!r})")
        row: dict[str, Any] = {"key": key, "linkedid": linkedid, "uniqueid": uniqueid, "leg": leg}
        for name in (
            "caller_num",
            "caller_name",
            "ivr_digits",
            "ivr_choice",
            "queue",
            "outcome",
            "answered_by",
            "member_interface",
            "agent_channel",
            "hangup_by",
            "recording",
            "spied_by",
            "transferred_to",
            "incident_id",
            "language",
        ):
            row[name] = _text(record, name)
        for name in _INT_FIELDS:
            row[name] = _integer(record, name)
        for name in _LIST_FIELDS:
            value = record.get(name) or []
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"{name} must be a list of strings, got {value!r}")
            row[name] = list(value)
        variables = record.get("vars") or {}
        if not isinstance(variables, Mapping):
            raise ValueError(f"vars must be an object, got {variables!r}")
        row["vars"] = {str(name): str(value) for name, value in variables.items()}
        row["recovered"] = bool(record.get("recovered", False))
        callback = record.get("callback_requested", False)
        if callback is None:
            callback = False
        if not isinstance(callback, bool):
            raise ValueError(f"callback_requested must be true or false, got {callback!r}")
        row["callback_requested"] = callback
        for name in TIME_FIELDS:
            row[name] = _instant(record, name)
        _check_lengths(row)
    except ValueError as error:
        raise ValueError(
            f"call record {record.get('key') or record.get('uniqueid')!r}: {error}"
        ) from None
    row["counted_at"] = row["queue_entered_at"] or row["started_at"] or row["ended_at"] or stored_at
    row["stored_at"] = stored_at
    return row


def record_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The CallRecord JSON dict of a call_records row (timestamps back to epoch floats)."""
    record = {name: row[name] for name in RECORD_FIELDS}
    for name in TIME_FIELDS:
        value = record[name]
        record[name] = None if value is None else value.timestamp()
    record["ivr_path"] = list(record["ivr_path"] or [])
    record["ring_no_answer"] = list(record["ring_no_answer"] or [])
    record["vars"] = dict(record["vars"] or {})
    record["recovered"] = bool(record["recovered"])
    record["callback_requested"] = bool(record["callback_requested"])
    return record


def _ticket_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    view = {
        name: row[name]
        for name in (
            "id",
            "number",
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
    }
    for name in ("due_at", "created_at", "updated_at"):
        value = row[name]
        view[name] = None if value is None else value.isoformat()
    return view


def _text(record: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is missing")
        return None if value is None else ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _integer(record: Mapping[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _instant(record: Mapping[str, Any], name: str) -> datetime | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be epoch seconds, got {value!r}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{name} is not a usable epoch time: {value!r}") from None


def _check_lengths(row: Mapping[str, Any]) -> None:
    # PostgreSQL would refuse an over-long value and SQLite would keep it: refuse it on both.
    for column in calls.columns:
        limit = getattr(column.type, "length", None)
        value = row.get(column.name)
        if limit and isinstance(value, str) and len(value) > limit:
            raise ValueError(f"{column.name} is longer than {limit} characters")


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
