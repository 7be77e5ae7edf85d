"""Tables of the ticket store: call records (登记单), tickets (工单), their history, KPI exclusions,
survey results, incidents (重大故障) and their reports, users and the access log.

Calls and ticket events are append-only: nothing in this package deletes or rewrites them.
Timestamps are stored in UTC; on SQLite (which has no time zone type) they are kept as naive
UTC and made aware again when read, so both dialects hand back the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on every dialect.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

# The statuses a caller can be told (the IVR has a prompt for each); the workflow's own steps
# (ticketing.workflow.table.STATES) are told as one of these (spoken_status).
TICKET_STATUSES: tuple[str, ...] = (
    "registered",  # 受理
    "answered_directly",  # 直接答复
    "referred",  # 转其他热线
    "invalid",  # 无效/骚扰 (kept as evidence)
    "dispatched",  # 转办/派单
    "signed",  # 签收
    "in_progress",  # 办理
    "answered",  # 答复
    "callback",  # 回访
    "closed",  # 办结
    "archived",  # 归档
    "redo",  # 重办
)
TICKET_CATEGORIES: tuple[str, ...] = (
    "consultation",
    "help",
    "complaint",
    "report",
    "suggestion",
    "praise",
    "other",
)
URGENCIES: tuple[str, ...] = ("normal", "urgent")
# How the agent who took the call ended its registration (登记): the case workflow takes the
# ticket on from there; "merged" means the call was added to the caller's earlier ticket.
TICKET_ENDINGS: tuple[str, ...] = (
    "answered_directly",  # 直接答复
    "referred",  # 转其他热线/部门
    "invalid",  # 无效/骚扰 (kept as evidence)
    "dispatched",  # 待派单
    "merged",  # 重复来电, added to an earlier ticket
)
SURVEY_ANSWERS: tuple[str, ...] = ("satisfied", "basically_satisfied", "dissatisfied", "none")
INCIDENT_STATUSES: tuple[str, ...] = ("active", "ended")
USER_ROLES: tuple[str, ...] = (
    "agent",
    "supervisor",
    "reviewer",
    "unit",
    "auditor",
    "admin",
    "wallboard",
    "qa",  # 质检员: plays recordings and scores them (hotline/web/api_recordings.py)
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect; naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware value")
        value = value.astimezone(UTC)
        # SQLite compares datetimes as text: one fixed naive-UTC form keeps that ordering right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Identifier = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CallRecordRow(Base):
    """One call and queue leg, as ``acd.records.CallRecord.to_json()`` describes it."""

    __tablename__ = "call_records"
    # A leg's identity: uniqueids are unique per Asterisk only (migration 0003). A call's legs
    # are found by (pbx, uniqueid) (migration 0016_rbench: the reports' drill-down).
    __table_args__ = (
        UniqueConstraint("pbx", "key"),
        Index("ix_call_records_pbx_uniqueid", "pbx", "uniqueid"),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    # The Asterisk the call went through; rows stored before 0003 belong to "pbx1".
    pbx: Mapped[str] = mapped_column(String(32), server_default="pbx1")
    key: Mapped[str] = mapped_column(String(80))  # "uniqueid#leg", unique per PBX
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str] = mapped_column(String(64))
    leg: Mapped[int] = mapped_column(Integer, default=0)
    caller_num: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(128))
    ivr_digits: Mapped[str | None] = mapped_column(String(32))
    ivr_choice: Mapped[str | None] = mapped_column(String(32))
    ivr_path: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    priority: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(32))
    wait_s: Mapped[int | None] = mapped_column(Integer)
    talk_s: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(128))
    member_interface: Mapped[str | None] = mapped_column(String(255))
    agent_channel: Mapped[str | None] = mapped_column(String(255))
    ring_no_answer: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    hangup_by: Mapped[str | None] = mapped_column(String(32))
    recording: Mapped[str | None] = mapped_column(Text)
    spied_by: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ivr_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queue_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transferred_to: Mapped[str | None] = mapped_column(String(255))
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    vars: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # The IVR session's outcome (migration 0002): rows stored before it read NULL / false.
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    language: Mapped[str | None] = mapped_column(String(16))
    # Migration 0005: the callback step's message (Record() file) and whether the recording
    # holds conversation (false: nobody answered, MixMonitor wrote a bare header).
    callback_message: Mapped[str | None] = mapped_column(Text)
    recording_audio: Mapped[bool | None] = mapped_column(Boolean)
    # The instant that puts the call in a reporting period: queue entry, else the call's start
    # (else its end, else when it was stored). Kept as a column so period queries use an index.
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketRow(Base):
    """A case (工单). By default one per call (linkedid); status is a lifecycle string."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_caller_number_created_at", "caller_number", "created_at"),
        ForeignKeyConstraint(
            ["call_pbx", "call_key"],
            ["call_records.pbx", "call_records.key"],
            name="fk_tickets_call_pbx_call_key_call_records",
        ),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 12345-YYYYMMDD-NNNNNN
    # The call the ticket was opened for (PBX and leg key); none for an incident's ticket.
    call_pbx: Mapped[str | None] = mapped_column(String(32))
    call_key: Mapped[str | None] = mapped_column(String(80), index=True)
    # The call the ticket was opened for; unique so a replayed or second leg adds no ticket.
    linkedid: Mapped[str | None] = mapped_column(String(64), unique=True)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), index=True)
    urgency: Mapped[str] = mapped_column(String(16))
    district: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")
    handling_unit: Mapped[str | None] = mapped_column(String(128), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Indexed (migration 0015_rbench): the case reports select the cases opened in a period.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The registration form (登记) the agent filled in (migration 0006_desk); NULL / false for
    # tickets nobody has registered yet.
    address: Mapped[str | None] = mapped_column(String(255))
    reply_wanted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ending: Mapped[str | None] = mapped_column(String(32))  # one of TICKET_ENDINGS
    referred_to: Mapped[str | None] = mapped_column(String(128))
    # For a repeat call about the same matter: the earlier ticket it was added to.
    merged_into: Mapped[int | None] = mapped_column(Identifier)
    registered_by: Mapped[str | None] = mapped_column(String(64))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The case workflow's facts (migration 0007_cases, ticketing/workflow/table.py CaseFacts); the
    # status and these change only through a transition, which appends its event.
    first_unit: Mapped[str | None] = mapped_column(String(128))
    co_units: Mapped[list[str]] = mapped_column(JsonDocument, default=list, server_default="[]")
    supervised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    extensions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    return_rejected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    merged_into_case: Mapped[str | None] = mapped_column(String(40))  # 并单: the case's number
    last_satisfaction: Mapped[str | None] = mapped_column(String(32))
    # Timers besides due_at (migration 0008_cases): sign by, and ask to return by.
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Optimistic locking for the ORM users of this table (the case workflow).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TicketEventRow(Base):
    """Append-only history of a ticket: created, dispatched, signed, chased, …"""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Identifier, ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class RegistrationDraftRow(Base):
    """An agent's unfinished registration form for a call, autosaved by the desk so that
    nothing is lost when the browser closes mid-form; deleted once the call is registered."""

    __tablename__ = "registration_drafts"
    __table_args__ = (UniqueConstraint("username", "linkedid"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HandlingUnitRow(Base):
    """A handling unit (承办单位): a department or district that cases are dispatched to.
    Its staff are users with role ``unit`` naming it; ``parent`` nests it (a street office
    under its district)."""

    __tablename__ = "handling_units"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(128), ForeignKey("handling_units.name"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseChaseRow(Base):
    """One chase or escalation the scheduler did, keyed so it is done once: by the case and
    what it is about (``overdue@<due_at>``…), whichever service instance, before or after a
    restart, gets there first (ticketing.workflow.chasing)."""

    __tablename__ = "case_chases"
    __table_args__ = (UniqueConstraint("ticket_id", "key"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Identifier, ForeignKey("tickets.id"))
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CasePolicyRow(Base):
    """One change of the case deadline policy made at run time by an authorised user: the
    preset and what was changed over it. The newest row is the policy in force (over the
    settings' ``[cases]``); rows are only ever added, so the history says who set what, when
    and why (ticketing.workflow.policy_changes)."""

    __tablename__ = "case_policy_changes"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    preset: Mapped[str] = mapped_column(String(16))
    # {"limits": {category: "3wd"}, "sign": "24wh", "return_window": "1wd",
    #  "extensions": {category: [times, days]}}
    changes: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    reason: Mapped[str] = mapped_column(String(500))


class TicketCounterRow(Base):
    """Last ticket sequence number handed out per day (the NNNNNN of 12345-YYYYMMDD-NNNNNN)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last: Mapped[int] = mapped_column(Integer)


class KpiExclusionRow(Base):
    """A supervisor-flagged window whose calls the call KPIs leave out (incident, fault, surge)."""

    __tablename__ = "kpi_exclusions"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyResultRow(Base):
    """A caller's post-call survey answer; the first answer for a call wins, none is changed.

    Kept apart from call_records because the answer arrives after the call ends, possibly
    before the buffered writer has stored the call's record.
    """

    __tablename__ = "survey_results"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    answer: Mapped[str] = mapped_column(String(32))  # one of SURVEY_ANSWERS
    digit: Mapped[str | None] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentRow(Base):
    """A major fault (重大故障) the IVR announces; callers who report it are merged (并单)."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(String(255))
    prefixes: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    districts: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    branch: Mapped[str | None] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    expected_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)  # one of INCIDENT_STATUSES
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_callers: Mapped[int] = mapped_column(Integer, default=0)
    # The incident's one ticket, opened by its first report.
    ticket_id: Mapped[int | None] = mapped_column(Identifier, ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentReportRow(Base):
    """One call merged into an incident; a call counts once per incident."""

    __tablename__ = "incident_reports"
    __table_args__ = (UniqueConstraint("incident_id", "linkedid"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), ForeignKey("incidents.id"))
    linkedid: Mapped[str] = mapped_column(String(64))
    caller_num: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserRow(Base):
    """A web user. The password hash is made and checked outside this package."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # one of USER_ROLES
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unit: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Sessions carry the generation they were issued under; bumping it ends them all
    # (logout, password change, disabling).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AccessLogRow(Base):
    """Append-only audit trail: logins, playbacks, exports, user changes."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    remote: Mapped[str | None] = mapped_column(String(64))


CALLBACK_KINDS: tuple[str, ...] = (
    "abandoned",  # hung up while waiting in the queue (漏接)
    "timeout",  # Queue() timed out (no agent in time)
    "callback_request",  # asked for a call back in the IVR (with a recorded message, if any)
    "survey",  # said "dissatisfied" in the post-call survey: a call back (回访)
)
CALLBACK_STATUSES: tuple[str, ...] = ("open", "claimed", "done")


class AgentRow(Base):
    """An agent (话务员/座席): a web user tied to a phone that sits in queues as one member."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(Identifier, ForeignKey("users.id"), unique=True)
    extension: Mapped[str] = mapped_column(String(32), unique=True)
    # The queue member interface (PJSIP/1001) and its device-state interface, if another.
    interface: Mapped[str] = mapped_column(String(128))
    state_interface: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))  # the member name queue_log shows
    pbx: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgentSkillRow(Base):
    """A queue an agent logs in to, with its penalty (the skill level: 0 is the best)."""

    __tablename__ = "agent_skills"
    __table_args__ = (UniqueConstraint("agent_id", "queue"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(Identifier, ForeignKey("agents.id"))
    queue: Mapped[str] = mapped_column(String(64))
    penalty: Mapped[int] = mapped_column(Integer, default=0)


class CallbackRow(Base):
    """One entry of the shared call-back list (漏接回拨), at most one per call and kind."""

    __tablename__ = "callbacks"
    __table_args__ = (UniqueConstraint("pbx", "linkedid", "kind"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # one of CALLBACK_KINDS
    pbx: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str] = mapped_column(String(64))
    uniqueid: Mapped[str] = mapped_column(String(64))
    caller_num: Mapped[str] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    queue: Mapped[str | None] = mapped_column(String(64))
    message_path: Mapped[str | None] = mapped_column(Text)  # the caller's recorded message
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the citizen called
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)  # one of CALLBACK_STATUSES
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallbackAttemptRow(Base):
    """Every attempt at a call-back and what came of it (append-only)."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    callback_id: Mapped[int] = mapped_column(Identifier, ForeignKey("callbacks.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class AgentStateRow(Base):
    """An agent's state changes (append-only): time in each state and pause reason per day."""

    __tablename__ = "agent_states"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(Identifier, ForeignKey("agents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))


class BlockedNumberRow(Base):
    """A nuisance number on the blocklist (骚扰号码): the IVR plays it a notice, records the
    call as evidence and hangs up. Rows are never deleted: removing one stamps who and when,
    so the table is its own audit (who added, why, until when, who removed)."""

    __tablename__ = "blocked_numbers"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), index=True)  # digits, as normalised
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remove_reason: Mapped[str | None] = mapped_column(Text)


class QaScoreRow(Base):
    """A QA reviewer's score of one call's recording on the scorecard (质检评分): each item's
    points and comment, as the scorecard stood when scored (items is a copy, so a later
    change of the scorecard does not rewrite old scores). One score per call."""

    __tablename__ = "qa_scores"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    call_id: Mapped[int] = mapped_column(Identifier, ForeignKey("call_records.id"), unique=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)  # username, else queue_log name
    call_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the call's counted_at
    reviewer: Mapped[str] = mapped_column(String(64))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    total: Mapped[int] = mapped_column(Integer)  # out of 100
    comment: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SpySessionRow(Base):
    """A supervisor listening in on (监听), whispering to (密语) or barging into (强插) an
    agent's call: one row per mode segment (a DTMF mode switch ends one and starts the next),
    append-only apart from its end."""

    __tablename__ = "spy_sessions"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    supervisor: Mapped[str] = mapped_column(String(64), index=True)  # the web user
    pbx: Mapped[str] = mapped_column(String(64))
    agent_interface: Mapped[str] = mapped_column(String(128))
    agent_name: Mapped[str | None] = mapped_column(String(128))
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)  # the spied call
    spyee_channel: Mapped[str] = mapped_column(String(128))
    spyer_channel: Mapped[str | None] = mapped_column(String(128))  # the supervisor's phone
    mode: Mapped[str] = mapped_column(String(16))  # listen | whisper | barge
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ChanSpyStop, Hangup, switched (to another mode), failed (the phone never answered)…
    end_reason: Mapped[str | None] = mapped_column(String(64))


class WarningSuggestionRow(Base):
    """An early-warning suggestion (预警) as the ``warning`` room's data, with its status and
    times as columns: open until a supervisor decides it, and decided once only — the status
    leaves 'open' by a conditional UPDATE, whichever instance or click comes first."""

    __tablename__ = "warning_suggestions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | accepted | dismissed
    area_key: Mapped[str] = mapped_column(String(128))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(64))  # the announcement it became
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument)  # Suggestion.to_data()


# The rollup tables live with the code that fills them; importing them here puts them in
# Base.metadata wherever the models are (migrations' comparison, create_all in tests).
import ticketing.rollup.tables  # noqa: E402, F401
