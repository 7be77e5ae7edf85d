"""The agent desk's registration form (登记) on the ticket, and its server-side drafts.

Tickets get what the agent records while taking the call: address, the caller's wishes
(reply wanted, anonymous), how the registration ended (``ending``, which the case workflow
takes on from), where it was referred, the earlier ticket a repeat call was added to, and
who registered it when. ``registration_drafts`` keeps an unfinished form per agent and call.

Revision ID: 0006_desk
Revises: 0005_agentops
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006_desk"
down_revision: str | None = "0005_agentops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("address", sa.String(255), nullable=True))
        batch.add_column(
            sa.Column("reply_wanted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("ending", sa.String(32), nullable=True))
        batch.add_column(sa.Column("referred_to", sa.String(128), nullable=True))
        batch.add_column(sa.Column("merged_into", _ID, nullable=True))
        batch.add_column(sa.Column("registered_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "registration_drafts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registration_drafts"),
        sa.UniqueConstraint(
            "username", "linkedid", name="uq_registration_drafts_username_linkedid"
        ),
    )
    op.create_index(
        "ix_registration_drafts_username", "registration_drafts", ["username"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_registration_drafts_username", table_name="registration_drafts")
    op.drop_table("registration_drafts")
    with op.batch_alter_table("tickets") as batch:
        for column in ("registered_at", "registered_by", "merged_into", "referred_to",
                       "ending", "anonymous", "reply_wanted", "address"):  # fmt: skip
            batch.drop_column(column)
