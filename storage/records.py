"""Writing finished contacts to SQL, the spool that holds them meanwhile, and report queries.

A record holds only what the ACD knows about a contact's journey: random id, line, language,
timings, outcome, the volunteer who answered, and a referral to a partner if one was made
(partner, region, consent, whether the volunteer stayed). Free-text fields are restricted to
identifier shapes so a bug elsewhere cannot smuggle a caller's number or name into the table.

Errors tell the caller what to do with the record: :class:`RecordsUnavailable` (the database
is down: keep it, write it again later), :class:`DuplicateRecord` (already stored: done), any
other :class:`RecordError` (this record will never be accepted: set it aside).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from storage.errors import (
    DuplicateRecord,
    InvalidRecord,
    RecordError,
    RecordsUnavailable,
    SpoolUnavailable,
)
from storage.models import CHANNELS, OUTCOMES, ContactRecord

_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# Reasons are code words ("max_wait", "queue_full", "closed"): no digits, so never a number.
_REASON = re.compile(r"^[a-z][a-z_]{0,31}$")
_REFERRAL_FIELDS = (
    "referral_partner",
    "referral_region",
    "referral_consent",
    "referral_volunteer_stayed",
)


@dataclass(frozen=True, slots=True)
class ContactRecordData:
    """One finished contact as the ACD reports it. All times are timezone-aware UTC."""

    id: str
    """The ACD's random contact id (UUID string)."""
    channel: str
    """"phone", "chat" or "peer_chat"."""
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
    referral_partner: str | None = None
    """The partner the child was put through to (a directory id); None: no referral."""
    referral_region: str | None = None
    """The region (werkgebied) id, if the child named one."""
    referral_consent: bool | None = None
    """True with every referral (none is recorded without consent); None without one."""
    referral_volunteer_stayed: bool | None = None
    """The volunteer stayed in the three-way call until the end; None without a referral."""

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


def validate_record(
    rec: ContactRecordData,
    line_ids: Collection[str] | None = None,
    *,
    partner_ids: Collection[str] | None = None,
    region_ids: Collection[str] | None = None,
) -> None:
    """Raise InvalidRecord unless ``rec`` is consistent and holds only allowed shapes.

    ``line_ids``, ``partner_ids`` and ``region_ids``, when given, are the configured ones: an
    identifier-shaped value outside them (``0612345678`` is one) is refused.
    """
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
    _check_referral(rec)
    if partner_ids is not None and rec.referral_partner not in (None, *partner_ids):
        raise InvalidRecord("referral_partner: not a partner of the directory")
    if region_ids is not None and rec.referral_region not in (None, *region_ids):
        raise InvalidRecord("referral_region: not a configured region")


def _check_referral(rec: ContactRecordData) -> None:
    """A referral is all or nothing, made with consent, in a conversation with a volunteer."""
    if rec.referral_partner is None:
        if any(getattr(rec, name) is not None for name in _REFERRAL_FIELDS):
            raise InvalidRecord("referral: region, consent and volunteer_stayed need a partner")
        return
    _check_identifier("referral_partner", rec.referral_partner)
    _check_identifier("referral_region", rec.referral_region, optional=True)
    if rec.referral_consent is not True:
        raise InvalidRecord("referral_consent: a referral is recorded only with consent")
    if not isinstance(rec.referral_volunteer_stayed, bool):
        raise InvalidRecord("referral_volunteer_stayed: must be true or false")
    if rec.outcome != "answered":
        raise InvalidRecord(f"{rec.outcome}: must not have a referral")


def _to_data(row: Any) -> ContactRecordData:
    return ContactRecordData(**{f.name: getattr(row, f.name) for f in fields(ContactRecordData)})


class RecordWriter:
    """Writes finished contacts, one atomic INSERT each, and answers simple report queries.

    Synchronous and blocking: the app calls it on the record queue's own thread, never on a
    pool that the call path or logins use.
    """

    def __init__(
        self,
        engine: Engine,
        line_ids: Collection[str] | None = None,
        *,
        partner_ids: Collection[str] | None = None,
        region_ids: Collection[str] | None = None,
    ) -> None:
        self._engine = engine
        # When given, records for unknown lines, partners or regions are refused (defence
        # against mixed-up fields: a number has an identifier's shape too).
        self._line_ids = frozenset(line_ids) if line_ids is not None else None
        self._partner_ids = frozenset(partner_ids) if partner_ids is not None else None
        self._region_ids = frozenset(region_ids) if region_ids is not None else None

    def write(self, record: ContactRecordData | Mapping[str, Any]) -> None:
        """Store one finished contact; DuplicateRecord if its id exists (nothing changes)."""
        rec = record if isinstance(record, ContactRecordData) else _from_any(record)
        validate_record(
            rec, self._line_ids, partner_ids=self._partner_ids, region_ids=self._region_ids
        )
        values = {f.name: getattr(rec, f.name) for f in fields(ContactRecordData)}
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(ContactRecord), [values])
        except (IntegrityError, DataError) as exc:
            try:
                exists = self.get(rec.id) is not None
            except SQLAlchemyError as lookup_exc:
                raise RecordsUnavailable(
                    f"contact {rec.id} not written: {type(lookup_exc).__name__}"
                ) from exc
            if exists:
                raise DuplicateRecord(f"contact {rec.id} already recorded") from exc
            raise RecordError(f"contact {rec.id} refused by the database") from exc
        except SQLAlchemyError as exc:
            # Connection refused or lost, pool timeout, schema not migrated yet: the database is
            # not ready for records; none of it says this record is bad, so it is kept and retried.
            raise RecordsUnavailable(f"contact {rec.id} not written: {type(exc).__name__}") from exc

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

    def answered_since(self, since: datetime, limit: int) -> list[ContactRecordData]:
        """Answered contacts that ended at or after ``since``, newest first, at most ``limit``:
        the wrap-up forms a process taking over may still offer (``ix_contact_records_ended_at``).

        Newest first, so a cut by ``limit`` drops the oldest. RecordsUnavailable if the
        database fails.
        """
        if since.tzinfo is None:
            raise InvalidRecord("since: must be a timezone-aware datetime")
        stmt = (
            select(ContactRecord)
            .where(
                ContactRecord.ended_at >= since,
                ContactRecord.outcome == "answered",
                ContactRecord.volunteer_id.is_not(None),
            )
            .order_by(ContactRecord.ended_at.desc(), ContactRecord.id)
            .limit(limit)
        )
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(stmt).all()
        except SQLAlchemyError as exc:
            raise RecordsUnavailable(f"recent contacts not read: {type(exc).__name__}") from exc
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


_TIME_FIELDS = ("arrived_at", "ended_at", "answered_at")


def record_to_json(rec: ContactRecordData) -> str:
    """One record as a JSON line for the spool; times as ISO 8601 with their offset."""
    data: dict[str, Any] = {f.name: getattr(rec, f.name) for f in fields(ContactRecordData)}
    for name in _TIME_FIELDS:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    if all(data[name] is None for name in _REFERRAL_FIELDS):
        # Left out when there was no referral (almost always): such a line is exactly what a
        # version without referrals spools and reads, so an older standby draining a newer
        # primary's spool during an upgrade does not set those records aside as unknown.
        for name in _REFERRAL_FIELDS:
            del data[name]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def record_from_json(raw: str | bytes) -> ContactRecordData:
    """The record :func:`record_to_json` wrote; InvalidRecord if it is not one (nothing echoed).

    A line without the referral keys (no referral, or spooled before referrals existed) is a
    record without a referral.
    """
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRecord("spooled record: not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidRecord("spooled record: not a JSON object")
    for name in _TIME_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        try:
            data[name] = datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise InvalidRecord(f"spooled record: {name} is not an ISO time") from exc
    return ContactRecordData.from_mapping(data)


class RecordSpool(Protocol):
    """An ordered, shared list of JSON records waiting for SQL (oldest first).

    Several processes may read it at once (a standby taking over while the old primary still
    flushes), so a record is removed by its value, never by position: a record two processes
    both wrote is a :class:`DuplicateRecord` for the second, and nothing else is removed.
    Every method raises :class:`SpoolUnavailable` when the spool cannot be reached.
    """

    async def push(self, raws: Sequence[str]) -> None:
        """Append ``raws``, in order, at the tail."""

    async def head(self, n: int) -> tuple[list[str], int]:
        """Up to ``n`` records from the head (left in place) and the spool's length."""

    async def remove(self, raw: str) -> None:
        """Remove the oldest copy of ``raw`` (no-op if another reader removed it already)."""

    async def set_aside(self, raw: str) -> None:
        """Move ``raw`` to the dead-letter list, atomically: kept for a person to look at."""


class SpoolTail(Protocol):
    """The newest records still waiting for SQL: what a process taking over reads besides SQL
    (a record leaves the spool only after SQL committed it, so one of the two has it)."""

    async def tail(self, n: int) -> list[str]:
        """Up to ``n`` records from the tail (the newest), oldest first; SpoolUnavailable."""


class RedisRecordSpool:
    """The spool as two Redis lists: ``<prefix>records:spool`` and ``<prefix>records:dead``.

    Redis, not a local file: it outlives our process and is what a standby on another machine
    reads when it takes over the lease, so the records of a crashed primary are written by its
    successor. A record reaches Redis milliseconds after the contact ends.
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        base = prefix.rstrip(":")
        self._client = client
        self.key = f"{base}:records:spool"
        """The list of records waiting for SQL."""
        self.dead_key = f"{base}:records:dead"
        """Records SQL refused as invalid, moved aside so they never block the spool."""

    async def push(self, raws: Sequence[str]) -> None:
        try:
            await self._client.rpush(self.key, *raws)
        except (RedisError, OSError) as exc:
            raise SpoolUnavailable("cannot append to the records spool") from exc

    async def head(self, n: int) -> tuple[list[str], int]:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.lrange(self.key, 0, n - 1)
                pipe.llen(self.key)
                items, length = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise SpoolUnavailable("cannot read the records spool") from exc
        return [i.decode() if isinstance(i, bytes) else i for i in items], int(length)

    async def remove(self, raw: str) -> None:
        try:
            await self._client.lrem(self.key, 1, raw)
        except (RedisError, OSError) as exc:
            raise SpoolUnavailable("cannot remove from the records spool") from exc

    async def tail(self, n: int) -> list[str]:
        if n <= 0:  # LRANGE -0 -1 would be the whole list
            return []
        try:
            items = await self._client.lrange(self.key, -n, -1)
        except (RedisError, OSError) as exc:
            raise SpoolUnavailable("cannot read the records spool") from exc
        return [i.decode() if isinstance(i, bytes) else i for i in items]

    async def set_aside(self, raw: str) -> None:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.rpush(self.dead_key, raw)
                pipe.lrem(self.key, 1, raw)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise SpoolUnavailable("cannot set a record aside") from exc


class MemoryRecordSpool:
    """The spool in this process only: lost with it. For tests and Redis-less tools."""

    def __init__(self) -> None:
        self.items: list[str] = []
        """Records waiting for SQL, oldest first."""
        self.dead: list[str] = []
        """Records set aside."""

    async def push(self, raws: Sequence[str]) -> None:
        self.items.extend(raws)

    async def head(self, n: int) -> tuple[list[str], int]:
        return self.items[:n], len(self.items)

    async def tail(self, n: int) -> list[str]:
        return self.items[-n:] if n > 0 else []

    async def remove(self, raw: str) -> None:
        if raw in self.items:
            self.items.remove(raw)

    async def set_aside(self, raw: str) -> None:
        self.dead.append(raw)
        await self.remove(raw)


def _from_any(data: Mapping[str, Any]) -> ContactRecordData:
    if not isinstance(data, Mapping):
        raise InvalidRecord(f"expected ContactRecordData or a mapping, got {type(data).__name__}")
    return ContactRecordData.from_mapping(data)


def _check_window(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidRecord("query window: datetimes must be timezone-aware")
