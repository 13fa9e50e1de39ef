"""Opening hours, sans-IO: is a schedule open at ``now``, until when, and when does it reopen?

No clock and no storage here: the caller passes an aware ``now`` and the ad-hoc exceptions
(closures and extra openings) it loaded. All arithmetic is done in UTC on intervals built per
*local* date, so a day of 11:00-20:00 lasts 9 real hours on both DST Sundays, and an interval
that crosses the 02:00-03:00 gap or repeat is simply shorter or longer in real time.

Precedence: a closure beats everything; an extra opening opens an otherwise closed period; the
weekly schedule, holidays and holiday overrides decide the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from ivr.errors import InvalidTime
from ivr.hours_config import DEFAULT_SCHEDULE, Interval, ScheduleConfig, holiday_languages

LOOKAHEAD_DAYS = 14
"""How far ahead ``evaluate`` looks for the next opening or closing."""

ExceptionKind = Literal["closed", "open"]
ALL_SCHEDULES = "*"

Span = tuple[datetime, datetime]
"""An aware UTC interval, start inclusive, end exclusive."""


def _aware_utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime(f"{name}: a timezone-aware datetime is required")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class HoursException:
    """An ad-hoc closure or extra opening of one schedule (or of all, ``"*"``)."""

    id: int
    """Store id (shown in the CLI, used to remove it)."""
    schedule: str
    """Schedule name, or ``"*"`` for every schedule."""
    starts_at: datetime
    """Aware UTC, inclusive."""
    ends_at: datetime
    """Aware UTC, exclusive; after ``starts_at``."""
    kind: ExceptionKind
    """``"closed"`` (e.g. staff shortage) or ``"open"`` (an extra opening)."""
    reason: str
    """Short staff text, e.g. "staff shortage"; never anything about a caller."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", _aware_utc("starts_at", self.starts_at))
        object.__setattr__(self, "ends_at", _aware_utc("ends_at", self.ends_at))
        if self.ends_at <= self.starts_at:
            raise InvalidTime("ends_at must be after starts_at")
        if self.kind not in ("closed", "open"):
            raise InvalidTime(f"kind {self.kind!r}: expected 'closed' or 'open'")

    def applies_to(self, schedule: str) -> bool:
        """True for this schedule's own exceptions and the ``"*"`` ones."""
        return self.schedule in (ALL_SCHEDULES, schedule)

    def covers(self, moment: datetime) -> bool:
        """True while ``moment`` is inside the exception."""
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True, slots=True)
class HoursStatus:
    """The answer to "are we open now?"."""

    open: bool
    reason: str
    """"schedule", "holiday:<name>", "special_hours:<date>", "closed:<reason>" or
    "extra_opening:<reason>"."""
    closes_at: datetime | None
    """When open: when it closes (UTC); None if not within the look-ahead (e.g. 24/7)."""
    opens_at: datetime | None
    """When closed: the next opening (UTC); None if not within the look-ahead."""
    schedule: str = DEFAULT_SCHEDULE

    @property
    def next_change(self) -> datetime | None:
        """The next moment the answer changes: the deadline to re-evaluate at."""
        return self.closes_at if self.open else self.opens_at


@dataclass(frozen=True, slots=True)
class DayPlan:
    """The opening intervals of one local date, and why they are what they are."""

    day: date
    spans: tuple[Span, ...]
    """UTC intervals, sorted."""
    reason: str
    """"schedule", "holiday:<name>" or "special_hours:<YYYY-MM-DD>"."""


class OpeningHours:
    """One named schedule in one time zone; ``evaluate`` is pure and deterministic."""

    def __init__(
        self, schedule: ScheduleConfig, tz: ZoneInfo | str, name: str = DEFAULT_SCHEDULE
    ) -> None:
        self.name = name
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._weekly = schedule.weekly()
        self._by_date, self._by_name = schedule.overrides()
        self._closed_on_holidays = schedule.closed_on_holidays
        # One table per language: the library would otherwise pick the language from the
        # process locale (LANG), and names in the config must match whatever the locale is.
        self._calendars: tuple[holidays.HolidayBase, ...] = (
            tuple(
                holidays.country_holidays(schedule.holidays, language=language)
                for language in holiday_languages(schedule.holidays)
            )
            if schedule.holidays
            else ()
        )

    # -- days ---------------------------------------------------------------------------------

    def holiday(self, day: date) -> tuple[str, frozenset[str]] | None:
        """(display name in the country's language, all casefolded names) or None."""
        if not self._calendars:
            return None
        own = self._calendars[0].get_list(day)
        if not own:
            return None
        names = {n.casefold() for cal in self._calendars for n in cal.get_list(day)}
        return " / ".join(own), frozenset(names)

    def day_plan(self, day: date) -> DayPlan:
        """The intervals of a local date after holidays and ``holiday_hours``."""
        found = self.holiday(day)
        override = self._by_date.get(day)
        if override is None and found is not None:
            override = next(
                (self._by_name[n] for n in sorted(found[1]) if n in self._by_name), None
            )
        if found is not None:
            reason = f"holiday:{found[0]}"
        elif override is not None:
            reason = f"special_hours:{day.isoformat()}"
        else:
            reason = "schedule"
        if override is not None:
            intervals = override
        elif found is not None and self._closed_on_holidays:
            intervals = ()
        else:
            intervals = self._weekly[day.weekday()]
        spans = (self._span(day, iv) for iv in intervals)
        # Wall-clock hours that fall in the spring-forward gap do not exist: drop them.
        return DayPlan(day, tuple(s for s in spans if s[0] < s[1]), reason)

    def _span(self, day: date, interval: Interval) -> Span:
        start, end = interval
        return self._utc(day, start), self._utc(day, end)

    def _utc(self, day: date, minutes: int) -> datetime:
        # 24:00 is the next day's midnight. In the autumn repeat fold=0 picks the first
        # (summer-time) occurrence, so 01:00-03:00 lasts 3 real hours that night.
        day += timedelta(days=minutes // (24 * 60))
        minutes %= 24 * 60
        wall = datetime.combine(day, time(minutes // 60, minutes % 60))
        instant = wall.replace(tzinfo=self.tz).astimezone(UTC)
        if instant.astimezone(self.tz).replace(tzinfo=None) == wall:
            return instant
        # The wall time does not exist (spring-forward gap): use the moment the clock jumps, so
        # an interval means "the real time whose wall clock is inside it" (02:30-03:30 is 30 min).
        before = wall.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        return _transition(self.tz, before, instant)

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, now_utc: datetime, exceptions: Sequence[HoursException] = ()) -> HoursStatus:
        """Open at ``now_utc``? With when it closes, or when it next opens."""
        now = _aware_utc("now_utc", now_utc)
        today = now.astimezone(self.tz).date()
        plans = [self.day_plan(today + timedelta(days=i)) for i in range(-1, LOOKAHEAD_DAYS + 2)]
        # Spans reaching the end of the last planned day are cut there, not really closing.
        window_end = self._utc(plans[-1].day + timedelta(days=1), 0)

        mine = [e for e in exceptions if e.applies_to(self.name)]
        base = _merge(s for plan in plans for s in plan.spans)
        extra = [e for e in mine if e.kind == "open"]
        closures = [e for e in mine if e.kind == "closed"]
        timeline = _subtract(
            _merge([*base, *((e.starts_at, e.ends_at) for e in extra)]),
            _merge((e.starts_at, e.ends_at) for e in closures),
        )

        current = next((s for s in timeline if s[0] <= now < s[1]), None)
        if current is not None:
            in_base = any(s[0] <= now < s[1] for s in base)
            if in_base:
                reason = plans[1].reason
            else:
                opening = min((e for e in extra if e.covers(now)), key=lambda e: e.starts_at)
                reason = f"extra_opening:{opening.reason}"
            closes_at = current[1] if current[1] < window_end else None
            return HoursStatus(True, reason, closes_at, None, self.name)

        closure = min(
            (e for e in closures if e.covers(now)), key=lambda e: e.starts_at, default=None
        )
        reason = f"closed:{closure.reason}" if closure is not None else plans[1].reason
        limit = now + timedelta(days=LOOKAHEAD_DAYS)
        opens_at = next((s[0] for s in timeline if now < s[0] <= limit), None)
        return HoursStatus(False, reason, None, opens_at, self.name)


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, with overlapping or touching spans joined."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """``spans`` minus ``holes`` (both merged and sorted)."""
    out: list[Span] = []
    for start, end in spans:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def _transition(tz: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """The first instant in (lo, hi] that has ``hi``'s UTC offset in ``tz``, to the second."""
    target = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def days_until(now_utc: datetime, at_utc: datetime, tz: ZoneInfo) -> int:
    """Local calendar days from now to ``at`` (0 today, 1 tomorrow): "open again tomorrow"."""
    now = _aware_utc("now_utc", now_utc).astimezone(tz).date()
    at = _aware_utc("at_utc", at_utc).astimezone(tz).date()
    return (at - now).days
