"""Drill-down marks: the cases and calls behind the chased figures, per hour they belong to.

A month's first 5,000 overdue cases took 1.5 s to find on a 10-million-call year (every
answer event of the hours holding them, each with its deadline in force looked up); kept as
rows when their hour is rolled up, they are an index range. Hours already built have no marks:
``rollup_built`` is emptied so the refresher rebuilds them (reports read raw meanwhile).

Revision ID: 0020_marks
Revises: 0019_dims
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_marks"
down_revision: str | None = "0019_dims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)


def _case_keys() -> list[sa.Column[str]]:
    return [sa.Column(name, sa.String(length), nullable=False) for name, length in
            (("category", 32), ("area", 64), ("first_unit", 128), ("handling_unit", 128))]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "rollup_case_marks",
        sa.Column("hour", _UTC, nullable=False),
        sa.Column("figure", sa.String(16), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(128), nullable=False),
        *_case_keys(),
        sa.PrimaryKeyConstraint("figure", "created_at", "ticket_id", "unit",
                                name="pk_rollup_case_marks"),
    )  # fmt: skip
    op.create_index("ix_rollup_case_marks_hour", "rollup_case_marks", ["hour"])
    op.create_table(
        "rollup_call_marks",
        sa.Column("hour", _UTC, nullable=False),
        sa.Column("queue", sa.String(80), nullable=False),
        sa.Column("figure", sa.String(24), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("pbx", sa.String(32), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("survey", sa.String(32), nullable=True),
        sa.Column("caller_num", sa.String(64), nullable=True),
        sa.Column("first_queue", sa.String(80), nullable=True),
        *_case_keys(),
        sa.PrimaryKeyConstraint("queue", "figure", "at", "pbx", "uniqueid",
                                name="pk_rollup_call_marks"),
    )  # fmt: skip
    op.create_index("ix_rollup_call_marks_hour", "rollup_call_marks", ["hour"])
    # Built hours have no marks yet: forget them, the refresher rebuilds them.
    op.execute("DELETE FROM rollup_built")


def downgrade() -> None:
    op.drop_index("ix_rollup_call_marks_hour", "rollup_call_marks")
    op.drop_table("rollup_call_marks")
    op.drop_index("ix_rollup_case_marks_hour", "rollup_case_marks")
    op.drop_table("rollup_case_marks")
