"""Call records, tickets, ticket events, ticket counters and KPI exclusion windows.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("caller_num", sa.String(64), nullable=True),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("ivr_digits", sa.String(32), nullable=True),
        sa.Column("ivr_choice", sa.String(32), nullable=True),
        sa.Column("ivr_path", JSONDOC, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(80), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("talk_s", sa.Integer(), nullable=True),
        sa.Column("answered_by", sa.String(128), nullable=True),
        sa.Column("member_interface", sa.String(255), nullable=True),
        sa.Column("agent_channel", sa.String(255), nullable=True),
        sa.Column("ring_no_answer", JSONDOC, nullable=False),
        sa.Column("hangup_by", sa.String(32), nullable=True),
        sa.Column("recording", sa.Text(), nullable=True),
        sa.Column("spied_by", sa.String(255), nullable=True),
        at("started_at"),
        at("ivr_ended_at"),
        at("queue_entered_at"),
        at("answered_at"),
        at("ended_at"),
        sa.Column("transferred_to", sa.String(255), nullable=True),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("vars", JSONDOC, nullable=False),
        at("counted_at", nullable=False),
        at("stored_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_records"),
        sa.UniqueConstraint("key", name="uq_call_records_key"),
    )
    op.create_index("ix_call_records_linkedid", "call_records", ["linkedid"])
    op.create_index("ix_call_records_caller_num", "call_records", ["caller_num"])
    op.create_index("ix_call_records_counted_at", "call_records", ["counted_at"])

    op.create_table(
        "tickets",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("call_key", sa.String(80), nullable=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("handling_unit", sa.String(128), nullable=True),
        at("due_at"),
        at("created_at", nullable=False),
        at("updated_at", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("number", name="uq_tickets_number"),
        sa.UniqueConstraint("linkedid", name="uq_tickets_linkedid"),
        sa.ForeignKeyConstraint(
            ["call_key"], ["call_records.key"], name="fk_tickets_call_key_call_records"
        ),
    )
    op.create_index("ix_tickets_call_key", "tickets", ["call_key"])
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_index("ix_tickets_handling_unit", "tickets", ["handling_unit"])
    op.create_index(
        "ix_tickets_caller_number_created_at", "tickets", ["caller_number", "created_at"]
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", ID, nullable=False),
        at("at", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("data", JSONDOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_events"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_events_ticket_id_tickets"
        ),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_ticket_counters"),
    )

    op.create_table(
        "kpi_exclusions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        at("starts_at", nullable=False),
        at("ends_at", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        at("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kpi_exclusions"),
    )
    op.create_index("ix_kpi_exclusions_starts_at", "kpi_exclusions", ["starts_at"])


def downgrade() -> None:
    op.drop_table("kpi_exclusions")
    op.drop_table("ticket_counters")
    op.drop_table("ticket_events")
    op.drop_table("tickets")
    op.drop_table("call_records")
