"""SQL tables: finished contact records and volunteer accounts.

Privacy is part of the schema: no table has a column that could hold a caller's number, name
or address. A contact is identified only by the ACD's random contact id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
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

CHANNELS = ("phone", "chat", "peer_chat")
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


REFERRAL_CHECK = (
    "(referral_partner IS NULL AND referral_region IS NULL AND referral_consent IS NULL"
    " AND referral_volunteer_stayed IS NULL)"
    # Consent IS NOT NULL spelled out: NULL = TRUE is NULL, and a NULL CHECK passes.
    " OR (referral_partner IS NOT NULL AND referral_consent IS NOT NULL"
    " AND referral_consent = TRUE AND referral_volunteer_stayed IS NOT NULL)"
)
"""A referral is all or nothing, and never without consent (also checked before writing)."""


class ContactRecord(Base):
    """One finished contact (call or chat), written once when it ends. Never a caller field."""

    __tablename__ = "contact_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    """The ACD's random contact id (a UUID), never derived from the caller."""
    channel: Mapped[str] = mapped_column(String(16))
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
    referral_partner: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    """The partner the child was put through to (a directory id), or None: no referral."""
    referral_region: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    """The region (werkgebied) id if the child named one; only with a referral."""
    referral_consent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Always true with a referral (none is made without consent); None without one."""
    referral_volunteer_stayed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """The volunteer stayed in the three-way call until the end; None without a referral."""

    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("wait_s >= 0", name="wait_nonnegative"),
        CheckConstraint(REFERRAL_CHECK, name="referral"),
        # Reports slice by time, then by outcome / line / location within the window.
        Index("ix_contact_records_arrived_at", "arrived_at"),
        Index("ix_contact_records_arrived_outcome", "arrived_at", "outcome"),
        Index("ix_contact_records_volunteer_arrived", "volunteer_id", "arrived_at"),
        # A process taking over reads the contacts that ended within the registration window.
        Index("ix_contact_records_ended_at", "ended_at"),
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


CHOICE_LEN = 32
"""A registration choice id (config.registration.CHOICE_ID)."""
TOPIC_LEN = 65
"""``<topic>.<sub-category>`` (config.registration.MAX_TOPIC_ID_LEN)."""
NOTES_LEN = 2000
"""config.registration.NOTES_MAX_LEN."""


class RegistrationRow(Base):
    """The anonymous registration of one contact, made by its volunteer in wrap-up.

    Ids from the configured lists only (``[registration]``), never free text, except ``notes``
    when a helpline enables them: those are deleted at ``notes_expire_at``. No foreign key to
    ``contact_records``: the record reaches SQL through the spool, possibly after this row.
    """

    __tablename__ = "registrations"

    contact_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    """The ACD's random contact id, as on the contact record."""
    volunteer_id: Mapped[str] = mapped_column(String(ID_LEN))
    contact_type: Mapped[str] = mapped_column(String(CHOICE_LEN))
    age_band: Mapped[str] = mapped_column(String(CHOICE_LEN))
    gender: Mapped[str] = mapped_column(String(CHOICE_LEN))
    notes: Mapped[str | None] = mapped_column(String(NOTES_LEN), nullable=True)
    """Only when ``[registration] notes_enabled``; deleted at ``notes_expire_at``."""
    notes_expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When it was (last) saved, to the minute."""

    __table_args__ = (
        CheckConstraint("notes IS NULL OR notes_expire_at IS NOT NULL", name="notes_expire"),
        Index("ix_registrations_saved_at", "saved_at"),
        Index("ix_registrations_notes_expire_at", "notes_expire_at"),
    )


class RegistrationTopic(Base):
    """One topic of a registration: a main category, or one of its sub-categories (then
    ``topic`` is ``violence.physical`` and ``category`` ``violence``), so reports count per
    category or per topic with a plain GROUP BY."""

    __tablename__ = "registration_topics"

    contact_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("registrations.contact_id", ondelete="CASCADE")
    )
    topic: Mapped[str] = mapped_column(String(TOPIC_LEN))
    category: Mapped[str] = mapped_column(String(CHOICE_LEN))

    __table_args__ = (
        PrimaryKeyConstraint("contact_id", "topic"),
        Index("ix_registration_topics_category", "category"),
    )


QUEUE_LOG_DATA_FIELDS = 5
"""``data1`` .. ``data5``, as Asterisk's realtime ``queue_log`` table has them."""


class QueueLogRow(Base):
    """One line of the Asterisk-compatible event log (``reports.queue_log``), as in Asterisk's
    realtime ``queue_log`` table, so QueueMetrics-style tools can read it from SQL too.

    ``callid`` is the ACD's random contact id and ``agent`` a volunteer's login id; no column can
    hold a caller's number (Asterisk's ENTERQUEUE caller id field is always written empty).
    """

    __tablename__ = "queue_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    callid: Mapped[str] = mapped_column(String(36))
    """The contact id, or ``NONE`` for a volunteer's own events (login, pause)."""
    queuename: Mapped[str] = mapped_column(String(ID_LEN))
    """The line id (a phone contact), the channel (a chat), or ``NONE``."""
    agent: Mapped[str] = mapped_column(String(ID_LEN))
    """The volunteer's login id, or ``NONE``."""
    event: Mapped[str] = mapped_column(String(20))
    data1: Mapped[str] = mapped_column(String(64), default="")
    data2: Mapped[str] = mapped_column(String(64), default="")
    data3: Mapped[str] = mapped_column(String(64), default="")
    data4: Mapped[str] = mapped_column(String(64), default="")
    data5: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_queue_log_time", "time"),)


AGENT_STATE_LEN = 16


class AgentPresenceRow(Base):
    """Volunteer-seconds spent in one ACD state, at one location, within one hour (UTC).

    Written by the event log as hours pass: several rows may share a key (one per flush), so
    readers SUM them. Logged-in volunteers per hour (``SUM(seconds) / 3600`` over the states
    other than logged out) and occupancy come from here; no row names a volunteer.
    """

    __tablename__ = "agent_presence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime())
    """The start of the UTC hour the seconds fall in."""
    location_id: Mapped[str] = mapped_column(String(ID_LEN))
    state: Mapped[str] = mapped_column(String(AGENT_STATE_LEN))
    """An ``acd.states.AgentState`` value other than ``logged_out``."""
    seconds: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        CheckConstraint("seconds >= 0", name="seconds_nonnegative"),
        Index("ix_agent_presence_hour_start", "hour_start"),
    )


SURVEY_CHANNELS = ("chat", "peer_chat")
SURVEY_ANSWER_LEN = 16


class ChatSurveyCount(Base):
    """How often each answer of the chat survey was given, per day and channel: counts only,
    nothing about who answered (not even a chat id)."""

    __tablename__ = "chat_survey_counts"

    day: Mapped[date] = mapped_column(Date())
    """The helpline's local day of the answer."""
    channel: Mapped[str] = mapped_column(String(16))
    """``chat`` or ``peer_chat``."""
    question: Mapped[str] = mapped_column(String(SURVEY_ANSWER_LEN))
    answer: Mapped[str] = mapped_column(String(SURVEY_ANSWER_LEN))
    count: Mapped[int] = mapped_column(Integer())

    __table_args__ = (
        PrimaryKeyConstraint("day", "channel", "question", "answer"),
        CheckConstraint(_in("channel", SURVEY_CHANNELS), name="channel"),
        CheckConstraint("count >= 0", name="count"),
    )
