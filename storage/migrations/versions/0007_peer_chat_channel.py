"""Allow the channel ``peer_chat`` on a contact record (a chat with a young volunteer).

The channel column widens from 8 to 16 characters (``peer_chat`` has 9) and its CHECK allows
the new value. Existing records are untouched.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from storage.models: a migration stays what it was when models move.
_NEW = "channel IN ('phone', 'chat', 'peer_chat')"
_OLD = "channel IN ('phone', 'chat')"


def upgrade() -> None:
    # Batch mode: SQLite cannot change a CHECK with ALTER, so it copies the table (its other
    # constraints and indexes are carried over); PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table("contact_records") as batch:
        batch.drop_constraint(op.f("ck_contact_records_channel"), type_="check")
        batch.alter_column(
            "channel", existing_type=sa.String(8), type_=sa.String(16), existing_nullable=False
        )
        batch.create_check_constraint(op.f("ck_contact_records_channel"), _NEW)


def downgrade() -> None:
    # Refused by the database while a peer_chat record exists: deleting records is not a
    # migration's decision.
    with op.batch_alter_table("contact_records") as batch:
        batch.drop_constraint(op.f("ck_contact_records_channel"), type_="check")
        batch.alter_column(
            "channel", existing_type=sa.String(16), type_=sa.String(8), existing_nullable=False
        )
        batch.create_check_constraint(op.f("ck_contact_records_channel"), _OLD)
