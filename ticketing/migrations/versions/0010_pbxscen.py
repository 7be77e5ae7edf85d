"""Call records link the callback step's message and say whether the recording holds audio.

A Queue() timeout's callback request (issue 8 item 1) records the caller's message as
callback-<uniqueid>.wav: ``callback_message`` names it for whoever calls back. MixMonitor
records only while the caller is bridged to an agent, so a call nobody answered leaves a bare
WAV header: ``recording_audio`` is false then (null when nothing was recorded, and for rows
stored before this revision).

Revision ID: 0010_pbxscen
Revises: 0009_cases
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_pbxscen"
down_revision: str | None = "0009_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("callback_message", sa.Text(), nullable=True))
        batch.add_column(sa.Column("recording_audio", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("recording_audio")
        batch.drop_column("callback_message")
