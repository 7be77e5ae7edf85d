"""Calls carry their PBX: a leg's identity is (pbx, "uniqueid#leg") once there are several.

Uniqueids are unique per Asterisk only. Existing calls (and their tickets) belong to the PBX
named "pbx1", the name a single ``[ami]`` table gets, so a service upgraded in place keeps
recognising the calls it stored before (a restart does not store them twice).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_PBX = "pbx1"


def upgrade() -> None:
    # The tickets' foreign key leans on call_records.key being unique alone: drop it first
    # (on SQLite before call_records is rebuilt, which would otherwise trip over it).
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("fk_tickets_call_key_call_records", type_="foreignkey")
        batch.add_column(sa.Column("call_pbx", sa.String(32), nullable=True))
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(
            sa.Column("pbx", sa.String(32), nullable=False, server_default=DEFAULT_PBX)
        )
        batch.drop_constraint("uq_call_records_key", type_="unique")
        batch.create_unique_constraint("uq_call_records_pbx_key", ["pbx", "key"])
    op.execute(
        sa.text("UPDATE tickets SET call_pbx = :pbx WHERE call_key IS NOT NULL").bindparams(
            pbx=DEFAULT_PBX
        )
    )
    with op.batch_alter_table("tickets") as batch:
        batch.create_foreign_key(
            "fk_tickets_call_pbx_call_key_call_records",
            "call_records",
            ["call_pbx", "call_key"],
            ["pbx", "key"],
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("fk_tickets_call_pbx_call_key_call_records", type_="foreignkey")
        batch.drop_column("call_pbx")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_constraint("uq_call_records_pbx_key", type_="unique")
        batch.create_unique_constraint("uq_call_records_key", ["key"])
        batch.drop_column("pbx")
    with op.batch_alter_table("tickets") as batch:
        batch.create_foreign_key(
            "fk_tickets_call_key_call_records", "call_records", ["call_key"], ["key"]
        )
