"""The chase scheduler's keys: one row per chase or escalation done, so each is done once
across restarts and across the active and standby services (ticketing.workflow.chasing);
and the handling units (承办单位) cases are dispatched to, each with an optional parent.

Revision ID: 0009_cases
Revises: 0008_cases
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_cases"
down_revision: str | None = "0008_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handling_units",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("parent", sa.String(128), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_handling_units"),
        sa.ForeignKeyConstraint(
            ["parent"], ["handling_units.name"], name="fk_handling_units_parent_handling_units"
        ),
    )
    op.create_table(
        "case_chases",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_chases"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_case_chases_ticket_id_tickets"
        ),
        sa.UniqueConstraint("ticket_id", "key", name="uq_case_chases_ticket_id_key"),
    )
    op.create_index("ix_case_chases_at", "case_chases", ["at"])


def downgrade() -> None:
    op.drop_index("ix_case_chases_at", "case_chases")
    op.drop_table("case_chases")
    op.drop_table("handling_units")
