"""Agents tied to web users, their skills (queue + penalty), their state history, and the
shared call-back list (漏接回拨) with every attempt.

Revision ID: 0005_agentops
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_agentops"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("extension", sa.String(32), nullable=False),
        sa.Column("interface", sa.String(128), nullable=False),
        sa.Column("state_interface", sa.String(128), nullable=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("pbx", sa.String(64), nullable=False),
        at("created_at", nullable=False),
        at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("user_id", name="uq_agents_user_id"),
        sa.UniqueConstraint("extension", name="uq_agents_extension"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_agents_user_id_users"),
    )
    op.create_table(
        "agent_skills",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("penalty", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agent_skills"),
        sa.UniqueConstraint("agent_id", "queue", name="uq_agent_skills_agent_id_queue"),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_agent_skills_agent_id_agents"
        ),
    )
    op.create_table(
        "agent_states",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("agent_id", ID, nullable=False),
        at("at", nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_states"),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_agent_states_agent_id_agents"
        ),
    )
    op.create_index("ix_agent_states_agent_id", "agent_states", ["agent_id"])
    op.create_index("ix_agent_states_at", "agent_states", ["at"])
    op.create_table(
        "callbacks",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("caller_num", sa.String(64), nullable=False),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("message_path", sa.Text(), nullable=True),
        at("called_at", nullable=False),
        at("created_at", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        at("claimed_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(32), nullable=True),
        at("closed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
        sa.UniqueConstraint("pbx", "linkedid", "kind", name="uq_callbacks_pbx_linkedid_kind"),
    )
    op.create_index("ix_callbacks_status", "callbacks", ["status"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("callback_id", ID, nullable=False),
        at("at", nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_attempts"),
        sa.ForeignKeyConstraint(
            ["callback_id"], ["callbacks.id"], name="fk_callback_attempts_callback_id_callbacks"
        ),
    )
    op.create_index("ix_callback_attempts_callback_id", "callback_attempts", ["callback_id"])


def downgrade() -> None:
    op.drop_table("callback_attempts")
    op.drop_table("callbacks")
    op.drop_table("agent_states")
    op.drop_table("agent_skills")
    op.drop_table("agents")
