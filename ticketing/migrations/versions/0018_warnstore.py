"""Early-warning suggestions outlive a restart and a hand-over to the standby instance.

One row per suggestion: the ``warning`` room's data (Suggestion.to_data()) and, as columns,
what the store selects and updates by — its status (decided once: a conditional UPDATE from
'open'), the area, when it was raised and decided, by whom, and the incident it became.

Revision ID: 0018_warnstore
Revises: 0017_rollup
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_warnstore"
down_revision: str | None = "0017_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "warning_suggestions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("area_key", sa.String(128), nullable=False),
        sa.Column("raised_at", _UTC, nullable=False),
        sa.Column("decided_at", _UTC, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("data", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_warning_suggestions"),
    )
    op.create_index("ix_warning_suggestions_status", "warning_suggestions", ["status"])
    op.create_index("ix_warning_suggestions_raised_at", "warning_suggestions", ["raised_at"])


def downgrade() -> None:
    op.drop_index("ix_warning_suggestions_raised_at", "warning_suggestions")
    op.drop_index("ix_warning_suggestions_status", "warning_suggestions")
    op.drop_table("warning_suggestions")
