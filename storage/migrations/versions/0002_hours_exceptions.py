"""Create hours_exceptions: ad-hoc closures and extra openings of the opening hours.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hours_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(48), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('closed', 'open')", name=op.f("ck_hours_exceptions_kind")),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_hours_exceptions_ends_after_starts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hours_exceptions")),
    )
    op.create_index("ix_hours_exceptions_ends_at", "hours_exceptions", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_hours_exceptions_ends_at", table_name="hours_exceptions")
    op.drop_table("hours_exceptions")
