"""Create registrations and registration_topics: the anonymous wrap-up form of each contact.

Two new tables, nothing existing changes. A topic is a row of its own (not a delimited column)
so reports count topics and categories with GROUP BY in SQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Lengths written out, not imported from storage.models: a migration stays what it was.
    op.create_table(
        "registrations",
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("volunteer_id", sa.String(48), nullable=False),
        sa.Column("contact_type", sa.String(32), nullable=False),
        sa.Column("age_band", sa.String(32), nullable=False),
        sa.Column("gender", sa.String(32), nullable=False),
        sa.Column("notes", sa.String(2000), nullable=True),
        sa.Column("notes_expire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "notes IS NULL OR notes_expire_at IS NOT NULL",
            name=op.f("ck_registrations_notes_expire"),
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_registrations")),
    )
    op.create_index("ix_registrations_saved_at", "registrations", ["saved_at"])
    op.create_index("ix_registrations_notes_expire_at", "registrations", ["notes_expire_at"])
    op.create_table(
        "registration_topics",
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("topic", sa.String(65), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["registrations.contact_id"],
            name=op.f("fk_registration_topics_contact_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "topic", name=op.f("pk_registration_topics")),
    )
    op.create_index("ix_registration_topics_category", "registration_topics", ["category"])


def downgrade() -> None:
    op.drop_index("ix_registration_topics_category", table_name="registration_topics")
    op.drop_table("registration_topics")
    op.drop_index("ix_registrations_notes_expire_at", table_name="registrations")
    op.drop_index("ix_registrations_saved_at", table_name="registrations")
    op.drop_table("registrations")
