"""Opening-hours configuration: named weekly schedules with public holidays and overrides.

A ``[schedules.NAME]`` table in the helpline's TOML file::

    [schedules.default]
    daily = ["11:00-20:00"]          # or monday = [...], ..., sunday = [...]
    holidays = "NL"                  # country code for the `holidays` library, "" for none
    closed_on_holidays = true
    holiday_hours = { "Eerste kerstdag" = ["13:00-17:00"], "2025-12-31" = ["11:00-16:00"] }

Holiday names are matched case-insensitively in the country's own language *and* in English
("Eerste kerstdag" or "Christmas Day"): the ``holidays`` library picks its output language from
the process locale, so we never rely on that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Protocol

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60
_INTERVAL = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
# Holiday names are collected over these years to validate `holiday_hours` keys: wide enough to
# include holidays that only occur every few years (NL Liberation Day is a day off every 5).
_NAME_YEARS = range(2020, 2041)
ENGLISH = "en_US"

Interval = tuple[int, int]
"""Minutes since local midnight, start inclusive, end exclusive; end may be 1440 (24:00)."""


def parse_interval(text: str) -> Interval:
    """``"11:00-20:00"`` as minutes ``(660, 1200)``; ValueError with a clear message."""
    m = _INTERVAL.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r}: expected HH:MM-HH:MM, e.g. 11:00-20:00")
    sh, sm, eh, em = (int(g) for g in m.groups())
    if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em != 0):
        raise ValueError(f"{text!r}: not a valid time (00:00..24:00)")
    start, end = sh * 60 + sm, eh * 60 + em
    if start >= end:
        raise ValueError(f"{text!r}: start must be before end (use 00:00-24:00 for all day)")
    return start, end


def parse_intervals(texts: Sequence[str]) -> tuple[Interval, ...]:
    """Parse and sort a day's intervals; ValueError if any are malformed or overlap."""
    parsed = sorted(parse_interval(t) for t in texts)
    for (_, prev_end), (start, _) in zip(parsed, parsed[1:], strict=False):
        if start < prev_end:
            raise ValueError(f"intervals overlap: {_fmt(parsed)}")
    return tuple(parsed)


def _fmt(intervals: Iterable[Interval]) -> str:
    return ", ".join(f"{format_minutes(s)}-{format_minutes(e)}" for s, e in intervals)


def format_minutes(minutes: int) -> str:
    """Minutes since midnight as ``HH:MM`` (1440 is ``24:00``)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@functools.lru_cache(maxsize=16)
def holiday_names(country: str) -> frozenset[str]:
    """Every holiday name the country can produce (own language and English), casefolded."""
    if not country:
        return frozenset()
    names: set[str] = set()
    for language in holiday_languages(country):
        table = holidays.country_holidays(country, years=_NAME_YEARS, language=language)
        for value in table.values():
            names.update(part.strip().casefold() for part in value.split(";"))
    return frozenset(names)


def holiday_languages(country: str) -> tuple[str | None, ...]:
    """The languages we read holiday names in: the country's own first, then English."""
    probe = holidays.country_holidays(country, years=[])
    own = probe.default_language
    langs: list[str | None] = [own]
    if ENGLISH in probe.supported_languages and own != ENGLISH:
        langs.append(ENGLISH)
    return tuple(langs)


class ScheduleConfig(BaseModel):
    """Weekly opening hours plus how public holidays change them.

    A weekday key overrides ``daily``; a day with neither is closed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    daily: list[str] | None = None
    monday: list[str] | None = None
    tuesday: list[str] | None = None
    wednesday: list[str] | None = None
    thursday: list[str] | None = None
    friday: list[str] | None = None
    saturday: list[str] | None = None
    sunday: list[str] | None = None
    holidays: str = "NL"
    """Country code for the ``holidays`` library (e.g. "NL", "BE"), or "" for no holidays."""
    closed_on_holidays: bool = True
    holiday_hours: dict[str, list[str]] = Field(default_factory=dict)
    """Hours for one ISO date ("2025-12-31") or a holiday name; [] means closed that day."""

    @field_validator(
        "daily", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    )
    @classmethod
    def _valid_intervals(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            parse_intervals(value)
        return value

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value and value not in holidays.list_supported_countries():
            raise ValueError(f"{value!r} is not a country code the holidays library knows")
        return value

    @model_validator(mode="after")
    def _valid_overrides(self) -> ScheduleConfig:
        known = holiday_names(self.holidays)
        for key, texts in self.holiday_hours.items():
            try:
                parse_intervals(texts)
            except ValueError as exc:
                raise ValueError(f"holiday_hours[{key!r}]: {exc}") from None
            if _iso_date(key) is not None:
                continue
            if key.casefold() not in known:
                hint = (
                    f"holiday names of {self.holidays}: {', '.join(sorted(known))}"
                    if known
                    else 'no holiday country is set (holidays = "")'
                )
                raise ValueError(
                    f"holiday_hours[{key!r}]: neither a YYYY-MM-DD date nor a holiday name ({hint})"
                )
        return self

    def weekly(self) -> tuple[tuple[Interval, ...], ...]:
        """Seven tuples of intervals, Monday first."""
        days: list[tuple[Interval, ...]] = []
        for name in WEEKDAYS:
            texts: list[str] | None = getattr(self, name)
            if texts is None:
                texts = self.daily
            days.append(parse_intervals(texts or []))
        return tuple(days)

    def overrides(self) -> tuple[dict[date, tuple[Interval, ...]], dict[str, tuple[Interval, ...]]]:
        """``holiday_hours`` split into (by date, by casefolded holiday name)."""
        by_date: dict[date, tuple[Interval, ...]] = {}
        by_name: dict[str, tuple[Interval, ...]] = {}
        for key, texts in self.holiday_hours.items():
            day = _iso_date(key)
            if day is not None:
                by_date[day] = parse_intervals(texts)
            else:
                by_name[key.casefold()] = parse_intervals(texts)
        return by_date, by_name


def _iso_date(key: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
        return None
    try:
        return date.fromisoformat(key)
    except ValueError:
        return None


DEFAULT_SCHEDULE = "default"
ALWAYS_SCHEDULE = "always"
"""Built in: open day and night, every day, holidays too (a 24/7 partner such as Veilig Thuis)."""


def default_schedules() -> dict[str, ScheduleConfig]:
    """The default when the file has no ``[schedules]``: open 11:00-20:00 every day (NL)."""
    return {DEFAULT_SCHEDULE: ScheduleConfig(daily=["11:00-20:00"])}


def with_builtin_schedules(schedules: Mapping[str, ScheduleConfig]) -> dict[str, ScheduleConfig]:
    """``schedules`` plus ``always`` when the file does not define a schedule of that name.

    Adding it changes nothing a file already meant: no line names it (it could not, before),
    and a file's own ``always`` wins.
    """
    out = dict(schedules)
    out.setdefault(ALWAYS_SCHEDULE, ScheduleConfig(daily=["00:00-24:00"], holidays=""))
    return out


class LineLike(Protocol):
    """What the hours code needs of a configured line."""

    @property
    def id(self) -> str: ...


CHANNELS = ("phone", "chat")


def line_schedule(line: LineLike, channel: str) -> str:
    """The schedule name a line uses on ``channel`` ("phone" or "chat").

    ``chat_schedule = None`` means the chat follows the phone schedule. Read with getattr so
    this works on a ``Line`` with or without the ``schedule`` fields.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r}: expected one of {CHANNELS}")
    phone: str = getattr(line, "schedule", DEFAULT_SCHEDULE)
    if channel == "chat":
        chat: str | None = getattr(line, "chat_schedule", None)
        return chat if chat is not None else phone
    return phone


def configured_schedules(cfg: object) -> dict[str, ScheduleConfig]:
    """``cfg.schedules``, or the default schedules for a config without that section."""
    found: dict[str, ScheduleConfig] | None = getattr(cfg, "schedules", None)
    return dict(found) if found is not None else default_schedules()


def validate_references(schedules: Mapping[str, ScheduleConfig], lines: Sequence[LineLike]) -> None:
    """ValueError naming the key when a line names a schedule that is not configured."""
    for name in schedules:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,47}", name):
            raise ValueError(f"schedules.{name}: use 1-48 of a-z 0-9 _ - as a schedule name")
    for i, line in enumerate(lines):
        for key, channel in (("schedule", "phone"), ("chat_schedule", "chat")):
            name = line_schedule(line, channel)
            if name not in schedules:
                raise ValueError(
                    f"lines[{i}].{key} {name!r} is not in schedules "
                    f"(configured: {', '.join(sorted(schedules)) or 'none'})"
                )
