"""QA scores of recorded calls (issue 10): one per call, each item's points and comment.

Revision ID: 0013_recqa
Revises: 0012_cases
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_recqa"
down_revision: str | None = "0012_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Identifier = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "qa_scores",
        sa.Column("id", Identifier, primary_key=True, autoincrement=True),
        sa.Column("call_id", Identifier, nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("call_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("items", Json, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qa_scores"),
        sa.UniqueConstraint("call_id", name="uq_qa_scores_call_id"),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_records.id"], name="fk_qa_scores_call_id_call_records"
        ),
    )
    op.create_index("ix_qa_scores_agent", "qa_scores", ["agent"])
    op.create_index("ix_qa_scores_call_at", "qa_scores", ["call_at"])


def downgrade() -> None:
    op.drop_index("ix_qa_scores_call_at", table_name="qa_scores")
    op.drop_index("ix_qa_scores_agent", table_name="qa_scores")
    op.drop_table("qa_scores")
