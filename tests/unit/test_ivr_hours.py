"""Opening hours: schedule config validation and the pure evaluation (DST, holidays, exceptions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ivr.errors import InvalidTime
from ivr.hours import HoursException, OpeningHours, days_until
from ivr.hours_config import (
    ScheduleConfig,
    default_schedules,
    line_schedule,
    parse_interval,
    validate_references,
)

AMS = ZoneInfo("Europe/Amsterdam")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    """A wall-clock time in Amsterdam, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=AMS).astimezone(UTC)


def hours(**kwargs) -> OpeningHours:
    kwargs.setdefault("daily", ["11:00-20:00"])
    return OpeningHours(ScheduleConfig(**kwargs), AMS)


def exc(start: str, end: str, kind="closed", reason="staff shortage", schedule="*", id=1):
    return HoursException(id, schedule, local(start), local(end), kind, reason)


# -- configuration -------------------------------------------------------------------------------


class _Wrapper(BaseModel):
    schedules: dict[str, ScheduleConfig]


def _error(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        _Wrapper.model_validate({"schedules": {"default": data}})
    err = info.value.errors()[0]
    return ".".join(str(p) for p in err["loc"]) + ": " + err["msg"]


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        ({"monday": ["11-20"]}, "schedules.default.monday", "expected HH:MM-HH:MM"),
        ({"daily": ["20:00-11:00"]}, "schedules.default.daily", "start must be before end"),
        ({"friday": ["11:00-11:00"]}, "schedules.default.friday", "start must be before end"),
        ({"sunday": ["25:00-26:00"]}, "schedules.default.sunday", "not a valid time"),
        ({"daily": ["11:00-24:30"]}, "schedules.default.daily", "not a valid time"),
        ({"daily": ["11:00-15:00", "14:00-20:00"]}, "schedules.default.daily", "overlap"),
        ({"dayly": ["11:00-20:00"]}, "schedules.default.dayly", "Extra inputs"),
        ({"holidays": "XX"}, "schedules.default.holidays", "country code"),
        ({"holiday_hours": {"Kerstmis": []}}, "schedules.default", "holiday_hours['Kerstmis']"),
        ({"holiday_hours": {"2025-13-01": []}}, "schedules.default", "YYYY-MM-DD"),
        ({"holiday_hours": {"Koningsdag": ["9-17"]}}, "schedules.default", "expected HH:MM"),
        (
            {"holidays": "", "holiday_hours": {"Koningsdag": []}},
            "schedules.default",
            "no holiday country",
        ),
    ],
)
def test_bad_schedules_name_the_key(data, where, words):
    message = _error(data)
    assert message.startswith(where + ":"), message
    assert words in message


def test_unknown_holiday_name_lists_the_known_ones():
    message = _error({"holiday_hours": {"Kerstmis": []}})
    assert "eerste kerstdag" in message and "christmas day" in message


def test_valid_schedule_parses_all_day_and_several_intervals():
    cfg = ScheduleConfig(
        daily=["11:00-20:00"],
        saturday=["00:00-03:00", "10:00-24:00"],
        sunday=[],
        holiday_hours={"Eerste Kerstdag": ["13:00-17:00"], "2025-12-31": []},
    )
    weekly = cfg.weekly()
    assert weekly[0] == ((660, 1200),)
    assert weekly[5] == ((0, 180), (600, 1440))
    assert weekly[6] == ()
    assert parse_interval("00:00-24:00") == (0, 1440)
    assert default_schedules()["default"].weekly() == (((660, 1200),),) * 7


def test_schedule_is_frozen():
    cfg = ScheduleConfig(daily=["11:00-20:00"])
    with pytest.raises(ValidationError):
        cfg.daily = []  # type: ignore[misc]


@dataclass
class _Line:
    id: str
    schedule: str = "default"
    chat_schedule: str | None = None


def test_line_schedule_and_references():
    schedules = {"default": ScheduleConfig(), "chat": ScheduleConfig(daily=["14:00-21:00"])}
    line = _Line("116111", chat_schedule="chat")
    assert line_schedule(line, "phone") == "default"
    assert line_schedule(line, "chat") == "chat"
    assert line_schedule(_Line("x"), "chat") == "default"  # None: same as the phone
    validate_references(schedules, [line, _Line("0800")])
    with pytest.raises(ValueError, match=r"lines\[1\]\.chat_schedule 'night' is not in schedules"):
        validate_references(schedules, [line, _Line("0800", chat_schedule="night")])
    with pytest.raises(ValueError, match=r"lines\[0\]\.schedule 'x'"):
        validate_references(schedules, [_Line("a", schedule="x")])
    with pytest.raises(ValueError, match="schedules.Bad Name"):
        validate_references({"Bad Name": ScheduleConfig()}, [])


# -- the weekly schedule and DST -----------------------------------------------------------------


def test_open_during_hours_closed_outside():
    oh = hours()
    st_ = oh.evaluate(local("2025-06-02 12:00"))
    assert (st_.open, st_.reason, st_.closes_at) == (True, "schedule", local("2025-06-02 20:00"))
    assert st_.opens_at is None and st_.next_change == st_.closes_at
    before = oh.evaluate(local("2025-06-02 10:59"))
    assert (before.open, before.opens_at) == (False, local("2025-06-02 11:00"))
    at_close = oh.evaluate(local("2025-06-02 20:00"))  # end is exclusive
    assert (at_close.open, at_close.opens_at) == (False, local("2025-06-03 11:00"))


def test_naive_now_is_refused():
    with pytest.raises(InvalidTime):
        hours().evaluate(datetime(2025, 6, 2, 12, 0))


@pytest.mark.parametrize(
    ("day", "opens_utc", "closes_utc"),
    [
        ("2025-03-30", "2025-03-30 09:00", "2025-03-30 18:00"),  # spring forward: CEST
        ("2025-10-26", "2025-10-26 10:00", "2025-10-26 19:00"),  # fall back: CET
    ],
)
def test_dst_sundays_keep_a_nine_hour_day(day, opens_utc, closes_utc):
    oh = hours()
    early = oh.evaluate(utc(f"{day} 00:30"))
    assert early.opens_at == utc(opens_utc)
    during = oh.evaluate(utc(opens_utc))
    assert during.open and during.closes_at == utc(closes_utc)
    assert during.closes_at - early.opens_at == timedelta(hours=9)


def test_interval_across_the_dst_change_is_shorter_or_longer_in_real_time():
    oh = hours(daily=["01:00-04:00"])
    spring = oh.evaluate(utc("2025-03-29 23:30"))  # 00:30 CET on the 30th
    assert spring.opens_at == utc("2025-03-30 00:00")  # 01:00 CET
    assert oh.evaluate(spring.opens_at).closes_at == utc("2025-03-30 02:00")  # 04:00 CEST: 2 h
    autumn = oh.evaluate(utc("2025-10-25 22:30"))  # 00:30 CEST on the 26th
    assert autumn.opens_at == utc("2025-10-25 23:00")  # 01:00 CEST
    assert oh.evaluate(autumn.opens_at).closes_at == utc("2025-10-26 03:00")  # 04:00 CET: 4 h


def test_hours_inside_the_spring_gap_do_not_exist():
    oh = hours(daily=["02:15-02:45", "11:00-20:00"])
    status = oh.evaluate(utc("2025-03-30 00:30"))
    assert not status.open
    assert status.opens_at == utc("2025-03-30 09:00")  # 11:00 CEST, not a zero-length opening
    # On an ordinary night the same interval is 30 minutes.
    night = oh.evaluate(local("2025-03-31 02:20"))
    assert night.open and night.closes_at == local("2025-03-31 02:45")


def test_interval_starting_in_the_spring_gap_opens_when_the_clock_jumps():
    oh = hours(daily=["02:30-03:30"])
    status = oh.evaluate(utc("2025-03-30 00:30"))
    assert status.opens_at == utc("2025-03-30 01:00")  # 03:00 CEST, the jump
    assert oh.evaluate(status.opens_at).closes_at == utc("2025-03-30 01:30")  # 03:30 CEST


def test_all_day_every_day_never_closes_within_the_lookahead():
    status = hours(daily=["00:00-24:00"]).evaluate(local("2025-10-26 02:30"))
    assert status.open and status.closes_at is None


def test_closed_schedule_has_no_next_opening():
    status = hours(daily=[]).evaluate(local("2025-06-02 12:00"))
    assert not status.open and status.opens_at is None


def test_weekday_overrides_daily():
    oh = hours(daily=["11:00-20:00"], saturday=["14:00-18:00"])
    sat = oh.evaluate(local("2025-06-07 12:00"))
    assert not sat.open and sat.opens_at == local("2025-06-07 14:00")


# -- holidays ----------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["C.UTF-8", "en_US.UTF-8", "nl_NL.UTF-8"])
def test_koningsdag_moves_to_the_26th_when_the_27th_is_a_sunday(monkeypatch, locale):
    # The holidays library names holidays in the locale's language unless told otherwise.
    monkeypatch.setenv("LANG", locale)
    monkeypatch.setenv("LANGUAGE", locale.split(".")[0])
    oh = hours()
    sat = oh.evaluate(local("2025-04-26 12:00"))
    assert (sat.open, sat.reason) == (False, "holiday:Koningsdag")
    assert sat.opens_at == local("2025-04-27 11:00")  # Sunday the 27th is an ordinary day
    assert oh.evaluate(local("2025-04-27 12:00")).open
    assert oh.evaluate(local("2024-04-27 12:00")).reason == "holiday:Koningsdag"


def test_christmas_closed_and_reopens_after_the_second_day():
    status = hours().evaluate(local("2025-12-24 20:30"))
    assert status.reason == "schedule"
    assert status.opens_at == local("2025-12-27 11:00")
    xmas = hours().evaluate(local("2025-12-26 12:00"))
    assert xmas.reason == "holiday:Tweede kerstdag" and not xmas.open


@pytest.mark.parametrize("name", ["Eerste Kerstdag", "christmas day"])
def test_holiday_override_with_shorter_hours_in_either_language(name):
    oh = hours(holiday_hours={name: ["13:00-17:00"]})
    morning = oh.evaluate(local("2025-12-25 11:30"))
    assert not morning.open and morning.opens_at == local("2025-12-25 13:00")
    afternoon = oh.evaluate(local("2025-12-25 14:00"))
    assert afternoon.open and afternoon.reason == "holiday:Eerste kerstdag"
    assert afternoon.closes_at == local("2025-12-25 17:00")


def test_date_override_on_an_ordinary_day_and_closed_date():
    oh = hours(holiday_hours={"2025-12-31": ["11:00-16:00"], "2025-06-03": []})
    nye = oh.evaluate(local("2025-12-31 12:00"))
    assert nye.open and nye.reason == "special_hours:2025-12-31"
    assert nye.closes_at == local("2025-12-31 16:00")
    shut = oh.evaluate(local("2025-06-03 12:00"))
    assert not shut.open and shut.opens_at == local("2025-06-04 11:00")


def test_holidays_can_be_kept_open_or_ignored():
    kept = hours(closed_on_holidays=False).evaluate(local("2025-12-25 12:00"))
    assert kept.open and kept.reason == "holiday:Eerste kerstdag"
    ignored = hours(holidays="").evaluate(local("2025-12-25 12:00"))
    assert ignored.open and ignored.reason == "schedule"


# -- exceptions --------------------------------------------------------------------------------


def test_closure_cuts_the_day_and_names_its_reason():
    oh = hours()
    shortage = [exc("2025-06-02 15:00", "2025-06-02 17:00")]
    before = oh.evaluate(local("2025-06-02 12:00"), shortage)
    assert before.open and before.closes_at == local("2025-06-02 15:00")
    during = oh.evaluate(local("2025-06-02 16:00"), shortage)
    assert (during.open, during.reason) == (False, "closed:staff shortage")
    assert during.opens_at == local("2025-06-02 17:00")


def test_closure_over_a_whole_day_points_to_the_next_day():
    closure = [exc("2025-06-02 00:00", "2025-06-03 00:00")]
    status = hours().evaluate(local("2025-06-02 09:00"), closure)
    assert status.reason == "closed:staff shortage"
    assert status.opens_at == local("2025-06-03 11:00")


def test_extra_opening_opens_a_closed_period_and_joins_the_schedule():
    oh = hours()
    extra = [exc("2025-06-02 20:00", "2025-06-02 23:00", kind="open", reason="campaign")]
    day = oh.evaluate(local("2025-06-02 12:00"), extra)
    assert day.closes_at == local("2025-06-02 23:00")
    night = oh.evaluate(local("2025-06-02 21:00"), extra)
    assert (night.open, night.reason) == (True, "extra_opening:campaign")
    morning = oh.evaluate(local("2025-06-02 08:00"), extra)
    assert morning.opens_at == local("2025-06-02 11:00")


def test_extra_opening_on_a_holiday():
    extra = [exc("2025-12-25 12:00", "2025-12-25 18:00", kind="open", reason="christmas line")]
    status = hours().evaluate(local("2025-12-25 08:00"), extra)
    assert status.reason == "holiday:Eerste kerstdag"
    assert status.opens_at == local("2025-12-25 12:00")


def test_closure_wins_over_an_extra_opening():
    both = [
        exc("2025-06-02 21:00", "2025-06-02 23:00", kind="open", reason="campaign", id=1),
        exc("2025-06-02 20:30", "2025-06-02 22:00", reason="power cut", id=2),
    ]
    status = hours().evaluate(local("2025-06-02 21:30"), both)
    assert (status.open, status.reason) == (False, "closed:power cut")
    assert status.opens_at == local("2025-06-02 22:00")
    assert hours().evaluate(local("2025-06-02 22:30"), both).closes_at == local("2025-06-02 23:00")


def test_exceptions_of_other_schedules_are_ignored():
    other = [exc("2025-06-02 00:00", "2025-06-03 00:00", schedule="chat")]
    assert hours().evaluate(local("2025-06-02 12:00"), other).open
    chat = OpeningHours(ScheduleConfig(daily=["11:00-20:00"]), "Europe/Amsterdam", name="chat")
    assert not chat.evaluate(local("2025-06-02 12:00"), other).open


def test_long_closure_has_no_opening_within_the_lookahead():
    closure = [exc("2025-06-01 00:00", "2025-07-01 00:00")]
    status = hours().evaluate(local("2025-06-02 12:00"), closure)
    assert not status.open and status.opens_at is None


def test_exception_checks_its_times():
    with pytest.raises(InvalidTime):
        exc("2025-06-02 15:00", "2025-06-02 15:00")
    with pytest.raises(InvalidTime):
        HoursException(1, "*", datetime(2025, 6, 2), local("2025-06-03 00:00"), "closed", "x")
    with pytest.raises(InvalidTime):
        exc("2025-06-02 15:00", "2025-06-02 16:00", kind="maybe")


def test_days_until_for_the_out_of_hours_message():
    status = hours().evaluate(local("2025-06-02 21:00"))
    assert status.opens_at is not None
    assert days_until(local("2025-06-02 21:00"), status.opens_at, AMS) == 1
    assert days_until(local("2025-06-02 08:00"), local("2025-06-02 11:00"), AMS) == 0


# -- invariant ---------------------------------------------------------------------------------

_T0 = utc("2025-03-20 00:00")
_minutes = st.integers(min_value=0, max_value=60 * 24 * 45)


@st.composite
def _exceptions(draw):
    out = []
    for i in range(draw(st.integers(0, 4))):
        start = _T0 + timedelta(minutes=draw(_minutes))
        length = timedelta(minutes=draw(st.integers(1, 60 * 24 * 3)))
        kind = draw(st.sampled_from(["closed", "open"]))
        out.append(HoursException(i, "*", start, start + length, kind, f"r{i}"))
    return out


_PROPERTY_HOURS = OpeningHours(
    ScheduleConfig(daily=["11:00-20:00"], saturday=["01:00-04:00", "10:00-24:00"]), AMS
)


@settings(max_examples=60, deadline=None)
@given(offset=_minutes, exceptions=_exceptions())
def test_next_change_is_exactly_where_the_answer_flips(offset, exceptions):
    oh = _PROPERTY_HOURS
    now = _T0 + timedelta(minutes=offset)
    status = oh.evaluate(now, exceptions)
    change = status.next_change
    if change is None:
        return
    tick = timedelta(microseconds=1)
    assert change > now
    assert oh.evaluate(change - tick, exceptions).open == status.open
    assert oh.evaluate(change, exceptions).open != status.open
