"""Create chat_survey_counts: the chat survey's answers, counted per day and channel.

One new table, nothing existing changes. Counts only: no chat id, no time of day.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Written out, not imported from storage.models: a migration stays what it was.
    op.create_table(
        "chat_survey_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("question", sa.String(16), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('chat', 'peer_chat')", name=op.f("ck_chat_survey_counts_channel")
        ),
        sa.CheckConstraint("count >= 0", name=op.f("ck_chat_survey_counts_count")),
        sa.PrimaryKeyConstraint(
            "day", "channel", "question", "answer", name=op.f("pk_chat_survey_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("chat_survey_counts")
