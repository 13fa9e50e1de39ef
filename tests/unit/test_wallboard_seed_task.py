"""``helpline.day_seed``: the board counts at once; the records are read off the writer once the
record queue's backlog is in SQL, retried while SQL is away, and handed to the view once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import acd
from acd import Channel, ContactFinished, Outcome
from helpline import day_seed
from helpline.day_seed import CLOCK_MARGIN_S, local_day, start_day_seed
from live import Delta, LiveView
from live.day_seed import DaySeed, DaySums, RecentContact
from live.wallboard import SERVICE_LEVEL_S, Wallboard
from storage.errors import RecordsUnavailable

AMS = ZoneInfo("Europe/Amsterdam")
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=AMS).timestamp()
ANSWERED = DaySums(answered=1, within={20: 1, 60: 1}, wait_s=4.0, talk_s=100.0)


class Backlog:
    def __init__(self) -> None:
        self.written = asyncio.Event()

    async def backlog_written(self) -> None:
        await self.written.wait()


class Reader:
    """Stands in for ``read_day_seed``: records its calls, fails ``down`` times first."""

    def __init__(self, seed: DaySeed, down: int = 0) -> None:
        self.seed = seed
        self.down = down
        self.calls: list[tuple[str, datetime, datetime, datetime, tuple[int, ...]]] = []

    def __call__(
        self,
        date: str,
        since: datetime,
        until: datetime,
        cut: datetime,
        thresholds: Sequence[int],
    ) -> DaySeed:
        self.calls.append((date, since, until, cut, tuple(thresholds)))
        if self.down > 0:
            self.down -= 1
            raise RecordsUnavailable("today's contacts not read: OperationalError")
        return self.seed


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def a_chat_finished_here(chat_id: str, at: float) -> ContactFinished:
    return ContactFinished(
        contact_id=chat_id,
        channel=Channel.CHAT,
        outcome=Outcome.ANSWERED,
        priority=0,
        language="nl",
        arrived_at=at - 104,
        answered_at=at - 100,
        ended_at=at,
        agent_id="cas",
        location_id="utrecht",
    )


def a_view() -> tuple[LiveView, acd.Acd, list[Delta]]:
    core = acd.Acd(acd.AcdSettings())
    view = LiveView(tz=AMS, wallboard=Wallboard(0))
    view.load(core, NOON)
    return view, core, []


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setattr(day_seed, "RETRY_MIN_S", 0.01)


async def until(cond) -> None:
    async with asyncio.timeout(3):
        while not cond():
            await asyncio.sleep(0.005)


def test_the_local_day_is_the_boards():
    date, since, until_ = local_day(NOON, AMS)
    assert (date, since.isoformat(), until_.isoformat()) == (
        "2026-12-02",
        "2026-12-01T23:00:00+00:00",
        "2026-12-02T23:00:00+00:00",
    )
    # The day the clocks go back has 25 hours.
    _, since, until_ = local_day(datetime(2026, 10, 25, 12, tzinfo=AMS).timestamp(), AMS)
    assert (since.hour, until_ - since) == (22, timedelta(hours=25))


async def test_the_records_are_read_once_the_backlog_is_written_and_merged_once():
    view, core, published = a_view()
    chat_id = "chat-" + uuid.uuid4().hex
    as_record = str(uuid.UUID(hex=chat_id[5:]))
    # Read from SQL: one earlier phone call; the chat this board counted (its record already
    # written, under the record's id); a chat the old writer finished within the margin.
    seed = DaySeed(
        "2026-12-02",
        {"phone": ANSWERED},
        (RecentContact(as_record, "chat", ANSWERED), RecentContact("other", "chat", ANSWERED)),
    )
    reader, backlog, clock = Reader(seed), Backlog(), Clock(NOON)
    task = start_day_seed(view, published.extend, reader, backlog, AMS, clock)
    assert published and published[-1].data is not None
    assert published[-1].data["board"]["today_from"] == NOON  # at once, before the writer
    view.observe(None, [a_chat_finished_here(chat_id, NOON + 5)], core, NOON + 5)
    await asyncio.sleep(0.05)
    assert reader.calls == []  # earlier processes' records may still be in the spool
    clock.now = NOON + 10
    backlog.written.set()
    await asyncio.wait_for(task, 3)
    (date, since, until_, cut, thresholds) = reader.calls[0]
    assert (date, since, until_) == ("2026-12-02", *local_day(NOON, AMS)[1:])
    assert cut.timestamp() == NOON - CLOCK_MARGIN_S and thresholds == SERVICE_LEVEL_S
    board = view.wallboard()
    assert board["today_from"] is None
    assert (board["kinds"]["phone"]["answered"], board["kinds"]["chat"]["answered"]) == (1, 2)


async def test_sql_away_is_retried_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, "helpline.day_seed")
    view, _, published = a_view()
    reader, backlog = Reader(DaySeed("2026-12-02", {"phone": ANSWERED}), down=3), Backlog()
    backlog.written.set()
    task = start_day_seed(view, published.extend, reader, backlog, AMS, Clock(NOON))
    assert view.wallboard()["today_from"] == NOON
    await asyncio.wait_for(task, 3)
    assert len(reader.calls) == 4
    assert view.wallboard()["kinds"]["phone"]["answered"] == 1
    assert [r.message for r in caplog.records].count(
        "wallboard: today's records not read yet "
        "(today's contacts not read: OperationalError); retrying"
    ) == 1


async def test_a_new_day_before_the_read_drops_the_seed():
    view, _, published = a_view()
    reader, backlog = Reader(DaySeed("2026-12-02", {"phone": ANSWERED}), down=1), Backlog()
    backlog.written.set()
    clock = Clock(datetime(2026, 12, 2, 23, 59, 59, tzinfo=AMS).timestamp())
    task = start_day_seed(view, published.extend, reader, backlog, AMS, clock)
    await until(lambda: len(reader.calls) == 1)
    clock.now += 5  # past midnight while SQL was away
    await asyncio.wait_for(task, 3)
    assert len(reader.calls) == 1
    assert view.wallboard()["kinds"]["phone"]["answered"] == 0
