"""Case timers besides the handling deadline: sign by (24 working hours in the presets) and
ask to return by (1 working day), set when a case is dispatched (ticketing.workflow.deadlines).

Revision ID: 0008_cases
Revises: 0007_cases
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_cases"
down_revision: str | None = "0007_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sign_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("return_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("return_until")
        batch.drop_column("sign_due_at")
