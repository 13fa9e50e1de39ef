"""Writing finished contacts to SQL, and the small query API reports build on.

A record holds only what the ACD knows about a contact's journey: random id, line, language,
timings, outcome and the volunteer who answered. Free-text fields are restricted to identifier
shapes so a bug elsewhere cannot smuggle a caller's number or name into the table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from helpline.db import StorageError
from helpline.models import CHANNELS, OUTCOMES, ContactRecord

_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# Reasons are code words ("max_wait", "queue_full", "closed"): no digits, so never a number.
_REASON = re.compile(r"^[a-z][a-z_]{0,31}$")


class RecordError(StorageError):
    """Base of errors about contact records."""


class InvalidRecord(RecordError):
    """The record is malformed (bad outcome, naive time, suspicious text...); nothing written."""


class DuplicateRecord(RecordError):
    """A record with this contact id already exists; the existing row is left untouched."""


@dataclass(frozen=True, slots=True)
class ContactRecordData:
    """One finished contact as the ACD reports it. All times are timezone-aware UTC."""

    id: str
    """The ACD's random contact id (UUID string)."""
    channel: str
    """"phone" or "chat"."""
    line_id: str
    """Config id of the line dialled (e.g. "116111"), never the caller's number."""
    language: str
    priority: int
    arrived_at: datetime
    ended_at: datetime
    wait_s: float
    """Seconds from arrival to answer, or to the end when never answered."""
    outcome: str
    """"answered", "abandoned" or "overflowed"."""
    answered_at: datetime | None = None
    talk_s: float | None = None
    overflow_reason: str | None = None
    volunteer_id: str | None = None
    location_id: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ContactRecordData:
        """Build from a dict, refusing unknown keys (e.g. a stray ``caller`` field)."""
        names = {f.name for f in fields(cls)}
        extra = sorted(set(data) - names)
        if extra:
            raise InvalidRecord(f"unknown record fields {extra}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidRecord(f"incomplete record: {exc}") from exc


def _check_identifier(name: str, value: str | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise InvalidRecord(f"{name}: not an identifier")  # value not echoed: could be personal


def _check_time(name: str, value: datetime | None) -> None:
    if value is None:
        return
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRecord(f"{name}: must be a timezone-aware datetime")


def validate_record(rec: ContactRecordData, line_ids: Collection[str] | None = None) -> None:
    """Raise InvalidRecord unless ``rec`` is consistent and holds only allowed shapes."""
    try:
        uuid.UUID(rec.id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidRecord("id: not a UUID") from exc
    if rec.channel not in CHANNELS:
        raise InvalidRecord(f"channel: must be one of {CHANNELS}")
    if rec.outcome not in OUTCOMES:
        raise InvalidRecord(f"outcome: must be one of {OUTCOMES}")
    _check_identifier("line_id", rec.line_id)
    if line_ids is not None and rec.line_id not in line_ids:
        raise InvalidRecord("line_id: not a configured line")
    if not isinstance(rec.language, str) or not _LANGUAGE.match(rec.language):
        raise InvalidRecord("language: not a language code")
    _check_identifier("volunteer_id", rec.volunteer_id, optional=True)
    _check_identifier("location_id", rec.location_id, optional=True)
    if rec.overflow_reason is not None and not _REASON.match(rec.overflow_reason):
        raise InvalidRecord("overflow_reason: must be a lowercase code word")
    if not isinstance(rec.priority, int) or not 0 <= rec.priority <= 9:
        raise InvalidRecord("priority: must be 0..9")
    for name in ("arrived_at", "answered_at", "ended_at"):
        _check_time(name, getattr(rec, name))
    if rec.ended_at < rec.arrived_at:
        raise InvalidRecord("ended_at: before arrived_at")
    if rec.wait_s < 0 or (rec.talk_s is not None and rec.talk_s < 0):
        raise InvalidRecord("wait_s/talk_s: must not be negative")
    if rec.outcome == "answered":
        if rec.answered_at is None or rec.volunteer_id is None:
            raise InvalidRecord("answered: needs answered_at and volunteer_id")
        if not rec.arrived_at <= rec.answered_at <= rec.ended_at:
            raise InvalidRecord("answered_at: outside arrived_at..ended_at")
    elif rec.answered_at is not None:
        raise InvalidRecord(f"{rec.outcome}: must not have answered_at")
    if rec.outcome == "overflowed" and rec.overflow_reason is None:
        raise InvalidRecord("overflowed: needs overflow_reason")
    if rec.outcome != "overflowed" and rec.overflow_reason is not None:
        raise InvalidRecord(f"{rec.outcome}: must not have overflow_reason")


def _to_data(row: Any) -> ContactRecordData:
    return ContactRecordData(**{f.name: getattr(row, f.name) for f in fields(ContactRecordData)})


class RecordWriter:
    """Writes finished contacts, one atomic INSERT each, and answers simple report queries.

    Synchronous; the async app calls it through ``asyncio.to_thread``.
    """

    def __init__(self, engine: Engine, line_ids: Collection[str] | None = None) -> None:
        self._engine = engine
        # When given, records for unknown lines are refused (defence against mixed-up fields).
        self._line_ids = frozenset(line_ids) if line_ids is not None else None

    def write(self, record: ContactRecordData | Mapping[str, Any]) -> None:
        """Store one finished contact; DuplicateRecord if its id exists (nothing changes)."""
        rec = record if isinstance(record, ContactRecordData) else _from_any(record)
        validate_record(rec, self._line_ids)
        values = {f.name: getattr(rec, f.name) for f in fields(ContactRecordData)}
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(ContactRecord), [values])
        except IntegrityError as exc:
            if self.get(rec.id) is not None:
                raise DuplicateRecord(f"contact {rec.id} already recorded") from exc
            raise RecordError(f"contact {rec.id} refused by the database") from exc
        except SQLAlchemyError as exc:
            raise RecordError(f"contact {rec.id} not written: {type(exc).__name__}") from exc

    def get(self, contact_id: str) -> ContactRecordData | None:
        """The stored record for ``contact_id``, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(ContactRecord).where(ContactRecord.id == contact_id)).first()
        if row is None:
            return None
        return _to_data(row)

    def between(self, since: datetime, until: datetime) -> list[ContactRecordData]:
        """Records that arrived in [since, until), oldest first."""
        _check_window(since, until)
        stmt = (
            select(ContactRecord)
            .where(ContactRecord.arrived_at >= since, ContactRecord.arrived_at < until)
            .order_by(ContactRecord.arrived_at, ContactRecord.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [_to_data(r) for r in rows]

    def counts_by_outcome(self, since: datetime, until: datetime) -> dict[str, int]:
        """Contacts that arrived in [since, until) per outcome; all outcomes present (0 if none)."""
        _check_window(since, until)
        stmt = (
            select(ContactRecord.outcome, func.count())
            .where(ContactRecord.arrived_at >= since, ContactRecord.arrived_at < until)
            .group_by(ContactRecord.outcome)
        )
        counts = dict.fromkeys(OUTCOMES, 0)
        with self._engine.connect() as conn:
            for outcome, n in conn.execute(stmt):
                counts[outcome] = int(n)
        return counts


def _from_any(data: Mapping[str, Any]) -> ContactRecordData:
    if not isinstance(data, Mapping):
        raise InvalidRecord(f"expected ContactRecordData or a mapping, got {type(data).__name__}")
    return ContactRecordData.from_mapping(data)


def _check_window(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidRecord("query window: datetimes must be timezone-aware")
