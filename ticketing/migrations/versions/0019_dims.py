"""Call rollups per hour and one case key (rollup_call_hour_keys), filled from the hour rows
already built.

A month's call figures filtered on one area, category or unit read every keyed hour row of
rollup_calls (~1.6 per call: 1.4 million on a 10-million-call year); per hour × queue × one
key they read at most 720 rows per queue. Hours already built get their rows here, from
rollup_calls, so nothing has to be rebuilt.

Revision ID: 0019_dims
Revises: 0018_warnstore
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dims"
down_revision: str | None = "0018_warnstore"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = (
    "calls", "offered", "answered", "answered_within", "abandoned", "short_abandons",
    "timeouts", "join_rejections", "ivr_hangups", "satisfied", "basically_satisfied",
    "dissatisfied", "survey_none", "deflected", "transfers", "handlings", "ring_no_answer",
    "answered_wait_s", "talk_s",
)  # fmt: skip
# (dim, column, extra condition): a unit counts once when it first got and holds the case.
_KEYS = (
    ("category", "category", ""),
    ("area", "area", ""),
    ("unit", "first_unit", ""),
    ("unit", "handling_unit", " AND handling_unit <> first_unit"),
)


def upgrade() -> None:
    op.create_table(
        "rollup_call_hour_keys",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(80), nullable=False),
        sa.Column("dim", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
        sa.Column("longest_wait", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("queue", "dim", "value", "hour",
                                name="pk_rollup_call_hour_keys"),
    )  # fmt: skip
    counts = ", ".join(_COUNTS)
    parts = " UNION ALL ".join(
        f"SELECT bucket AS hour, queue, '{dim}' AS dim, {column} AS value, {counts},"
        f" longest_wait FROM rollup_calls WHERE span = 'hour' AND {column} <> ''{more}"
        for dim, column, more in _KEYS
    )
    sums = ", ".join(f"sum({name})" for name in _COUNTS)
    op.execute(
        f"INSERT INTO rollup_call_hour_keys (hour, queue, dim, value, {counts}, longest_wait)"
        f" SELECT hour, queue, dim, value, {sums}, max(longest_wait) FROM ({parts}) AS keyed"
        " GROUP BY hour, queue, dim, value"
    )


def downgrade() -> None:
    op.drop_table("rollup_call_hour_keys")
