"""The spy log: every listen / whisper / barge a supervisor starts on an agent's call.

One row per mode segment: who (the supervisor's web user), whom (the agent's interface and
name on its PBX), which call (its linkedid), the mode, start and end (from ChanSpyStop or
the supervisor's Hangup) and why it ended.

Revision ID: 0014_wall
Revises: 0013_recqa
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_wall"
down_revision: str | None = "0013_recqa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "spy_sessions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("supervisor", sa.String(64), nullable=False),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("agent_interface", sa.String(128), nullable=False),
        sa.Column("agent_name", sa.String(128), nullable=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("spyee_channel", sa.String(128), nullable=False),
        sa.Column("spyer_channel", sa.String(128), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(64), nullable=True),
    )
    op.create_index("ix_spy_sessions_supervisor", "spy_sessions", ["supervisor"])
    op.create_index("ix_spy_sessions_linkedid", "spy_sessions", ["linkedid"])
    op.create_index("ix_spy_sessions_started_at", "spy_sessions", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_spy_sessions_started_at", "spy_sessions")
    op.drop_index("ix_spy_sessions_linkedid", "spy_sessions")
    op.drop_index("ix_spy_sessions_supervisor", "spy_sessions")
    op.drop_table("spy_sessions")
