"""Referral counts: how often children were put through to each partner, and per region.

Counts only and nothing more (issue 10): no contact id, time, line or volunteer leaves this
module, only a partner id, a region id and a number. The counting is done by the database
(``GROUP BY``), so a year of records is never loaded into Python; only the few result rows
are sorted here, because SQLite and PostgreSQL order text (collation) and NULLs differently
and a report should read the same on both.

A contact counts in the period its child arrived in, ``[since, until)``, as every other report
on ``contact_records`` does (``storage.records.RecordWriter.counts_by_outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from storage.models import ContactRecord


@dataclass(frozen=True, slots=True)
class PartnerCount:
    """Referrals to one partner in the period."""

    partner_id: str
    """The partner's directory id."""
    referrals: int
    """How many contacts were referred to it (at least 1: partners without any are absent)."""


@dataclass(frozen=True, slots=True)
class RegionCount:
    """Referrals to one partner for one region in the period."""

    partner_id: str
    """The partner's directory id."""
    region: str | None
    """The region (werkgebied) id; ``None`` counts the referrals where the child named none."""
    referrals: int
    """How many contacts were referred to the partner for this region (at least 1)."""


def referrals_per_partner(engine: Engine, since: datetime, until: datetime) -> list[PartnerCount]:
    """Referrals per partner of the contacts that arrived in ``[since, until)``, by partner id."""
    partner = ContactRecord.referral_partner
    stmt = select(partner, func.count()).where(*_referred_in(since, until)).group_by(partner)
    with engine.connect() as conn:
        rows = [PartnerCount(_partner(p), int(n)) for p, n in conn.execute(stmt)]
    return sorted(rows, key=lambda row: row.partner_id)


def referrals_per_region(engine: Engine, since: datetime, until: datetime) -> list[RegionCount]:
    """Referrals per (partner, region) in ``[since, until)``; by partner, "no region" first."""
    partner, region = ContactRecord.referral_partner, ContactRecord.referral_region
    stmt = (
        select(partner, region, func.count())
        .where(*_referred_in(since, until))
        .group_by(partner, region)
    )
    with engine.connect() as conn:
        rows = [RegionCount(_partner(p), r, int(n)) for p, r, n in conn.execute(stmt)]
    return sorted(rows, key=lambda row: (row.partner_id, row.region is not None, row.region or ""))


def _referred_in(since: datetime, until: datetime) -> tuple[Any, ...]:
    """The WHERE clauses: a referral, on a contact that arrived in ``[since, until)``."""
    if since.tzinfo is None or until.tzinfo is None:
        # A naive bound's zone would be a guess; the column holds UTC.
        raise ValueError("referral report: the period's bounds must be timezone-aware")
    if until < since:
        raise ValueError("referral report: the period ends before it starts")
    return (
        ContactRecord.referral_partner.is_not(None),
        ContactRecord.arrived_at >= since,
        ContactRecord.arrived_at < until,
    )


def _partner(value: str | None) -> str:
    # The column is nullable, but the WHERE clause kept only rows with a partner.
    assert value is not None
    return value
