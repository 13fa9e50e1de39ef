"""A report's figures over any period: the SQL groups (``storage.report_queries``) summed and
folded into local hours, with registrations, referrals, occupancy and the staffing advice.

A long period is queried month by month (local months), so a progress bar can move and no
single query holds the database for long; every figure is a sum, so the months add up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from reports.referrals import PartnerCount, RegionCount, referrals_per_partner, referrals_per_region
from reports.staffing import StaffingHour, staffing_advice
from storage.report_queries import (
    NO_CONTACTS,
    ContactCounts,
    check_period,
    contacts_by_hour,
    contacts_by_line_channel_location,
    presence_by_hour,
    presence_by_location,
    registration_profiles,
    topic_counts,
)

DIMENSIONS = ("line", "channel", "location")
REGISTRATION_DIMENSIONS = ("category", "topic", "age_band", "gender", "contact_type")
STEPS_PER_CHUNK = 4
"""Queries per month (progress bar units): lines/channels/locations, hours, presence twice."""
FINAL_STEPS = 2
"""Queries over the whole period: registrations and topics (each one scan of their table)."""


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """How to count (from ``[reports]``)."""

    short_abandon_s: float = 5.0
    """Abandons faster than this are short abandons."""
    target_answer_s: float = 20.0
    """Staffing target: answered within this many seconds ..."""
    target_service_level: float = 0.8
    """... for this share of the contacts."""


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a report shows; counts only, nothing about a single contact."""

    since: datetime
    """Start of the period (included), local time."""
    until: datetime
    """End of the period (excluded), local time."""
    settings: ReportSettings
    """How it was counted."""
    total: ContactCounts
    """All contacts of the period."""
    by: dict[str, dict[str, ContactCounts]]
    """Per dimension (line, channel, location), per value (``"-"``: none, e.g. unanswered)."""
    by_hour_of_day: dict[int, ContactCounts]
    """Per local hour of the day (0..23), all channels."""
    occupancy_seconds: dict[str, float]
    """Volunteer-seconds per ACD state over the period (empty: no presence recorded)."""
    occupancy_by_location: dict[str, dict[str, float]]
    """Volunteer-seconds per location and state."""
    registrations: dict[str, dict[str, int]]
    """Per registration dimension (category, topic, age band, gender, contact type)."""
    referrals: list[PartnerCount]
    """Referrals per partner."""
    referral_regions: list[RegionCount]
    """Referrals per partner and region."""
    staffing: list[StaffingHour]
    """Erlang C advice per local hour of the week (phone), beside the volunteers logged in."""


def local_months(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``[since, until)`` cut at the starts of local months (the zone of ``since``)."""
    start = since
    while start < until:
        first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
        # Built from the date, so a DST change inside the month does not shift the boundary.
        end = min(until, datetime.combine(following.date(), following.time(), since.tzinfo))
        yield start, end
        start = end


def build_report(
    engine: Engine,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    settings: ReportSettings = ReportSettings(),
    progress: Callable[[int], object] | None = None,
) -> Report:
    """The report of the contacts that arrived in ``[since, until)``; ``progress(n)`` is told
    of every ``n`` queries done (``progress_total(since, until, tz)`` in all)."""
    check_period(since, until)
    since, until = since.astimezone(tz), until.astimezone(tz)
    tick = progress or (lambda n: None)
    by: dict[str, dict[str, ContactCounts]] = {
        d: defaultdict(lambda: NO_CONTACTS) for d in DIMENSIONS
    }
    hours: defaultdict[tuple[int, str], ContactCounts] = defaultdict(lambda: NO_CONTACTS)
    registrations: dict[str, defaultdict[str, int]] = {
        d: defaultdict(int) for d in REGISTRATION_DIMENSIONS
    }
    presence: defaultdict[tuple[int, str], float] = defaultdict(float)
    at_location: defaultdict[tuple[str, str], float] = defaultdict(float)
    short = settings.short_abandon_s
    for start, end in local_months(since, until):
        for keys, counts in contacts_by_line_channel_location(engine, start, end, short).items():
            for dim, key in zip(DIMENSIONS, keys, strict=True):
                by[dim][key or "-"] += counts
        tick(1)
        for hour_key, counts in contacts_by_hour(engine, start, end, short).items():
            hours[hour_key] += counts
        tick(1)
        for pkey, seconds in presence_by_hour(engine, start, end).items():
            presence[pkey] += seconds
        tick(1)
        for lkey, seconds in presence_by_location(engine, start, end).items():
            at_location[lkey] += seconds
        tick(1)
    # Registrations in one query each over the whole period: they join on the contact id, and
    # per month the database would read all registrations twelve times.
    for (kind, age, gender), n in registration_profiles(engine, since, until).items():
        registrations["contact_type"][kind] += n
        registrations["age_band"][age] += n
        registrations["gender"][gender] += n
    tick(1)
    for (category, topic), n in topic_counts(engine, since, until).items():
        registrations["category"][category] += n
        registrations["topic"][topic] += n
    tick(1)
    total = sum(by["channel"].values(), NO_CONTACTS)
    by_hour_of_day: defaultdict[int, ContactCounts] = defaultdict(lambda: NO_CONTACTS)
    for (epoch_hour, _), counts in hours.items():
        by_hour_of_day[local_hour(epoch_hour, tz).hour] += counts
    occupancy_seconds: defaultdict[str, float] = defaultdict(float)
    for (_, state), seconds in presence.items():
        occupancy_seconds[state] += seconds
    by_location: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for (location, state), seconds in at_location.items():
        by_location[location][state] = seconds
    return Report(
        since=since,
        until=until,
        settings=settings,
        total=total,
        by={d: dict(sorted(v.items())) for d, v in by.items()},
        by_hour_of_day=dict(sorted(by_hour_of_day.items())),
        occupancy_seconds=dict(occupancy_seconds),
        occupancy_by_location=dict(sorted(by_location.items())),
        registrations={d: dict(sorted(v.items())) for d, v in registrations.items()},
        referrals=referrals_per_partner(engine, since, until),
        referral_regions=referrals_per_region(engine, since, until),
        staffing=staffing_advice(hours, presence, since, until, tz, settings_tuple(settings)),
    )


def settings_tuple(settings: ReportSettings) -> tuple[float, float]:
    """(target answer seconds, target service level) for the staffing advice."""
    return settings.target_answer_s, settings.target_service_level


def chunks(since: datetime, until: datetime, tz: ZoneInfo) -> int:
    """How many monthly pieces ``build_report`` queries."""
    return sum(1 for _ in local_months(since.astimezone(tz), until.astimezone(tz)))


def progress_total(since: datetime, until: datetime, tz: ZoneInfo) -> int:
    """The units ``build_report`` reports through ``progress`` (for a progress bar's total)."""
    return chunks(since, until, tz) * STEPS_PER_CHUNK + FINAL_STEPS


def local_hour(epoch_hour: int, tz: ZoneInfo) -> datetime:
    """The local time at the start of a UTC epoch hour."""
    return datetime.fromtimestamp(epoch_hour * 3600, tz)
