"""The wallboard's "today" after a restart, seeded from the contact records on SQLite and on the
real PostgreSQL (a throwaway database): the same figures as a board that never restarted.

The day is the scripted one of ``tests.unit.test_wallboard_seed`` on a real ``acd.Acd``. Its
records go to SQL as the engine's do (``record_of``, ``RecordWriter``); at the "restart" one is
still in the records spool, and the new writer's contacts go through a real ``RecordQueue``,
so the seed (``helpline.day_seed`` with ``storage.day_seed``) runs while their records land.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete

from acd import Channel, ContactFinished, Outcome
from helpline.day_seed import local_day, start_day_seed
from live import Delta, LiveView
from live.wallboard import SERVICE_LEVEL_S, Wallboard
from storage.day_seed import read_day_seed
from storage.models import ContactRecord
from storage.record_queue import RecordQueue, record_of
from storage.records import MemoryRecordSpool, RecordWriter, record_to_json
from tests.integration.databases import BACKENDS, migrated_backend, throwaway_postgres
from tests.unit.test_wallboard_seed import (
    AMS,
    NOW_FIGURES,
    SAME_ALL_DAY,
    Floor,
    afternoon,
    kinds,
    morning,
    pick,
)

FAST = dict(retry_min_s=0.01, retry_max_s=0.04, idle_poll_s=0.05, close_timeout_s=1.0)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("helpline_wallboard_seed") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(request, tmp_path_factory) -> Iterator[Engine]:
    with migrated_backend(request, tmp_path_factory.mktemp("seed")) as engine:
        yield engine


@pytest.fixture
def engine(migrated: Engine) -> Iterator[Engine]:
    with migrated.begin() as conn:
        conn.execute(delete(ContactRecord))
    yield migrated


def record(floor: Floor, done: ContactFinished):
    peer = done.contact_id in floor.peer
    return record_of(done, "116111", "nl", channel="peer_chat" if peer else None)


def restart(floor: Floor, engine: Engine, queue: RecordQueue):
    """A new writer: its view loaded from the core, the seed begun before its first step."""
    view = LiveView(tz=AMS, wallboard=Wallboard(0))
    view.load(floor.core, floor.now)
    floor.views.append(view)
    published: list[Delta] = []
    read = functools.partial(read_day_seed, engine)
    task = start_day_seed(view, published.extend, read, queue, AMS, lambda: floor.now)
    return view, task


async def test_a_board_seeded_after_a_restart_shows_the_day_as_before(engine):
    floor = Floor(real_ids=True)
    morning(floor)
    writer = RecordWriter(engine)
    for done in floor.done:
        writer.write(record(floor, done))
    before = kinds(floor.all_day)
    queue = RecordQueue(writer, **FAST)
    queue.start()
    view, task = restart(floor, engine, queue)
    assert view.wallboard()["today_from"] == floor.now
    await task
    after = kinds(view)
    assert pick(after, SAME_ALL_DAY) == pick(before, SAME_ALL_DAY)
    assert pick(after, NOW_FIGURES) == pick(before, NOW_FIGURES)
    assert after["total"]["answered"] == 2 and after["total"]["abandoned"] == 1
    # Everything but the wrap-up, which the records do not hold: AHT waits for a contact
    # answered since the restart.
    assert {k: (f["aht_s"], f["wrap_avg_s"]) for k, f in after.items()} == dict.fromkeys(
        after, (None, None)
    )
    assert before["phone"]["aht_s"] == 70.0  # talk 60 + wrap-up 10
    assert view.queue().to_json()["channels"] == floor.all_day.queue().to_json()["channels"]
    assert view.wallboard()["today_from"] is None
    await queue.close()


async def test_contacts_that_finish_while_the_records_are_read_count_once(engine):
    floor = Floor(real_ids=True)
    morning(floor)
    writer = RecordWriter(engine)
    spool = MemoryRecordSpool()  # the Redis list that outlives the old process
    *written, last = floor.done
    for done in written:
        writer.write(record(floor, done))
    await spool.push([record_to_json(record(floor, last))])  # finished, not in SQL yet
    queue = RecordQueue(writer, spool, **FAST)
    view, task = restart(floor, engine, queue)
    start = len(floor.done)
    afternoon(floor)  # counted by the new board as they end; their records are queued
    for done in floor.done[start:]:
        peer = done.contact_id in floor.peer
        queue.submit(done, "116111", "nl", channel="peer_chat" if peer else None)
    queue.start()  # the old record first, then the new ones: the seed waits for the first
    await task
    await queue.close()
    assert queue.written == 5 and queue.duplicates == 0
    seeded, all_day = kinds(view), kinds(floor.all_day)
    assert pick(seeded, SAME_ALL_DAY) == pick(all_day, SAME_ALL_DAY)
    assert pick(seeded, NOW_FIGURES) == pick(all_day, NOW_FIGURES)
    assert (seeded["total"]["answered"], seeded["total"]["abandoned"]) == (5, 2)


def _answered(arrived: datetime, ended: datetime, *, wait_s: float = 8.0, channel="phone"):
    contact_id = str(uuid.uuid4())
    answered = arrived + timedelta(seconds=wait_s)
    done = ContactFinished(
        contact_id=contact_id,
        channel=Channel.PHONE if channel == "phone" else Channel.CHAT,
        outcome=Outcome.ANSWERED,
        priority=0,
        language="nl",
        arrived_at=arrived.timestamp(),
        answered_at=answered.timestamp(),
        ended_at=ended.timestamp(),
        agent_id="anna",
        location_id="utrecht",
    )
    return record_of(done, "116111", "nl", channel=channel)


def test_the_day_is_the_local_date_contacts_ended_on_and_recent_ones_come_one_by_one(engine):
    noon = datetime(2026, 12, 2, 12, tzinfo=AMS)
    date, since, until = local_day(noon.timestamp(), AMS)
    writer = RecordWriter(engine)
    over_midnight = _answered(since - timedelta(minutes=10), since + timedelta(minutes=5))
    morning_call = _answered(noon - timedelta(hours=3), noon - timedelta(hours=2, minutes=55))
    long_wait = _answered(noon - timedelta(hours=1), noon - timedelta(minutes=50), wait_s=45)
    recent = _answered(noon - timedelta(minutes=2), noon, channel="peer_chat")
    for rec in (
        over_midnight,
        morning_call,
        long_wait,
        recent,
        _answered(since - timedelta(hours=2), since - timedelta(seconds=1)),  # yesterday
        _answered(until, until + timedelta(minutes=5)),  # tomorrow
    ):
        writer.write(rec)
    cut = (noon - timedelta(minutes=5)).astimezone(UTC)
    seed = read_day_seed(engine, date, since, until, cut, SERVICE_LEVEL_S)
    assert seed.date == "2026-12-02" and set(seed.earlier) == {"phone"}
    phone = seed.earlier["phone"]
    assert (phone.answered, phone.abandoned, phone.overflowed) == (3, 0, 0)
    assert phone.within == {20: 2, 60: 3}
    assert phone.wait_s == pytest.approx(8 + 8 + 45)
    assert phone.talk_s == pytest.approx((15 * 60 - 8) + (5 * 60 - 8) + (10 * 60 - 45))
    (one,) = seed.recent
    assert (one.record_id, one.kind, one.sums.answered) == (recent.id, "peer_chat", 1)
    assert one.sums.talk_s == pytest.approx(120 - 8)
