"""Give every volunteer account a role: 'volunteer' (existing rows) or 'supervisor'.

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


def upgrade() -> None:
    # Batch mode: SQLite cannot add a CHECK constraint with ALTER, so it copies the table;
    # PostgreSQL gets plain ALTER TABLE statements. The server default fills existing rows.
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default="volunteer")
        )
        batch.create_check_constraint(
            op.f("ck_volunteers_role"), "role IN ('volunteer', 'supervisor')"
        )


def downgrade() -> None:
    # The constraint goes first: a copied SQLite table would keep a CHECK on a missing column.
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_constraint(op.f("ck_volunteers_role"), type_="check")
        batch.drop_column("role")
