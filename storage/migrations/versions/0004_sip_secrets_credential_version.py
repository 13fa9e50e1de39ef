"""Random SIP secrets apart from the login, a credential version, and the 'admin' role.

The old ``volunteers.sip_ha1`` was md5(user:realm:login password): a SIP credential in itself
and a cheap offline test of the login password. It is dropped, not carried over: every account
gets the HA1 of a fresh random secret nobody knows (its phone is configured again with
``helpline volunteer sip-secret``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ROLES = "role IN ('volunteer', 'supervisor')"
_NEW_ROLES = "role IN ('volunteer', 'supervisor', 'admin')"


def _random_ha1(user: str, realm: str) -> str:
    # The same 256-bit secret storage.volunteers mints; its plaintext is thrown away here.
    secret = secrets.token_urlsafe(32)
    return hashlib.md5(f"{user}:{realm}:{secret}".encode()).hexdigest()  # noqa: S324


def upgrade() -> None:
    sip_secrets = op.create_table(
        "sip_secrets",
        sa.Column("auth_id", sa.String(64), nullable=False),
        sa.Column("volunteer_id", sa.String(48), nullable=False),
        sa.Column("ha1", sa.String(32), nullable=False),
        sa.Column("realm", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_sip_secrets_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("auth_id", name=op.f("pk_sip_secrets")),
    )
    op.create_index("ix_sip_secrets_volunteer_id", "sip_secrets", ["volunteer_id"])
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = conn.execute(sa.text("SELECT id, sip_realm FROM volunteers")).all()
    if rows:
        op.bulk_insert(
            sip_secrets,
            [
                {
                    "auth_id": f"{vid}-auth",
                    "volunteer_id": vid,
                    "ha1": _random_ha1(vid, realm),
                    "realm": realm,
                    "created_at": now,
                    "expires_at": None,
                }
                for vid, realm in rows
            ],
        )
    # Batch mode: SQLite cannot drop columns or replace a CHECK with ALTER, so it copies the
    # table; PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_constraint(op.f("ck_volunteers_role"), type_="check")
        batch.drop_column("sip_ha1")
        batch.drop_column("sip_realm")
        batch.add_column(
            sa.Column("credential_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_check_constraint(op.f("ck_volunteers_role"), _NEW_ROLES)


def downgrade() -> None:
    # Admins become supervisors (the nearest older role) before the old CHECK returns.
    op.execute(sa.text("UPDATE volunteers SET role = 'supervisor' WHERE role = 'admin'"))
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_constraint(op.f("ck_volunteers_role"), type_="check")
        batch.drop_column("credential_version")
        batch.add_column(
            sa.Column("sip_ha1", sa.String(32), nullable=False, server_default="0" * 32)
        )
        batch.add_column(sa.Column("sip_realm", sa.String(100), nullable=False, server_default=""))
        batch.create_check_constraint(op.f("ck_volunteers_role"), _OLD_ROLES)
    # The random device secrets go back where 0003 kept the digest; never a password's.
    device = "FROM sip_secrets s WHERE s.volunteer_id = volunteers.id AND s.expires_at IS NULL"
    op.execute(
        sa.text(
            f"UPDATE volunteers SET sip_ha1 = (SELECT s.ha1 {device}),"
            f" sip_realm = (SELECT s.realm {device}) WHERE EXISTS (SELECT 1 {device})"
        )
    )
    op.drop_index("ix_sip_secrets_volunteer_id", table_name="sip_secrets")
    op.drop_table("sip_secrets")
