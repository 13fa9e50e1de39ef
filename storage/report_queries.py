"""The report's SQL: contact figures, registrations and volunteer presence, grouped in the
database (``GROUP BY``) so a year of contacts is never loaded into Python.

Only the grouped rows come back: a few per line, channel or location, and at most one per UTC
hour and channel for the time of day (8,760 hours in a year). Folding UTC hours into local
hours of the day and of the week is done by the caller (``reports.figures``), because SQLite
has no time zones and the result must read the same on SQLite and PostgreSQL.

A contact counts in the period it arrived in, ``[since, until)``, as every report here does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Float, Integer, and_, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from storage.errors import InvalidReportPeriod
from storage.models import AgentPresenceRow, ContactRecord, RegistrationRow, RegistrationTopic

THRESHOLDS_S = (20, 60)
"""Service-level targets reported: answered within 20 s and within 60 s."""


class epoch_hour(FunctionElement[int]):  # noqa: N801 - SQL functions read lowercase
    """Whole hours since 1970 (UTC) of a timestamp column, on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True


@compiles(epoch_hour, "postgresql")
def _epoch_hour_pg(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"CAST(floor(extract(epoch FROM {compiler.process(column, **kw)}) / 3600) AS INTEGER)"


@compiles(epoch_hour, "sqlite")
def _epoch_hour_sqlite(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # The column holds UTC text (storage.models.UTCDateTime); '%s' reads it as UTC.
    (column,) = element.clauses
    return f"(CAST(strftime('%s', {compiler.process(column, **kw)}) AS INTEGER) / 3600)"


@dataclass(frozen=True, slots=True)
class ContactCounts:
    """Sums over a group of contacts; rates and averages are derived by the reader."""

    contacts: int
    """Contacts that arrived."""
    answered: int
    """Answered by a volunteer."""
    abandoned: int
    """The child left before an answer (short abandons included)."""
    short_abandoned: int
    """Abandoned within the short-abandon time: likely a misdial, reported apart."""
    overflowed: int
    """Sent to the overflow message (queue full, waited too long, closed)."""
    answered_within: tuple[int, ...]
    """Answered within each of ``THRESHOLDS_S``, in that order."""
    answer_wait_s: float
    """Summed waits of the answered contacts (for the average speed of answer)."""
    talk_s: float
    """Summed talk times of the answered contacts (for the average handling time)."""

    def __add__(self, other: ContactCounts) -> ContactCounts:
        return ContactCounts(
            self.contacts + other.contacts,
            self.answered + other.answered,
            self.abandoned + other.abandoned,
            self.short_abandoned + other.short_abandoned,
            self.overflowed + other.overflowed,
            tuple(a + b for a, b in zip(self.answered_within, other.answered_within, strict=True)),
            self.answer_wait_s + other.answer_wait_s,
            self.talk_s + other.talk_s,
        )


NO_CONTACTS = ContactCounts(0, 0, 0, 0, 0, (0,) * len(THRESHOLDS_S), 0.0, 0.0)


def _measures(short_abandon_s: float) -> list[ColumnElement[Any]]:
    c = ContactRecord
    answered = c.outcome == "answered"
    abandoned = c.outcome == "abandoned"

    def count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return [
        func.count(),
        count_if(answered),
        count_if(abandoned),
        count_if(and_(abandoned, c.wait_s < short_abandon_s)),
        count_if(c.outcome == "overflowed"),
        *(count_if(and_(answered, c.wait_s <= t)) for t in THRESHOLDS_S),
        func.coalesce(func.sum(case((answered, c.wait_s), else_=0.0)), 0.0),
        func.coalesce(func.sum(cast(func.coalesce(c.talk_s, 0.0), Float)), 0.0),
    ]


def _counts(values: Sequence[Any]) -> ContactCounts:
    n = len(THRESHOLDS_S)
    contacts, answered, abandoned, short, overflowed = (int(v) for v in values[:5])
    within = tuple(int(v) for v in values[5 : 5 + n])
    wait, talk = float(values[5 + n]), float(values[6 + n])
    return ContactCounts(contacts, answered, abandoned, short, overflowed, within, wait, talk)


def _in_period(since: datetime, until: datetime) -> tuple[ColumnElement[bool], ...]:
    check_period(since, until)
    return (ContactRecord.arrived_at >= since, ContactRecord.arrived_at < until)


def check_period(since: datetime, until: datetime) -> None:
    """InvalidReportPeriod unless both bounds are timezone-aware and ``since <= until``."""
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidReportPeriod("report: the period's bounds must be timezone-aware")
    if until < since:
        raise InvalidReportPeriod("report: the period ends before it starts")


def contacts_by_line_channel_location(
    engine: Engine, since: datetime, until: datetime, short_abandon_s: float
) -> dict[tuple[str, str, str | None], ContactCounts]:
    """Contact figures per (line, channel, location); the location is ``None`` for contacts
    never answered. One query: a few dozen groups, which the caller adds up per dimension."""
    c = ContactRecord
    keys = (c.line_id, c.channel, c.location_id)
    stmt = (
        select(*keys, *_measures(short_abandon_s)).where(*_in_period(since, until)).group_by(*keys)
    )
    with engine.connect() as conn:
        return {(row[0], row[1], row[2]): _counts(row[3:]) for row in conn.execute(stmt)}


def contacts_by_hour(
    engine: Engine, since: datetime, until: datetime, short_abandon_s: float
) -> dict[tuple[int, str], ContactCounts]:
    """Contact figures per (UTC epoch hour, channel)."""
    hour = epoch_hour(ContactRecord.arrived_at)
    channel = ContactRecord.channel
    stmt = (
        select(hour, channel, *_measures(short_abandon_s))
        .where(*_in_period(since, until))
        .group_by(hour, channel)
    )
    with engine.connect() as conn:
        return {(int(row[0]), str(row[1])): _counts(row[2:]) for row in conn.execute(stmt)}


def registration_profiles(
    engine: Engine, since: datetime, until: datetime
) -> dict[tuple[str, str, str], int]:
    """Registered contacts per (contact type, age band, gender): one query, a few dozen rows.

    A registration counts in the period its contact arrived in (joined on the contact id), so
    these counts sit beside the contact figures; a registration whose record is still in the
    spool counts once the record is written.
    """
    r = RegistrationRow
    keys = (r.contact_type, r.age_band, r.gender)
    source = r.__table__.join(ContactRecord.__table__, r.contact_id == ContactRecord.id)
    stmt = (
        select(*keys, func.count())
        .select_from(source)
        .where(*_in_period(since, until))
        .group_by(*keys)
    )
    with engine.connect() as conn:
        return {(str(t), str(a), str(g)): int(n) for t, a, g, n in conn.execute(stmt)}


def topic_counts(engine: Engine, since: datetime, until: datetime) -> dict[tuple[str, str], int]:
    """Registered topics per (category, topic); a contact with two topics counts for both."""
    t = RegistrationTopic
    source = t.__table__.join(ContactRecord.__table__, t.contact_id == ContactRecord.id)
    stmt = (
        select(t.category, t.topic, func.count())
        .select_from(source)
        .where(*_in_period(since, until))
        .group_by(t.category, t.topic)
    )
    with engine.connect() as conn:
        return {(str(c), str(k)): int(n) for c, k, n in conn.execute(stmt)}


def presence_by_hour(
    engine: Engine, since: datetime, until: datetime
) -> dict[tuple[int, str], float]:
    """Volunteer-seconds per (UTC epoch hour, ACD state), for the hours starting in the period."""
    check_period(since, until)
    p = AgentPresenceRow
    hour = epoch_hour(p.hour_start)
    stmt = (
        select(hour, p.state, func.sum(p.seconds))
        .where(p.hour_start >= since, p.hour_start < until)
        .group_by(hour, p.state)
    )
    with engine.connect() as conn:
        return {(int(h), str(s)): float(n) for h, s, n in conn.execute(stmt)}


def presence_by_location(
    engine: Engine, since: datetime, until: datetime
) -> dict[tuple[str, str], float]:
    """Volunteer-seconds per (location, ACD state) in the hours starting in the period."""
    check_period(since, until)
    p = AgentPresenceRow
    stmt = (
        select(p.location_id, p.state, func.sum(p.seconds))
        .where(p.hour_start >= since, p.hour_start < until)
        .group_by(p.location_id, p.state)
    )
    with engine.connect() as conn:
        return {(str(loc), str(s)): float(n) for loc, s, n in conn.execute(stmt)}
