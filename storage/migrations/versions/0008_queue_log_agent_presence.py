"""Create queue_log (the Asterisk-compatible event log) and agent_presence (volunteer-seconds
per state, location and hour): issue 13's event log, occupancy and staffing advice.

Two new tables, nothing existing changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Lengths written out, not imported from storage.models: a migration stays what it was.
    data = [sa.Column(f"data{i}", sa.String(64), nullable=False) for i in range(1, 6)]
    op.create_table(
        "queue_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("callid", sa.String(36), nullable=False),
        sa.Column("queuename", sa.String(48), nullable=False),
        sa.Column("agent", sa.String(48), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        *data,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_log")),
    )
    op.create_index("ix_queue_log_time", "queue_log", ["time"])
    op.create_table(
        "agent_presence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location_id", sa.String(48), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.CheckConstraint("seconds >= 0", name=op.f("ck_agent_presence_seconds_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_presence")),
    )
    op.create_index("ix_agent_presence_hour_start", "agent_presence", ["hour_start"])


def downgrade() -> None:
    op.drop_index("ix_agent_presence_hour_start", table_name="agent_presence")
    op.drop_table("agent_presence")
    op.drop_index("ix_queue_log_time", table_name="queue_log")
    op.drop_table("queue_log")
