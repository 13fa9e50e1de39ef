"""The in-memory opening-hours view: answers from memory, reloads when told, survives failures."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.hours import HoursException
from storage.errors import UnknownLine, UnknownSchedule
from storage.hours_view import EVALUATION_FAILED, HoursView, hours_channel
from tests.unit.web_support import make_config

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # Monday 12:00 in Amsterdam
LINE = "116111"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS).astimezone(UTC)


def closure(reason: str = "power cut", start: datetime = NOW, hours: float = 2, id: int = 1):
    return HoursException(id, "*", start, start + timedelta(hours=hours), "closed", reason)


class FakeStore:
    """A store in memory that can fail; records how often and on which thread it was read."""

    def __init__(self, *exceptions: HoursException) -> None:
        self.exceptions = list(exceptions)
        self.fail: Exception | None = None
        self.reads = 0
        self.threads: set[str] = set()

    def upcoming(self, now: datetime) -> list[HoursException]:
        self.reads += 1
        self.threads.add(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail
        return [e for e in self.exceptions if e.ends_at > now]


def view_of(store: FakeStore, **kwargs) -> HoursView:
    kwargs.setdefault("refresh_s", 600.0)
    kwargs.setdefault("clock", lambda: NOW)
    return HoursView(make_config(), store, **kwargs)


async def until(condition, timeout_s: float = 1.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_status_comes_from_memory_and_the_store_is_read_on_the_hours_thread():
    store = FakeStore()
    async with HoursView.running(
        make_config(), store, None, refresh_s=600.0, clock=lambda: NOW
    ) as view:
        assert view.known and store.reads == 1
        assert view.status(LINE, "phone", NOW).open
        store.exceptions.append(closure())
        for _ in range(100):
            assert view.status(LINE, "phone", NOW).open  # memory: not reloaded per call
        assert store.reads == 1
        assert await view.refresh()
        status = view.status(LINE, "phone", NOW)
        assert (status.open, status.reason) == (False, "closed:power cut")
        assert status.opens_at == NOW + timedelta(hours=2)
    # Never asyncio's default pool (asyncio_N), which logins once filled.
    assert {name.split("_")[0] for name in store.threads} == {"helpline-hours"}


async def test_a_requested_refresh_reloads_at_once_and_requests_coalesce():
    store = FakeStore()
    async with HoursView.running(
        make_config(), store, None, refresh_s=600.0, clock=lambda: NOW
    ) as view:
        store.exceptions.append(closure())
        for _ in range(5):
            view.request_refresh()
        await until(lambda: not view.status(LINE, "phone", NOW).open)
        await asyncio.sleep(0.05)
        assert store.reads == 2  # the first load, then one for all five requests


async def test_the_periodic_refresh_picks_up_a_change_nobody_announced():
    store = FakeStore()
    async with HoursView.running(
        make_config(), store, None, refresh_s=0.05, clock=lambda: NOW
    ) as view:
        store.exceptions.append(closure())
        await until(lambda: not view.status(LINE, "phone", NOW).open)


async def test_with_the_store_down_from_the_start_the_weekly_schedule_applies(caplog):
    store = FakeStore(closure())
    store.fail = ConnectionError("database is down")
    async with HoursView.running(
        make_config(), store, None, refresh_s=600.0, clock=lambda: NOW
    ) as view:
        assert not view.known and view.failing
        for _ in range(3):
            assert not await view.refresh()
        status = view.status(LINE, "phone", NOW)
        assert (status.open, status.reason) == (True, "schedule")  # the closure is not known
        evening = view.status(LINE, "phone", local("2025-06-02 21:00"))
        assert not evening.open and evening.opens_at == local("2025-06-03 11:00")
    warned = warnings_of(caplog)
    assert len(warned) == 1  # once per outage, not per attempt or per call
    assert "no exceptions known yet" in warned[0] and "ConnectionError" in warned[0]


async def test_an_outage_keeps_the_last_known_exceptions_and_is_logged_once(caplog):
    caplog.set_level(logging.INFO, logger="storage.hours_view")
    store = FakeStore(closure())
    view = view_of(store)
    assert await view.refresh()
    store.fail = OSError("connection refused")
    for _ in range(3):
        assert not await view.refresh()
    assert view.failing and not view.status(LINE, "phone", NOW).open  # the closure stands
    assert len(warnings_of(caplog)) == 1 and "1 exceptions loaded at" in warnings_of(caplog)[0]

    store.fail = None
    store.exceptions.clear()  # removed during the outage
    caplog.clear()
    assert await view.refresh()
    assert not view.failing and view.status(LINE, "phone", NOW).open
    assert any("answers again" in r.getMessage() for r in caplog.records)

    store.fail = OSError("again")
    assert not await view.refresh()
    assert len(warnings_of(caplog)) == 1  # a new outage is reported again


async def test_a_hung_store_counts_as_failing_and_is_not_asked_twice_at_once(caplog):
    store = FakeStore(closure())
    answer = threading.Event()
    real = store.upcoming

    def hanging(now):
        assert answer.wait(5)
        return real(now)

    store.upcoming = hanging  # type: ignore[method-assign]
    view = view_of(store, load_timeout_s=0.05)
    assert not await view.refresh() and view.failing
    assert not await view.refresh()  # waits on the same load: no second read queued
    assert store.reads == 0 and "TimeoutError" in caplog.text
    answer.set()
    assert await view.refresh()
    assert not view.status(LINE, "phone", NOW).open
    assert store.reads == 1


async def test_a_bug_in_the_evaluation_counts_the_line_as_open_and_is_logged_once(
    caplog, monkeypatch
):
    view = view_of(FakeStore(closure()))
    await view.refresh()

    def broken(now, exceptions=()):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(view.lines.hours("default"), "evaluate", broken)
    for _ in range(3):
        status = view.status(LINE, "phone", NOW)
        assert (status.open, status.reason, status.schedule) == (True, EVALUATION_FAILED, "default")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "counting it as open" in errors[0].getMessage()
    # A naive time is a caller's bug too: still an answer, never an exception.
    monkeypatch.undo()
    assert view.status(LINE, "phone", NOW.replace(tzinfo=None)).reason == EVALUATION_FAILED


def test_an_unknown_line_or_channel_is_refused():
    view = view_of(FakeStore())
    with pytest.raises(UnknownLine, match="no line"):
        view.status("999", "phone", NOW)
    with pytest.raises(UnknownLine, match="channel"):
        view.status(LINE, "fax", NOW)


async def test_any_schedule_by_name_with_or_without_the_helpline_wide_exceptions():
    own = HoursException(2, "always", NOW, NOW + timedelta(hours=1), "closed", "training")
    view = view_of(FakeStore(closure(), own))
    await view.refresh()
    # As the lines see it: the "*" closure applies (and is the earlier one).
    assert view.schedule_status("default", NOW) == view.status(LINE, "phone", NOW)
    assert view.schedule_status("always", NOW).reason == "closed:power cut"
    # A partner's view: only the exceptions naming its schedule.
    status = view.schedule_status("always", NOW, helpline_wide=False)
    assert (status.open, status.reason) == (False, "closed:training")
    assert status.opens_at == NOW + timedelta(hours=1)
    assert view.schedule_status("default", NOW, helpline_wide=False).open
    # Both answers are cached side by side and neither is handed out for the other.
    assert not view.schedule_status("default", NOW).open
    assert view.schedule_status("default", NOW, helpline_wide=False).open
    with pytest.raises(UnknownSchedule):
        view.schedule_status("nope", NOW)


async def test_the_refresher_also_warms_the_partner_answers_it_was_asked_for(monkeypatch):
    view = view_of(FakeStore())
    await view.refresh()
    assert view.schedule_status("always", NOW, helpline_wide=False).open
    evaluations = []
    hours = view.lines.hours("always")
    real = hours.evaluate

    def counting(now, exceptions=()):
        evaluations.append(tuple(exceptions))
        return real(now, exceptions)

    monkeypatch.setattr(hours, "evaluate", counting)
    view._warm()
    assert sorted(evaluations) == [(), ()]  # helpline-wide and own-only (both empty here)


def test_all_statuses_lists_every_line_and_channel():
    view = view_of(FakeStore())
    assert [(line, ch, s.open) for line, ch, s in view.all_statuses(NOW)] == [
        (LINE, "phone", True),
        (LINE, "chat", True),
    ]


async def test_answers_are_cached_until_they_change(monkeypatch):
    view = view_of(FakeStore(closure(start=NOW + timedelta(hours=1), hours=1)))
    await view.refresh()
    hours = view.lines.hours("default")
    evaluations = []
    real = hours.evaluate

    def counting(now, exceptions=()):
        evaluations.append(now)
        return real(now, exceptions)

    monkeypatch.setattr(hours, "evaluate", counting)
    first = view.status(LINE, "phone", NOW)
    assert first.open and first.closes_at == NOW + timedelta(hours=1)  # the closure ahead
    assert view.status(LINE, "phone", NOW + timedelta(seconds=30)) is first
    assert view.status(LINE, "phone", first.closes_at - timedelta(microseconds=1)).open
    assert len(evaluations) == 2  # the 60 s cap, not the closing, ended the first answer
    assert not view.status(LINE, "phone", first.closes_at).open  # exact at the change
    assert view.status(LINE, "phone", NOW).open  # the clock stepped back: evaluated again
    assert len(evaluations) == 4


async def test_the_refresher_evaluates_ahead_so_a_call_finds_its_answer_ready(monkeypatch):
    view = view_of(FakeStore(closure()))
    hours = view.lines.hours("default")
    evaluations = []
    real = hours.evaluate

    def counting(now, exceptions=()):
        evaluations.append(now)
        return real(now, exceptions)

    monkeypatch.setattr(hours, "evaluate", counting)
    await view.start()
    try:
        assert evaluations == [NOW]  # after the first load, before any call
        assert view.status(LINE, "phone", NOW).reason == "closed:power cut"
        assert view.status(LINE, "chat", NOW + timedelta(seconds=1)).reason == "closed:power cut"
        assert evaluations == [NOW]
    finally:
        await view.close()


def test_the_channel_follows_the_redis_prefix():
    assert hours_channel("helpline:") == "helpline:hours-changed"
    assert hours_channel("test-1") == "test-1:hours-changed"
    assert view_of(FakeStore()).channel == "helpline:hours-changed"


_EXCEPTIONS = [
    closure("staff shortage", local("2025-06-02 15:00"), 2, 1),
    HoursException(
        2, "default", local("2025-06-02 20:00"), local("2025-06-02 22:30"), "open", "campaign"
    ),  # fmt: skip
    closure("power cut", local("2025-06-03 09:00"), 3, 3),
    HoursException(
        4, "default", local("2025-06-04 02:00"), local("2025-06-04 03:00"), "open", "night"
    ),  # fmt: skip
]


@functools.cache
def _loaded_view() -> HoursView:
    """One view for every example, so its cache carries over from one to the next."""
    view = view_of(FakeStore(*_EXCEPTIONS))
    assert asyncio.run(view.refresh())
    return view


_DAY0 = local("2025-06-02 00:00")
# Where answers change: the exceptions' edges and the schedule's 11:00/20:00, over four days.
_EDGES = sorted(
    {e.starts_at for e in _EXCEPTIONS}
    | {e.ends_at for e in _EXCEPTIONS}
    | {_DAY0 + timedelta(days=d, hours=h) for d in range(4) for h in (0, 11, 20)}
)
# Runs of moments around one edge (in any order) catch an answer reused across its change.
_RUN = st.one_of(
    st.builds(lambda edge, offsets: [edge + timedelta(seconds=s) for s in offsets],
              st.sampled_from(_EDGES), st.lists(st.integers(-90, 90), min_size=1, max_size=6)),
    st.builds(lambda s: [_DAY0 + timedelta(seconds=s)], st.integers(0, 4 * 24 * 3600)),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_RUN, min_size=1, max_size=10))
def test_cached_answers_match_a_fresh_evaluation(runs):
    """Whatever order times come in, open/closed and the next change are exact."""
    view = _loaded_view()
    hours = view.lines.hours("default")
    for at in (at for run in runs for at in run):
        got = view.status(LINE, "phone", at)
        want = hours.evaluate(at, _EXCEPTIONS)
        assert (got.open, got.closes_at, got.opens_at) == (want.open, want.closes_at, want.opens_at)
