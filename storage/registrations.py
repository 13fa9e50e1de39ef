"""The anonymous registrations volunteers make in wrap-up, and the deletion of expired notes.

A registration names its contact by the ACD's random id and holds only ids from the configured
lists (``[registration]``): the kind of contact, topics, age band and gender. Every value is
checked against the configuration before it is written, so a bug elsewhere cannot put text in
these columns. The one exception is ``notes``, and only where a helpline enables them: each
note carries its expiry and :meth:`RegistrationStore.purge_notes` deletes it then (the app
runs it periodically, ``helpline registrations purge-notes`` on demand).

Synchronous and blocking: the web layer calls it in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from config.registration import NOTES_MAX_LEN, RegistrationSection
from config.settings import HelplineConfig, is_identifier
from storage.errors import (
    InvalidRegistration,
    RegistrationConflict,
    RegistrationsUnavailable,
)
from storage.models import RegistrationRow, RegistrationTopic
from storage.record_queue import record_id

log = logging.getLogger(__name__)

MAX_TOPICS = 20
"""Topics per registration at most (the configured list is longer; nobody ticks them all)."""

_CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,35}")
"""The ACD's contact ids (UUIDs in the app); fits ``String(36)``."""

PURGE_EVERY_S = 3600.0
"""How often the running app deletes expired notes."""


@dataclass(frozen=True, slots=True)
class Registration:
    """What a volunteer registered about a contact. Times are timezone-aware UTC."""

    contact_id: str
    volunteer_id: str
    """Who registered it (the volunteer who handled the contact)."""
    contact_type: str
    topics: tuple[str, ...]
    """Topic ids: a main category (``family``) or a sub-category (``violence.physical``)."""
    age_band: str
    gender: str
    notes: str | None = None
    """Free text, only where notes are enabled; gone after ``notes_expire_at``."""
    notes_expire_at: datetime | None = None
    """Set by the store when saved with notes."""
    saved_at: datetime | None = None
    """Set by the store: when it was (last) saved, to the minute."""


def minute(at: datetime) -> datetime:
    """``at`` in UTC, rounded down to the minute (no finer than a report needs)."""
    if at.tzinfo is None:
        raise InvalidRegistration("saved_at", "must be a timezone-aware datetime")
    return at.astimezone(UTC).replace(second=0, microsecond=0)


class RegistrationStore:
    """Saves (and replaces) registrations, reads them back, deletes expired notes."""

    def __init__(self, engine: Engine, section: RegistrationSection) -> None:
        self._engine = engine
        self.section = section
        self._topics = section.topic_ids()
        self._contact_types = frozenset(c.id for c in section.contact_types)
        self._age_bands = frozenset(c.id for c in section.age_bands)
        self._genders = frozenset(c.id for c in section.genders)

    @classmethod
    def from_config(cls, engine: Engine, cfg: HelplineConfig) -> RegistrationStore:
        return cls(engine, cfg.registration)

    # ------------------------------------------------------------------ checks

    def check(self, reg: Registration) -> Registration:
        """``reg`` with its topics sorted and de-duplicated and an empty note as none;
        InvalidRegistration naming the first field that is not allowed."""
        if not isinstance(reg.contact_id, str) or not _CONTACT_ID.fullmatch(
            record_id(reg.contact_id)
        ):
            raise InvalidRegistration("contact_id", "not a contact id")
        if not is_identifier(reg.volunteer_id):
            raise InvalidRegistration("volunteer_id", "not a volunteer id")
        _one_of("contact_type", reg.contact_type, self._contact_types)
        if len(reg.topics) > MAX_TOPICS:
            raise InvalidRegistration("topics", f"at most {MAX_TOPICS}")
        for i, topic in enumerate(reg.topics):
            if not isinstance(topic, str) or topic not in self._topics:
                raise InvalidRegistration(f"topics[{i}]", "not a configured topic")
        topics = tuple(sorted(set(reg.topics)))
        _one_of("age_band", reg.age_band, self._age_bands)
        _one_of("gender", reg.gender, self._genders)
        notes = reg.notes
        if notes is not None:
            if not self.section.notes_enabled:
                raise InvalidRegistration("notes", "notes are not enabled on this helpline")
            if not isinstance(notes, str) or len(notes) > NOTES_MAX_LEN or "\x00" in notes:
                raise InvalidRegistration("notes", f"must be text of at most {NOTES_MAX_LEN}")
            notes = notes.strip() or None
        return Registration(
            reg.contact_id,
            reg.volunteer_id,
            reg.contact_type,
            topics,
            reg.age_band,
            reg.gender,
            notes,
        )

    # ------------------------------------------------------------------ writing

    def save(self, reg: Registration, now: datetime) -> Registration:
        """Store ``reg``, replacing an earlier registration of the contact by the same
        volunteer (in one transaction); returns it as stored. RegistrationConflict if another
        volunteer registered the contact; RegistrationsUnavailable if the database fails."""
        reg = self.check(reg)
        saved_at = minute(now)
        expire = None
        if reg.notes is not None:
            days = self.section.notes_retention_days
            assert days is not None  # config: required when notes are enabled
            expire = saved_at + timedelta(days=days)
        stored = Registration(
            reg.contact_id,
            reg.volunteer_id,
            reg.contact_type,
            reg.topics,
            reg.age_band,
            reg.gender,
            reg.notes,
            expire,
            saved_at,
        )
        try:
            self._replace(stored)
        except SQLAlchemyError as exc:
            raise RegistrationsUnavailable(
                f"contact {reg.contact_id}: not saved ({type(exc).__name__})"
            ) from exc
        return stored

    def _replace(self, reg: Registration) -> None:
        # Keyed like the contact's record (a chat's id is written as a UUID there).
        key = record_id(reg.contact_id)
        values = {
            "contact_id": key,
            "volunteer_id": reg.volunteer_id,
            "contact_type": reg.contact_type,
            "age_band": reg.age_band,
            "gender": reg.gender,
            "notes": reg.notes,
            "notes_expire_at": reg.notes_expire_at,
            "saved_at": reg.saved_at,
        }
        with self._engine.begin() as conn:
            # An upsert, not delete-then-insert: it locks the row, so saves of one contact at
            # once (a double click, two tabs) take turns and each replaces the last whole,
            # topics included. Another volunteer's row is left alone (no row updated).
            upsert = _insert_for(conn.dialect.name)(RegistrationRow).values(values)
            changed = {k: upsert.excluded[k] for k in values if k != "contact_id"}
            stmt = upsert.on_conflict_do_update(
                index_elements=[RegistrationRow.contact_id],
                set_=changed,
                where=RegistrationRow.volunteer_id == upsert.excluded.volunteer_id,
            ).returning(RegistrationRow.contact_id)
            # RETURNING, not rowcount: psycopg reports -1 for an upsert.
            if conn.execute(stmt).first() is None:
                raise RegistrationConflict(f"contact {key} is registered by another volunteer")
            conn.execute(delete(RegistrationTopic).where(RegistrationTopic.contact_id == key))
            if reg.topics:
                conn.execute(
                    insert(RegistrationTopic),
                    [
                        {"contact_id": key, "topic": t, "category": self._topics[t]}
                        for t in reg.topics
                    ],
                )

    def purge_notes(self, now: datetime) -> int:
        """Delete every note whose expiry is at or before ``now``; returns how many."""
        if now.tzinfo is None:
            raise InvalidRegistration("now", "must be a timezone-aware datetime")
        stmt = (
            update(RegistrationRow)
            .where(RegistrationRow.notes_expire_at <= now)
            .values(notes=None, notes_expire_at=None)
        )
        try:
            with self._engine.begin() as conn:
                return conn.execute(stmt).rowcount
        except SQLAlchemyError as exc:
            raise RegistrationsUnavailable(f"notes not purged ({type(exc).__name__})") from exc

    # ------------------------------------------------------------------ reading

    def get(self, contact_id: str) -> Registration | None:
        """The registration of ``contact_id``, or None."""
        key = record_id(contact_id)
        try:
            with self._engine.connect() as conn:
                row = conn.execute(
                    select(RegistrationRow).where(RegistrationRow.contact_id == key)
                ).first()
                if row is None:
                    return None
                topics = conn.execute(
                    select(RegistrationTopic.topic).where(RegistrationTopic.contact_id == key)
                ).scalars()
                ordered = tuple(sorted(topics))
        except SQLAlchemyError as exc:
            raise RegistrationsUnavailable(f"cannot read ({type(exc).__name__})") from exc
        return Registration(
            contact_id,
            row.volunteer_id,
            row.contact_type,
            ordered,
            row.age_band,
            row.gender,
            row.notes,
            row.notes_expire_at,
            row.saved_at,
        )

    def categories_between(self, since: datetime, until: datetime) -> dict[str, int]:
        """Registrations saved in [since, until) per main topic category (a contact counts
        once per category, however many of its sub-categories were ticked)."""
        stmt = (
            select(
                RegistrationTopic.category, func.count(func.distinct(RegistrationRow.contact_id))
            )
            .join(RegistrationRow, RegistrationRow.contact_id == RegistrationTopic.contact_id)
            .where(RegistrationRow.saved_at >= since, RegistrationRow.saved_at < until)
            .group_by(RegistrationTopic.category)
        )
        with self._engine.connect() as conn:
            return {str(category): int(n) for category, n in conn.execute(stmt)}


def _insert_for(dialect: str) -> Any:
    """INSERT with ON CONFLICT for the two databases we run on (both spell it the same)."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RegistrationsUnavailable(f"registrations need SQLite or PostgreSQL, not {dialect}")


def _one_of(field: str, value: object, allowed: frozenset[str]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRegistration(field, "not one of the configured ids")


async def purge_notes_forever(
    store: RegistrationStore,
    *,
    every_s: float = PURGE_EVERY_S,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Delete expired notes now and then every ``every_s``, until cancelled. A failing
    database is logged and tried again next time; it never ends the loop."""
    while True:
        try:
            purged = await asyncio.to_thread(store.purge_notes, clock())
        except RegistrationsUnavailable as exc:
            log.warning("expired notes not purged: %s", exc)
        except Exception:  # a bug here must not stop the line (the app's tasks end it all)
            log.exception("expired notes not purged")
        else:
            if purged:
                log.info("deleted %d expired registration notes", purged)
        await asyncio.sleep(every_s)
