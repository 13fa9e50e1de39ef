"""Note a referral on the contact record: partner, region, consent, whether the volunteer stayed.

Four nullable columns (existing records had no referral: all NULL) and a CHECK that a referral
is all or nothing and never without consent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from storage.models: a migration stays what it was when models move.
_REFERRAL = (
    "(referral_partner IS NULL AND referral_region IS NULL AND referral_consent IS NULL"
    " AND referral_volunteer_stayed IS NULL)"
    # Consent IS NOT NULL spelled out: NULL = TRUE is NULL, and a NULL CHECK passes.
    " OR (referral_partner IS NOT NULL AND referral_consent IS NOT NULL"
    " AND referral_consent = TRUE AND referral_volunteer_stayed IS NOT NULL)"
)


def upgrade() -> None:
    # Batch mode: SQLite cannot add a CHECK constraint with ALTER, so it copies the table (its
    # other constraints and indexes are carried over); PostgreSQL gets plain ALTER TABLE
    # statements, and nullable columns without a default do not rewrite the table.
    with op.batch_alter_table("contact_records") as batch:
        batch.add_column(sa.Column("referral_partner", sa.String(48), nullable=True))
        batch.add_column(sa.Column("referral_region", sa.String(48), nullable=True))
        batch.add_column(sa.Column("referral_consent", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("referral_volunteer_stayed", sa.Boolean(), nullable=True))
        batch.create_check_constraint(op.f("ck_contact_records_referral"), _REFERRAL)


def downgrade() -> None:
    # The constraint goes first: a copied SQLite table would keep a CHECK on missing columns.
    with op.batch_alter_table("contact_records") as batch:
        batch.drop_constraint(op.f("ck_contact_records_referral"), type_="check")
        batch.drop_column("referral_volunteer_stayed")
        batch.drop_column("referral_consent")
        batch.drop_column("referral_region")
        batch.drop_column("referral_partner")
