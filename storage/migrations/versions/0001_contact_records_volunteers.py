"""Create contact_records and volunteers.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_records",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("line_id", sa.String(48), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wait_s", sa.Float(), nullable=False),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("overflow_reason", sa.String(32), nullable=True),
        sa.Column("volunteer_id", sa.String(48), nullable=True),
        sa.Column("location_id", sa.String(48), nullable=True),
        sa.CheckConstraint("channel IN ('phone', 'chat')", name=op.f("ck_contact_records_channel")),
        sa.CheckConstraint(
            "outcome IN ('answered', 'abandoned', 'overflowed')",
            name=op.f("ck_contact_records_outcome"),
        ),
        sa.CheckConstraint("wait_s >= 0", name=op.f("ck_contact_records_wait_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_records")),
    )
    op.create_index("ix_contact_records_arrived_at", "contact_records", ["arrived_at"])
    op.create_index(
        "ix_contact_records_arrived_outcome", "contact_records", ["arrived_at", "outcome"]
    )
    op.create_index(
        "ix_contact_records_volunteer_arrived", "contact_records", ["volunteer_id", "arrived_at"]
    )

    op.create_table(
        "volunteers",
        sa.Column("id", sa.String(48), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("location_id", sa.String(48), nullable=False),
        sa.Column("skills", sa.String(200), nullable=False),
        sa.Column("languages", sa.String(200), nullable=False),
        sa.Column("young", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("sip_ha1", sa.String(32), nullable=False),
        sa.Column("sip_realm", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteers")),
    )
    op.create_index("ix_volunteers_location_id", "volunteers", ["location_id"])


def downgrade() -> None:
    op.drop_index("ix_volunteers_location_id", table_name="volunteers")
    op.drop_table("volunteers")
    op.drop_index("ix_contact_records_volunteer_arrived", table_name="contact_records")
    op.drop_index("ix_contact_records_arrived_outcome", table_name="contact_records")
    op.drop_index("ix_contact_records_arrived_at", table_name="contact_records")
    op.drop_table("contact_records")
