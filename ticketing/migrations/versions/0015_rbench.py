"""Indexes the reports need (bench/reports.py): cases by the moment they were opened.

The case KPIs and every case report select the cases opened in a period
(tickets.created_at); without this index each report read the whole tickets table.

Revision ID: 0015_rbench
Revises: 0014_wall
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_rbench"
down_revision: str | None = "0014_wall"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_created_at", "tickets")
