"""The nuisance-number blocklist (issue 10): numbers the IVR plays a notice to and records as
evidence, each with its reason, expiry and who added / removed it.

Revision ID: 0011_recqa
Revises: 0010_pbxscen
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_recqa"
down_revision: str | None = "0010_pbxscen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Identifier = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blocked_numbers",
        sa.Column("id", Identifier, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(64), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remove_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_blocked_numbers"),
    )
    op.create_index("ix_blocked_numbers_number", "blocked_numbers", ["number"])
    op.create_index("ix_blocked_numbers_expires_at", "blocked_numbers", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_blocked_numbers_expires_at", table_name="blocked_numbers")
    op.drop_index("ix_blocked_numbers_number", table_name="blocked_numbers")
    op.drop_table("blocked_numbers")
