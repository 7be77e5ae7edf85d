"""Report rollups: counts per UTC hour and day, and triggers that mark the hours a write touches.

The report queries read a month of a big city's year in seconds from raw rows; summed ahead
per hour and day they read it in milliseconds (ticketing/rollup). Rows go stale when a call,
its survey, its case or the case's history is written: a trigger on each of those tables
marks the UTC hours concerned in ``rollup_dirty`` in the same transaction, so no write can be
missed by the refresher, whichever process or tool made it. An hour is a call's (every leg's
counted_at hour: a call belongs to its first leg's hour, a queue's share of it to its first
leg in that queue) or a case's (its created_at hour).

Revision ID: 0017_rollup
Revises: 0016_rbench
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_rollup"
down_revision: str | None = "0016_rbench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_CALL = (
    "calls", "offered", "answered", "answered_within", "abandoned", "short_abandons",
    "timeouts", "join_rejections", "ivr_hangups", "satisfied", "basically_satisfied",
    "dissatisfied", "survey_none", "deflected", "transfers", "handlings", "ring_no_answer",
    "answered_wait_s", "talk_s",
)  # fmt: skip
_LEG = (
    "legs", "offered", "answered", "answered_within", "abandoned", "short_abandons",
    "timeouts", "join_rejections", "ivr_hangups", "transfers", "handlings", "ring_no_answer",
    "satisfied", "basically_satisfied", "dissatisfied", "survey_none", "deflected",
    "answered_wait_s", "talk_s",
)  # fmt: skip
_CASE = (
    "cases", "done", "called_back", "cb_rated", "cb_satisfied", "cb_process_rated",
    "cb_process_satisfied", "dispatched", "answered", "on_time", "extended", "redone",
    "returned", "late_returns", "rated", "satisfied", "top",
)  # fmt: skip
_CASE_KEYS = (("category", 32), ("area", 64), ("first_unit", 128), ("handling_unit", 128))


def _counts(names: tuple[str, ...]) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def _keys(*keys: tuple[str, int]) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.String(length), nullable=False) for name, length in keys]


def _span() -> list[sa.Column[object]]:
    return [sa.Column("span", sa.String(4), nullable=False),
            sa.Column("bucket", _UTC, nullable=False)]  # fmt: skip


def _longest() -> sa.Column[int]:
    return sa.Column("longest_wait", sa.Integer(), nullable=True)


_CASE_NAMES = tuple(name for name, _ in _CASE_KEYS)

# (table, SQL giving the UTC hours a row touches) for the PostgreSQL and the SQLite triggers.
_PG_HOUR = "date_trunc('hour', {}, 'UTC')"
_LITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {})"


def _marks(hour: str, row: str) -> dict[str, list[str]]:
    """The SELECTs giving the hours to mark for a row (``row`` = NEW or OLD) of each table."""
    legs_of = "SELECT DISTINCT {h} FROM call_records c WHERE c.linkedid = {row}.linkedid"
    return {
        "call_records": [
            f"SELECT DISTINCT {hour.format('c.counted_at')} FROM call_records c"
            f" WHERE c.pbx = {row}.pbx AND c.uniqueid = {row}.uniqueid",
            f"SELECT {hour.format(row + '.counted_at')}",
        ],
        "survey_results": [legs_of.format(h=hour.format("c.counted_at"), row=row)],
        "tickets": [
            f"SELECT {hour.format(row + '.created_at')}",
            legs_of.format(h=hour.format("c.counted_at"), row=row),
        ],
        "ticket_events": [
            f"SELECT {hour.format('t.created_at')} FROM tickets t WHERE t.id = {row}.ticket_id"
        ],
    }


# Which writes mark: every insert; the updates that can change a count; deletes (a purge).
_TICKET_COLUMNS = "category, district, first_unit, handling_unit, linkedid, created_at"
_EVENTS = {
    "call_records": ("INSERT", "UPDATE", "DELETE"),
    "survey_results": ("INSERT", "UPDATE", "DELETE"),
    "tickets": ("INSERT", f"UPDATE OF {_TICKET_COLUMNS}", "DELETE"),
    "ticket_events": ("INSERT",),
}


def upgrade() -> None:
    op.create_table(
        "rollup_calls", *_span(), *_keys(("queue", 80), *_CASE_KEYS), *_counts(_CALL),
        _longest(),
        sa.PrimaryKeyConstraint("span", "bucket", "queue", *_CASE_NAMES, name="pk_rollup_calls"),
    )  # fmt: skip
    op.create_table(
        "rollup_call_hours", sa.Column("hour", _UTC, nullable=False), *_keys(("queue", 80)),
        *_counts(_CALL), _longest(),
        sa.PrimaryKeyConstraint("hour", "queue", name="pk_rollup_call_hours"),
    )  # fmt: skip
    op.create_table(
        "rollup_legs", *_span(), *_keys(("queue", 80), *_CASE_KEYS), *_counts(_LEG),
        _longest(),
        sa.PrimaryKeyConstraint("span", "bucket", "queue", *_CASE_NAMES, name="pk_rollup_legs"),
    )  # fmt: skip
    op.create_table(
        "rollup_agent_legs", *_span(),
        *_keys(("queue", 80), ("pbx", 32), ("member_interface", 255), ("answered_by", 128)),
        *_counts(_LEG), _longest(),
        sa.PrimaryKeyConstraint("span", "bucket", "queue", "pbx", "member_interface",
                                "answered_by", name="pk_rollup_agent_legs"),
    )  # fmt: skip
    op.create_table(
        "rollup_cases", *_span(), *_keys(*_CASE_KEYS, ("unit", 128)), *_counts(_CASE),
        sa.PrimaryKeyConstraint("span", "bucket", *_CASE_NAMES, "unit", name="pk_rollup_cases"),
    )  # fmt: skip
    op.create_table(
        "rollup_dirty", sa.Column("hour", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("hour", name="pk_rollup_dirty"),
    )  # fmt: skip
    op.create_table(
        "rollup_built", *_span(), sa.Column("built_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("span", "bucket", name="pk_rollup_built"),
    )  # fmt: skip
    op.create_table(
        "rollup_state", sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rollup_state"),
    )  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    for table, verbs in _EVENTS.items():
        rows = {"NEW"} if verbs == ("INSERT",) else {"NEW", "OLD"}
        body = []
        for row in sorted(rows):
            marks = " UNION ".join(_marks(_PG_HOUR, row)[table])
            insert = f"INSERT INTO rollup_dirty (hour) {marks} ON CONFLICT DO NOTHING;"
            guard = "'INSERT', 'UPDATE'" if row == "NEW" else "'UPDATE', 'DELETE'"
            body.append(f"IF TG_OP IN ({guard}) THEN {insert} END IF;")
        op.execute(
            f"CREATE FUNCTION rollup_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {' '.join(body)} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER rollup_mark_{table} AFTER {' OR '.join(verbs)} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION rollup_mark_{table}()"
        )


def _sqlite_triggers() -> None:
    for table, verbs in _EVENTS.items():
        for verb in verbs:
            rows = {"INSERT": ["NEW"], "DELETE": ["OLD"]}.get(verb, ["NEW", "OLD"])
            inserts = " ".join(
                f"INSERT OR IGNORE INTO rollup_dirty (hour) {mark};"
                for row in rows
                for mark in _marks(_LITE_HOUR, row)[table]
            )
            name = f"rollup_mark_{table}_{verb.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {verb} ON {table} BEGIN {inserts} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _EVENTS:
            op.execute(f"DROP TRIGGER rollup_mark_{table} ON {table}")
            op.execute(f"DROP FUNCTION rollup_mark_{table}()")
    else:
        for table, verbs in _EVENTS.items():
            for verb in verbs:
                op.execute(f"DROP TRIGGER rollup_mark_{table}_{verb.split()[0].lower()}")
    for table in (
        "rollup_state",
        "rollup_built",
        "rollup_dirty",
        "rollup_cases",
        "rollup_agent_legs",
        "rollup_legs",
        "rollup_call_hours",
        "rollup_calls",
    ):
        op.drop_table(table)  # fmt: skip
