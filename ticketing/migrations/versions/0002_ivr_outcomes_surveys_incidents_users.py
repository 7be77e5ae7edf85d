"""IVR outcome columns on call_records; survey results, incidents, users and the access log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add a column with a constraint in place; on
    # PostgreSQL it issues plain ALTER TABLE statements. Existing rows read NULL / false.
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("incident_id", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column(
                "callback_requested", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
    op.create_index("ix_call_records_incident_id", "call_records", ["incident_id"])

    op.create_table(
        "survey_results",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("answer", sa.String(32), nullable=False),
        sa.Column("digit", sa.String(8), nullable=True),
        at("at", nullable=False),
        at("stored_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_results"),
        sa.UniqueConstraint("linkedid", name="uq_survey_results_linkedid"),
    )
    op.create_index("ix_survey_results_at", "survey_results", ["at"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("prompt", sa.String(255), nullable=False),
        sa.Column("prefixes", JSONDOC, nullable=False),
        sa.Column("districts", JSONDOC, nullable=False),
        sa.Column("branch", sa.String(64), nullable=True),
        at("start", nullable=False),
        at("expected_end"),
        sa.Column("status", sa.String(16), nullable=False),
        at("ended_at"),
        sa.Column("merged_callers", sa.Integer(), nullable=False),
        sa.Column("ticket_id", ID, nullable=True),
        at("created_at", nullable=False),
        at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_incidents_ticket_id_tickets"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])

    op.create_table(
        "incident_reports",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("caller_num", sa.String(64), nullable=True),
        at("at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_reports"),
        sa.UniqueConstraint(
            "incident_id", "linkedid", name="uq_incident_reports_incident_id_linkedid"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_reports_incident_id_incidents"
        ),
    )

    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unit", sa.String(128), nullable=True),
        at("created_at", nullable=False),
        at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )

    op.create_table(
        "access_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        at("at", nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("detail", JSONDOC, nullable=False),
        sa.Column("remote", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])
    op.create_index("ix_access_log_actor", "access_log", ["actor"])


def downgrade() -> None:
    op.drop_table("access_log")
    op.drop_table("users")
    op.drop_table("incident_reports")
    op.drop_table("incidents")
    op.drop_table("survey_results")
    op.drop_index("ix_call_records_incident_id", table_name="call_records")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("language")
        batch.drop_column("callback_requested")
        batch.drop_column("incident_id")
