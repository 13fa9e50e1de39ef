"""Index contact_records by ended_at: the recent answered contacts a process taking over reads.

At start and take-over the app reads the contacts that ended within the registration window
(``[registration] window_min``), newest first and bounded, so a volunteer in wrap-up can still
register the contact that ended before it. The existing indexes lead with ``arrived_at``, which
does not bound a long call's end. One index, nothing else changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contact_records_ended_at", "contact_records", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_contact_records_ended_at", table_name="contact_records")
