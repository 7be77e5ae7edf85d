"""The ticket store: call records (登记单), the ticket opened for each call, KPI exclusions.

Records come in as the JSON form of ``acd.records.CallRecord`` (``to_json()``): this package
does not import ``acd``; the field names are the contract. Saving is idempotent by the record's
PBX and key ("uniqueid#leg"), so a replay after an AMI reconnect, a writer retry or a restart never
duplicates a call, its ticket or its ticket's history.

``TicketStore`` is the one way in: it checks arguments, opens the connection or transaction
and hands it to the module that does the work — ticketing.call_rows (record <-> row),
ticketing.call_inserts and ticketing.call_queries (storing and reading calls),
ticketing.tickets and ticketing.numbering (opening tickets and numbering them),
ticketing.ticket_queries (reading tickets), ticketing.exclusions (KPI exclusion windows),
ticketing.surveys (post-call survey answers), ticketing.incidents (major-fault incidents and
merged callers), ticketing.users (web users and the access log) and ticketing.workflow (the
case lifecycle: actions on cases, their history).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import (
    call_queries,
    exclusions,
    migrate,
    registrations,
    ticket_queries,
    units,
    users,
)
from ticketing.call_inserts import CallInserter
from ticketing.call_rows import RECORD_FIELDS, TIME_FIELDS, call_row, calls, record_from_row
from ticketing.engine import make_engine
from ticketing.exclusions import kpi_exclusions
from ticketing.incidents import (
    incident_row,
    list_incidents,
    mark_ended,
    merge_report,
    reports_of,
    upsert_incident,
)
from ticketing.numbering import TicketNumbering, ticket_counters
from ticketing.sqlite_guard import DatabaseFileGone, SqliteFileGuard, sqlite_file
from ticketing.surveys import check_answer, store_survey
from ticketing.tickets import (
    CATEGORY_VAR,
    DEFAULT_CATEGORY_BY_CHOICE,
    SYSTEM_ACTOR,
    CallTickets,
    category_of,
    checked_categories,
    ticket_events,
    tickets,
)
from ticketing.times import require_aware
from ticketing.workflow import callback, case_kpis, chasing, policy_changes
from ticketing.workflow import cases as workflow_cases
from ticketing.workflow.deadlines import CaseTimers, policy
from ticketing.workflow.table import Actor, WorkflowError
from working_days import WorkingCalendar
from working_days.business import BusinessHours, WorkingTime

# Re-exported: code and tests import these from here.
__all__ = [
    "CATEGORY_VAR",
    "DEFAULT_CATEGORY_BY_CHOICE",
    "RECORD_FIELDS",
    "SYSTEM_ACTOR",
    "TIME_FIELDS",
    "TicketStore",
    "call_row",
    "calls",
    "kpi_exclusions",
    "record_from_row",
    "ticket_counters",
    "ticket_events",
    "tickets",
]

log = logging.getLogger(__name__)


class TicketStore:
    """Async access to the ticket database. Create with ``await TicketStore.open(url)``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timezone: str = "Asia/Shanghai",
        ticket_prefix: str = "12345",
        categories: Mapping[str, str] | None = None,
        timers: CaseTimers | None = None,
        call_back_attempts: int = 3,
    ) -> None:
        self._engine = engine
        # Unreachable call-backs before one counts as "unreachable" (cases.call_back_attempts).
        if call_back_attempts < 1:
            raise ValueError("call_back_attempts must be at least 1")
        self._call_back_attempts = call_back_attempts
        # The case deadlines: the county preset on the Chinese calendar unless told otherwise.
        # The newest run-time policy change, as timers, by its id (policy_changes).
        self._changed_timers: tuple[int, CaseTimers] | None = None
        self._timers = timers or CaseTimers(
            WorkingTime(WorkingCalendar(), BusinessHours(timezone=timezone)), policy("county")
        )
        # Set by open() for a SQLite file: notices the file deleted or replaced under us.
        self._file_guard: SqliteFileGuard | None = None
        zone = ZoneInfo(timezone)
        self._categories = checked_categories(categories)
        self._numbering = TicketNumbering(self.dialect, zone, ticket_prefix)
        self._call_inserter = CallInserter(self.dialect)
        self._call_tickets = CallTickets(self.dialect, self._numbering, self._categories)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        timezone: str = "Asia/Shanghai",
        ticket_prefix: str = "12345",
        categories: Mapping[str, str] | None = None,
        timers: CaseTimers | None = None,
        call_back_attempts: int = 3,
    ) -> TicketStore:
        """Connect to ``url`` and migrate its schema to the newest revision."""
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine)
            store = cls(
                engine,
                timezone=timezone,
                ticket_prefix=ticket_prefix,
                categories=categories,
                timers=timers,
                call_back_attempts=call_back_attempts,
            )
            path = sqlite_file(url)
            if path is not None:
                store._file_guard = SqliteFileGuard(path)
                store._file_guard.remember()
            return store
        except BaseException:
            await engine.dispose()
            raise

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def timers(self) -> CaseTimers:
        """The settings' deadline policy and the working time (a run-time policy change,
        ``set_case_policy``, takes over the policy inside each action's transaction)."""
        return self._timers

    async def _timers_in(self, connection: AsyncConnection) -> CaseTimers:
        """The timers in force: the newest run-time policy change, else the settings'."""
        change = await policy_changes.latest_change(connection)
        if change is None:
            return self._timers
        cached = self._changed_timers
        if cached is None or cached[0] != change["id"]:
            built = policy_changes.build_policy(change["preset"], change["changes"])
            cached = self._changed_timers = (int(change["id"]), replace(self._timers, policy=built))
        return cached[1]

    async def case_policy(self) -> dict[str, Any]:
        """The deadline policy in force, where it comes from, and its change history."""
        async with self._engine.connect() as connection:
            timers = await self._timers_in(connection)
            history = await policy_changes.change_history(connection)
        return {
            "policy": policy_changes.policy_view(timers.policy),
            "source": "changed" if history else "settings",
            "history": history,
        }

    async def set_case_policy(
        self, actor: str, preset: str, changes: Mapping[str, Any], reason: str
    ) -> dict[str, Any]:
        """Put a policy in force now (appended to its history); ValueError when it is not
        one (a bad limit, an unknown category or preset, no reason)."""
        async with self._writing() as connection:
            await policy_changes.append_change(
                connection, actor, preset, changes, reason, datetime.now(UTC)
            )
        return await self.case_policy()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers a trivial query (and its SQLite file is there)."""
        try:
            await self._check_file()
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

        Records already stored (same PBX and key) are skipped; returns how many were new. A
        malformed record raises ValueError naming it, and nothing of the batch is stored.
        """
        now = datetime.now(UTC)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            row = call_row(record, now)
            rows.setdefault((row["pbx"], row["key"]), row)
        if not rows:
            return 0
        async with self._writing() as connection:
            new_rows = await self._call_inserter.insert_new(connection, list(rows.values()))
            await self._call_tickets.open_for(connection, new_rows, now)
        return len(new_rows)

    def file_problem(self) -> str | None:
        """Why the SQLite file cannot be written now (gone), for /healthz; else None.

        A cheap stat, no query: health() asks on every request.
        """
        guard = self._file_guard
        if guard is None:
            return None
        try:
            guard.changed()  # a replaced file is fine: the next write reopens it
        except DatabaseFileGone as error:
            return str(error)
        return None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, on the SQLite file the store opened (see sqlite_guard).

        A write that committed to a file which left its path meanwhile is as good as lost:
        DatabaseFileGone says so (an OSError: callers keep the data and retry; the writes
        are idempotent, so the retry stores it in the file that is there).
        """
        await self._check_file()
        async with self._engine.begin() as connection:
            yield connection
        guard = self._file_guard
        if guard is not None and guard.changed():
            raise DatabaseFileGone(f"SQLite database file {guard.path} changed during a write")

    async def _check_file(self) -> None:
        """DatabaseFileGone if the SQLite file left its path; reopen it if it was replaced."""
        guard = self._file_guard
        if guard is None or not guard.changed():
            return
        log.warning("SQLite database file %s was replaced: reopening it", guard.path)
        await self._engine.dispose()
        await migrate.upgrade(self._engine)
        guard.remember()

    def category_of(self, call: Mapping[str, Any]) -> str:
        """The ticket category for a call: from HOTLINE_CATEGORY, else the IVR choice."""
        return category_of(call, self._categories)

    async def count_calls(self) -> int:
        async with self._engine.connect() as connection:
            return await call_queries.count_calls(connection)

    async def latest_call_end(self, pbx: str | None = None) -> float | None:
        """Epoch seconds of the latest stored call end (of one PBX); None when none is stored."""
        async with self._engine.connect() as connection:
            return await call_queries.latest_call_end(connection, pbx)

    async def calls_between(
        self, start: datetime, end: datetime, queue: str | None = None, pbx: str | None = None
    ) -> list[dict[str, Any]]:
        """Calls that entered a queue (or, never queued, started) in [start, end).

        Each is a dict with the keys and value conventions of CallRecord.to_json(), plus
        ``survey``: the caller's post-call survey answer for the call, or None.
        """
        async with self._engine.connect() as connection:
            return await call_queries.calls_between(connection, start, end, queue, pbx)

    async def recent_tickets_for_caller(
        self, number: str, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The caller's tickets opened in the last ``days`` days, newest first (screen pop)."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        async with self._engine.connect() as connection:
            return await ticket_queries.tickets_of_caller_since(connection, number, since)

    async def ticket_events_for(self, number: str) -> list[dict[str, Any]]:
        """The history of one ticket (by its number), oldest first."""
        async with self._engine.connect() as connection:
            return await ticket_queries.ticket_history(connection, number)

    # -- registering calls (登记) at the agent desk -------------------------------------------

    async def register_call(
        self,
        form: registrations.Registration,
        username: str,
        call: registrations.CallFacts | None,
        now: datetime | None = None,
        *,
        took_call: bool | None = None,
        role: str = "agent",
    ) -> dict[str, Any]:
        """Store an agent's registration of a call on its ticket (opened now if the call is
        not stored yet: ``call`` gives its caller) and hand the case to the workflow as its
        ending says (ticketing.registrations). RegistrationError names a bad field;
        ``took_call``: see registrations.register (who may register the call)."""
        async with self._writing() as connection:
            return await registrations.register(
                connection, self._numbering, form, username, call, now or datetime.now(UTC),
                took_call, role=role, timers=await self._timers_in(connection),
                call_back_attempts=self._call_back_attempts,
            )  # fmt: skip

    async def save_draft(
        self, username: str, linkedid: str, data: Mapping[str, Any], now: datetime | None = None
    ) -> None:
        """Keep (replace) the user's unfinished registration form for a call."""
        async with self._writing() as connection:
            await registrations.save_draft(
                connection, username, linkedid, data, now or datetime.now(UTC)
            )

    async def drafts(self, username: str, linkedid: str | None = None) -> list[dict[str, Any]]:
        """The user's unfinished registration forms (of one call), newest first."""
        async with self._engine.connect() as connection:
            return await registrations.drafts_of(connection, username, linkedid)

    async def ticket(self, number: str) -> dict[str, Any] | None:
        """One ticket by its number, with its registration fields; None when unknown."""
        async with self._engine.connect() as connection:
            return await registrations.ticket_by_number(connection, number)

    # -- the case workflow (ticketing.workflow) -------------------------------------------------

    async def apply_action(
        self,
        case_id: int,
        action: str,
        actor: Actor,
        fields: Mapping[str, Any] | None,
        expected_version: int | None,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Do one action of the workflow table to a case; see ticketing.workflow."""
        when = now or datetime.now(UTC)
        require_aware(when, "now")
        async with self._writing() as connection:
            return await workflow_cases.apply_action(
                connection, case_id, action, actor, fields or {}, expected_version, when,
                await self._timers_in(connection),
            )  # fmt: skip

    async def register_case(
        self,
        actor: Actor,
        fields: Mapping[str, Any],
        *,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Open a case that no call opened (a letter, a walk-in, the web); see
        ticketing.workflow."""
        now = datetime.now(UTC)
        when = at or now
        require_aware(when, "at")
        async with self._writing() as connection:
            return await workflow_cases.register_case(
                connection, self._numbering, actor, fields, when, now
            )

    async def get_case(self, case_id: int) -> dict[str, Any]:
        """One case with its workflow facts; CaseNotFound if there is none."""
        async with self._engine.connect() as connection:
            return await workflow_cases.read_case(connection, case_id)

    async def case_by_number(self, number: str) -> dict[str, Any]:
        """One case by its number (12345-YYYYMMDD-NNNNNN); CaseNotFound if there is none."""
        async with self._engine.connect() as connection:
            case_id = await workflow_cases.case_id_by_number(connection, number)
            return await workflow_cases.read_case(connection, case_id)

    async def case_history(self, case_id: int) -> list[dict[str, Any]]:
        """Every event of a case, in the order they were appended."""
        async with self._engine.connect() as connection:
            return await workflow_cases.case_history(connection, case_id)

    async def record_call_back(
        self,
        case_id: int,
        actor: Actor,
        source: str,
        satisfaction: str,
        expected_version: int | None,
        *,
        process_satisfaction: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """A call-back's outcome (回访) and its consequence: archived when satisfied, redone
        when dissatisfied; ``unreachable`` is an attempt until the Nth (ticketing.workflow.
        callback)."""
        when = now or datetime.now(UTC)
        async with self._writing() as connection:
            return await callback.record_call_back(
                connection, case_id, actor, source, satisfaction, process_satisfaction,
                expected_version, when, await self._timers_in(connection), self._call_back_attempts,
            )  # fmt: skip

    async def call_back_tasks(self) -> list[dict[str, Any]]:
        """The cases waiting for their call-back: answered by a unit, then closed by the
        hotline itself (a direct answer or a referral not yet rated), oldest deadline first."""
        async with self._engine.connect() as connection:
            answered = await workflow_cases.open_cases(connection, "answered")
            return answered + await workflow_cases.open_cases(connection, "closed")

    async def add_unit(self, name: str, parent: str | None = None) -> None:
        """Add a handling unit (承办单位) under an optional parent; ValueError when it exists,
        its name is bad or its parent is unknown."""
        async with self._writing() as connection:
            await units.insert_unit(connection, name, parent, datetime.now(UTC))

    async def set_unit_active(self, name: str, active: bool) -> None:
        """Open or close a unit to new dispatches; KeyError for an unknown unit."""
        async with self._writing() as connection:
            await units.set_unit_active(connection, name, active)

    async def list_units(self) -> list[dict[str, Any]]:
        async with self._engine.connect() as connection:
            return await units.all_units(connection)

    async def unit_inbox(self, unit: str, *, with_sub_units: bool = False) -> list[dict[str, Any]]:
        """The unfinished cases a handling unit (and its sub-units) leads or co-handles,
        soonest due first."""
        async with self._engine.connect() as connection:
            return await workflow_cases.unit_inbox(connection, unit, with_sub_units=with_sub_units)

    async def unit_scope(self, unit: str) -> list[str]:
        """The unit and every unit under it: whose cases its staff may read."""
        async with self._engine.connect() as connection:
            return await units.unit_and_descendants(connection, unit)

    async def similar_cases(
        self, case_id: int, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Open cases of the last ``days`` days from the same number or about the same
        address and category: candidates for a merge (并单)."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        async with self._engine.connect() as connection:
            return await workflow_cases.similar_cases(connection, case_id, since)

    async def cases_about_place(
        self, address: str, category: str, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Open cases of the last ``days`` days about this address and category (并单)."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        async with self._engine.connect() as connection:
            return await workflow_cases.cases_about_place(connection, address, category, since)

    async def case_changes_after(self, after: int | None) -> tuple[int, list[dict[str, Any]]]:
        """The cases changed since history event ``after`` (None: the last id only)."""
        async with self._engine.connect() as connection:
            return await workflow_cases.case_changes_after(connection, after)

    async def case_kpis(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Case KPIs (per unit on-time, extension, redo, return rates; call-back coverage and
        satisfaction) over the cases opened in [start, end), each with its formula."""
        require_aware(start, "start")
        require_aware(end, "end")
        async with self._engine.connect() as connection:
            histories = await case_kpis.histories_of_cases_opened(connection, start, end)
        return {"cases": len(histories), **case_kpis.case_kpis(histories)}

    async def cases_referencing(self, ref: str) -> list[dict[str, Any]]:
        """The cases whose history names an attachment's reference."""
        async with self._engine.connect() as connection:
            return await workflow_cases.cases_referencing(connection, ref)

    async def recent_chases(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest chases and supervisions, newest first."""
        async with self._engine.connect() as connection:
            return await workflow_cases.recent_chases(connection, limit)

    async def open_cases(self, status: str | None = None) -> list[dict[str, Any]]:
        """Unfinished cases (or those in one state), soonest due first."""
        async with self._engine.connect() as connection:
            return await workflow_cases.open_cases(connection, status)

    async def sweep_chases(self, now: datetime, due_soon: timedelta) -> list[dict[str, Any]]:
        """Chase (and escalate) every case that needs it now, each once ever; returns the
        notices of the chases done (ticketing.workflow.chasing).

        One transaction per chase: a case that moved on meanwhile (answered, say) is skipped
        and looked at again next sweep.
        """
        require_aware(now, "now")
        async with self._engine.connect() as connection:
            rows = await chasing.candidates(connection, now, due_soon)
        notices = []
        for row in rows:
            for due in chasing.what_is_due(row, now, due_soon):
                try:
                    async with self._writing() as connection:
                        notice = await chasing.chase_once(
                            connection, due, now, await self._timers_in(connection)
                        )
                except (WorkflowError, workflow_cases.CaseNotFound) as error:
                    log.info("chase %s of case %s skipped: %s", due.key, due.case_id, error)
                    continue
                if notice is not None:
                    notices.append(notice)
        return notices

    # -- post-call surveys ------------------------------------------------------------------

    async def record_survey(
        self, linkedid: str, answer: str, at: datetime, digit: str | None = None
    ) -> bool:
        """Store a call's survey answer; True if new, False if the call had one already.

        ``answer`` is one of SURVEY_ANSWERS (ValueError otherwise). The call's ticket gets a
        ``survey`` event now if it exists, else when save_calls opens it.
        """
        check_answer(answer, digit)
        require_aware(at, "at")
        if not linkedid:
            raise ValueError("a survey needs the call's linkedid")
        async with self._writing() as connection:
            new = await store_survey(connection, linkedid, answer, at, digit)
            if new:
                # The rating is the call-back of the call's case if that case waits for one.
                # A refusal (checked before each write) never costs the rating itself.
                try:
                    await callback.survey_call_back(
                        connection, linkedid, datetime.now(UTC),
                        await self._timers_in(connection), self._call_back_attempts,
                    )  # fmt: skip
                except WorkflowError as error:
                    log.warning("survey of %s kept, not a call-back: %s", linkedid, error)
            return new

    # -- major-fault incidents (重大故障) and merged callers (并单) --------------------------

    async def save_incident(self, data: Mapping[str, Any]) -> None:
        """Create or update an incident from its JSON (Incident.to_json(); times ISO or aware).

        On update the stored merged-caller count and ticket are kept. ValueError when the
        incident is one the database cannot hold (checked first, or refused by the database):
        retrying cannot help, unlike an outage (any other exception).
        """
        row = incident_row(data)
        now = datetime.now(UTC)
        try:
            async with self._writing() as connection:
                await upsert_incident(connection, row, now)
        except (DataError, IntegrityError) as error:
            raise ValueError(
                f"incident {row['id']!r} refused by the database: {error.orig}"
            ) from error

    async def end_incident(self, incident_id: str, at: datetime) -> bool:
        """Mark an active incident ended at ``at``; False if it was ended already.

        KeyError for an unknown incident.
        """
        require_aware(at, "at")
        async with self._writing() as connection:
            return await mark_ended(connection, incident_id, at)

    async def incidents(self, active_only: bool = False) -> list[dict[str, Any]]:
        """Incidents, most recent start first, each as Incident.to_json() plus ticket_number."""
        async with self._engine.connect() as connection:
            return await list_incidents(connection, active_only)

    async def incident_reports(self, incident_id: str) -> list[dict[str, Any]]:
        """The calls merged into an incident (linkedid, caller_num, at), in order; KeyError
        for an unknown incident."""
        async with self._engine.connect() as connection:
            return await reports_of(connection, incident_id)

    async def merge_incident_report(
        self, incident_id: str, linkedid: str, caller_num: str | None, at: datetime
    ) -> dict[str, Any]:
        """Merge a caller's report into the incident (并单); idempotent per (incident, call).

        The first report opens the incident's ticket; every new report adds a ``merged``
        event to it. Returns {incident_id, ticket_number, merged_callers, new}. KeyError for an
        unknown incident.
        """
        require_aware(at, "at")
        if not linkedid:
            raise ValueError("a report needs the call's linkedid")
        now = datetime.now(UTC)
        async with self._writing() as connection:
            return await merge_report(
                connection,
                self._numbering,
                self._categories,
                incident_id,
                linkedid,
                caller_num,
                at,
                now,
            )

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
        users.check_username(username)
        users.check_role(role)
        if not password_hash:
            raise ValueError("a user needs a password hash")
        async with self._writing() as connection:
            user_id = await users.insert_user(
                connection, username, display_name, role, password_hash, unit
            )
        if user_id is None:
            raise ValueError(f"user {username!r} exists already")
        return user_id

    async def get_user(self, username: str) -> dict[str, Any] | None:
        """The user with its password_hash, role and active flag; None if there is none."""
        async with self._engine.connect() as connection:
            return await users.find_user(connection, username)

    async def set_password_hash(
        self, username: str, password_hash: str, *, end_sessions: bool = True
    ) -> None:
        """Replace a user's password hash and end their sessions (``end_sessions=False``: a
        rehash of the same password at login); KeyError for an unknown user."""
        if not password_hash:
            raise ValueError("a user needs a password hash")
        async with self._writing() as connection:
            await users.update_user(connection, username, password_hash=password_hash)
            if end_sessions:
                await users.end_sessions(connection, username)

    async def set_active(self, username: str, active: bool) -> None:
        """Enable or disable a user's login, ending their sessions; KeyError for an unknown
        user."""
        async with self._writing() as connection:
            await users.update_user(connection, username, active=bool(active))
            await users.end_sessions(connection, username)

    async def set_role(self, username: str, role: str) -> None:
        """Give a user another role, ending their sessions (what they may open changed);
        KeyError for an unknown user, ValueError for an unknown role."""
        users.check_role(role)
        async with self._writing() as connection:
            await users.update_user(connection, username, role=role)
            await users.end_sessions(connection, username)

    async def end_sessions(self, username: str) -> None:
        """End every session of the user (logout); KeyError for an unknown user."""
        async with self._writing() as connection:
            await users.end_sessions(connection, username)

    async def list_users(self) -> list[dict[str, Any]]:
        """Every user by username, without password hashes."""
        async with self._engine.connect() as connection:
            return await users.all_users(connection)

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
        async with self._writing() as connection:
            await users.append_access(connection, actor, role, action, target, detail, remote)

    async def access_log(
        self, since: datetime | None = None, actor: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Access log entries, newest first, optionally from ``since`` on and by one actor."""
        if since is not None:
            require_aware(since, "since")
        async with self._engine.connect() as connection:
            return await users.read_access_log(connection, since, actor, limit)

    # -- KPI exclusion windows -------------------------------------------------------------

    async def add_exclusion(
        self, start: datetime, end: datetime, reason: str, created_by: str
    ) -> int:
        """Record a window whose calls the call KPIs leave out; returns its id."""
        exclusions.check_window(start, end, reason)
        async with self._writing() as connection:
            return await exclusions.insert_exclusion(connection, start, end, reason, created_by)

    async def exclusions_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, str]]:
        """Exclusion windows overlapping [start, end), by start time."""
        async with self._engine.connect() as connection:
            return await exclusions.exclusions_between(connection, start, end)

    async def exclusion_list(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Exclusion windows overlapping [start, end) with id and author, by start time."""
        async with self._engine.connect() as connection:
            return await exclusions.listed_exclusions(connection, start, end)

    async def remove_exclusion(self, window_id: int) -> dict[str, Any] | None:
        """Delete an exclusion window; what it was, or None when there is none."""
        async with self._writing() as connection:
            return await exclusions.delete_exclusion(connection, window_id)
