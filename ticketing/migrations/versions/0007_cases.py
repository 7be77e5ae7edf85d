"""The case workflow: the facts its transitions keep on a ticket, and a history that cannot
be rewritten.

Tickets get the workflow's facts (first unit, co-units, supervision, extensions granted, a
refused return, the case merged into, the last call-back's satisfaction). ``ticket_events``
becomes append-only in the database itself: an UPDATE or DELETE is refused by a trigger on
both dialects (issue 11: history is never edited or deleted). A later SQLite migration that
rebuilds ``ticket_events`` must create the triggers again.

Revision ID: 0007_cases
Revises: 0006_desk
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_cases"
down_revision: str | None = "0006_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_MESSAGE = "ticket_events is append-only: history is never edited or deleted"


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("first_unit", sa.String(128), nullable=True))
        batch.add_column(sa.Column("co_units", _JSON, nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("supervised", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("extensions", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("return_rejected", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("merged_into_case", sa.String(40), nullable=True))
        batch.add_column(sa.Column("last_satisfaction", sa.String(32), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events"
            " FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ticket_events_no_{verb.lower()} BEFORE {verb} ON ticket_events"
                f" BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ticket_events_append_only ON ticket_events")
        op.execute("DROP FUNCTION ticket_events_append_only()")
    else:
        op.execute("DROP TRIGGER ticket_events_no_update")
        op.execute("DROP TRIGGER ticket_events_no_delete")
    with op.batch_alter_table("tickets") as batch:
        for name in (
            "last_satisfaction",
            "merged_into_case",
            "return_rejected",
            "extensions",
            "supervised",
            "co_units",
            "first_unit",
        ):
            batch.drop_column(name)
