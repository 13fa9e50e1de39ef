"""SQL tables: finished contact records and volunteer accounts.

Privacy is part of the schema: no table has a column that could hold a caller's number, name
or address. A contact is identified only by the ACD's random contact id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from config.settings import ROLES

# Deterministic constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CHANNELS = ("phone", "chat")
OUTCOMES = ("answered", "abandoned", "overflowed")

ID_LEN = 48  # config.Identifier allows at most 48 characters


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend stores.

    SQLite has no time zones, so values are normalised to UTC on the way in and tagged UTC on
    the way out; a naive datetime is refused because its zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; pass a timezone-aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base holding the shared metadata (and its naming convention)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class ContactRecord(Base):
    """One finished contact (call or chat), written once when it ends. Never a caller field."""

    __tablename__ = "contact_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    """The ACD's random contact id (a UUID), never derived from the caller."""
    channel: Mapped[str] = mapped_column(String(8))
    line_id: Mapped[str] = mapped_column(String(ID_LEN))
    language: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    wait_s: Mapped[float] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str] = mapped_column(String(12))
    overflow_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    volunteer_id: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    location_id: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)

    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("wait_s >= 0", name="wait_nonnegative"),
        # Reports slice by time, then by outcome / line / location within the window.
        Index("ix_contact_records_arrived_at", "arrived_at"),
        Index("ix_contact_records_arrived_outcome", "arrived_at", "outcome"),
        Index("ix_contact_records_volunteer_arrived", "volunteer_id", "arrived_at"),
    )


class Volunteer(Base):
    """A volunteer account: login, skills and the login's argon2 hash (no plaintext password).

    The SIP secret is not here: it is random, never derived from the password, and lives in
    :class:`SipSecret`.
    """

    __tablename__ = "volunteers"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    """Short login id; also the SIP user name of the volunteer's softphone."""
    name: Mapped[str] = mapped_column(String(100))
    location_id: Mapped[str] = mapped_column(String(ID_LEN))
    skills: Mapped[str] = mapped_column(String(200))
    """Comma-separated, sorted skill names."""
    languages: Mapped[str] = mapped_column(String(200))
    """Comma-separated language codes in the volunteer's order of preference."""
    young: Mapped[bool] = mapped_column(Boolean, default=False)
    """A peer volunteer aged 16-19: chat only, may take peer_chat."""
    password_hash: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    role: Mapped[str] = mapped_column(String(16), default="volunteer", server_default="volunteer")
    """One of config.settings.ROLES; decides what the account may see."""
    credential_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Raised by every password reset, disable and enable; a session made under an older
    version is refused at its next request."""

    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        Index("ix_volunteers_location_id", "location_id"),
    )


SIP_AUTH_ID_LEN = 64


class SipSecret(Base):
    """A SIP digest credential of a volunteer: the HA1 of a random secret, never the password.

    The HA1 is itself a working SIP credential for its realm: it is a secret like a password,
    never logged or shown. One row per pjsip auth object: today each volunteer has one device
    secret (``expires_at`` None) for a desk or softphone; the short-lived per-session secrets
    the browser softphone will mint are more rows with an ``expires_at``.
    """

    __tablename__ = "sip_secrets"

    auth_id: Mapped[str] = mapped_column(String(SIP_AUTH_ID_LEN), primary_key=True)
    """The pjsip auth object's id, e.g. ``anna-auth``."""
    volunteer_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("volunteers.id", ondelete="CASCADE")
    )
    ha1: Mapped[str] = mapped_column(String(32))
    """md5("user:realm:secret") of a random secret, for pjsip ``password_digest``."""
    realm: Mapped[str] = mapped_column(String(100))
    """The realm ``ha1`` was computed for; another realm needs a new secret."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """None for a device secret (valid until rotated)."""

    __table_args__ = (Index("ix_sip_secrets_volunteer_id", "volunteer_id"),)


MAX_HOURS_REASON_LEN = 200


class HoursExceptionRow(Base):
    """One ad-hoc closure or extra opening of the line (see storage.hours_store)."""

    __tablename__ = "hours_exceptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(ID_LEN))
    """A configured schedule name, or "*" for all."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(MAX_HOURS_REASON_LEN))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind IN ('closed', 'open')", name="kind"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_hours_exceptions_ends_at", "ends_at"),
    )
