"""Index a call's legs by the PBX's uniqueid (bench/reports.py).

A report's drill-down lists each call with its first leg's caller and queue, looked up by
(pbx, uniqueid): without an index each of a month's calls scanned the whole call table
(minutes on 100,000 calls, never ending on a big city's year).

Revision ID: 0016_rbench
Revises: 0015_rbench
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_rbench"
down_revision: str | None = "0015_rbench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_call_records_pbx_uniqueid", "call_records", ["pbx", "uniqueid"])


def downgrade() -> None:
    op.drop_index("ix_call_records_pbx_uniqueid", "call_records")
