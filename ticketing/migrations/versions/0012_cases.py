"""Run-time changes of the case deadline policy (preset, per-category limits, sign limit,
return window, extension rules), appended with who, when and why; the newest is in force.

Revision ID: 0012_cases
Revises: 0011_recqa
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012_cases"
down_revision: str | None = "0011_recqa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_policy_changes",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("preset", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_policy_changes"),
    )
    op.create_index("ix_case_policy_changes_at", "case_policy_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_case_policy_changes_at", "case_policy_changes")
    op.drop_table("case_policy_changes")
