"""Contact records through a PostgreSQL outage and a process restart, on real services.

A private PostgreSQL cluster (``private_postgres``: the machine's server is shared and never
stopped) is stopped and started under the RecordQueue; the spool is the real Redis at
127.0.0.1:6379 under a unique key prefix, deleted afterwards. Every test ends by counting the
rows: each contact submitted is in SQL exactly once, and nothing is left in the spool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, func, select

from acd import Channel, ContactFinished, Outcome
from session.referral import Referral
from storage import db
from storage.models import ContactRecord
from storage.record_queue import RecordQueue, record_of
from storage.records import RecordWriter, RedisRecordSpool, record_to_json
from tests.integration.private_postgres import PrivatePostgres, private_postgres
from tests.integration.redis_support import wait_for

pytestmark = pytest.mark.integration

LINES = ["116111"]


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    with private_postgres() as cluster:
        yield cluster


@pytest.fixture
def engine(pg: PrivatePostgres) -> Iterator[Engine]:
    eng = db.make_engine(pg.url)
    db.migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
async def spool(redis: aioredis.Redis) -> AsyncIterator[RedisRecordSpool]:
    spool = RedisRecordSpool(redis, f"test-records-{uuid.uuid4().hex}:")
    yield spool
    await redis.delete(spool.key, spool.dead_key)


def finished(n: int) -> ContactFinished:
    start = 1_800_000_000.0 + n
    return ContactFinished(
        contact_id=str(uuid.uuid4()),
        channel=Channel.PHONE,
        outcome=Outcome.ANSWERED if n % 3 else Outcome.ABANDONED,
        priority=0,
        language="nl",
        arrived_at=start,
        answered_at=start + 5.0 if n % 3 else None,
        ended_at=start + 60.0,
        agent_id="anna" if n % 3 else None,
        location_id="utrecht" if n % 3 else None,
    )


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(ContactRecord.id)))


def row_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ContactRecord)).scalar_one())


async def test_postgresql_stopped_mid_stream_and_started_loses_and_doubles_nothing(
    pg, engine, spool, redis, caplog
):
    queue = RecordQueue(RecordWriter(engine, LINES), spool)  # production backoff: 0.5 s .. 5 s
    queue.start()
    submitted: list[str] = []

    async def contacts_end(count: int, every_s: float) -> None:
        for _ in range(count):
            done = finished(len(submitted))
            queue.submit(done, "116111", "nl")
            submitted.append(done.contact_id)
            await asyncio.sleep(every_s)

    with caplog.at_level(logging.INFO, logger="storage.record_queue"):
        # Contacts keep ending while PostgreSQL goes away under the writer.
        stream = asyncio.create_task(contacts_end(120, 0.005))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(pg.stop)
        await stream
        await asyncio.sleep(1.0)  # the writer retries meanwhile
        before = queue.written
        assert 0 < before < 120
        assert queue.pending == 120 - before
        assert await redis.llen(spool.key) == 120 - before  # kept in Redis, not just in memory

        await asyncio.to_thread(pg.start)
        back = time.monotonic()
        await wait_for(lambda: _is(queue.written == 120), timeout_s=15)
        caught_up_s = time.monotonic() - back

    stored = stored_ids(engine)
    assert sorted(stored) == sorted(submitted) and row_count(engine) == 120
    assert queue.pending == 0 and await redis.llen(spool.key) == 0
    assert await redis.llen(spool.dead_key) == 0
    assert caught_up_s < 5.0 + 2.0  # at most one capped backoff, plus the writes
    print(f"records_caught_up_s={caught_up_s:.2f} written_before_stop={before}")
    assert sum("SQL unreachable" in r.getMessage() for r in caplog.records) == 1
    await queue.close()


async def test_the_spool_survives_a_restart_and_the_next_process_writes_it_once(
    pg, engine, spool, redis
):
    await asyncio.to_thread(pg.stop)
    first = RecordQueue(RecordWriter(engine, LINES), spool)
    first.start()
    done = [finished(i) for i in range(10)]
    for d in done:
        first.submit(d, "116111", "nl")
    await wait_for(lambda: _llen_is(redis, spool.key, 10))
    started = time.monotonic()
    await first.close()
    assert time.monotonic() - started < 1.0  # SQL down does not hold the shutdown
    assert first.written == 0 and await redis.llen(spool.key) == 10

    # A new process: its own engine and queue, the same Redis spool, PostgreSQL back.
    await asyncio.to_thread(pg.start)
    new_engine = db.make_engine(pg.url)
    try:
        second = RecordQueue(RecordWriter(new_engine, LINES), spool)
        second.start()
        await wait_for(lambda: _is(second.written == 10), timeout_s=10)
        await second.close()
        assert sorted(stored_ids(new_engine)) == sorted(d.contact_id for d in done)
        assert second.duplicates == 0 and await redis.llen(spool.key) == 0
    finally:
        new_engine.dispose()


async def test_a_record_spooled_twice_is_written_once(engine, spool, redis):
    # A push repeated after a Redis timeout, or a commit whose answer was lost.
    raw = record_to_json(record_of(finished(1), "116111", "nl"))
    await spool.push([raw, raw])
    queue = RecordQueue(RecordWriter(engine, LINES), spool)
    queue.start()
    await wait_for(lambda: _is(queue.written == 2))
    await queue.close()
    assert row_count(engine) == 1 and queue.duplicates == 1
    assert await redis.llen(spool.key) == 0


async def test_two_processes_draining_one_spool_write_each_record_once(engine, spool, redis):
    # A standby takes over while the old primary still flushes: both read the same spool.
    done = [finished(i) for i in range(200)]
    await spool.push([record_to_json(record_of(d, "116111", "nl")) for d in done])
    other_engine = db.make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        a = RecordQueue(RecordWriter(engine, LINES), spool, batch=8)
        b = RecordQueue(RecordWriter(other_engine, LINES), spool, batch=8)
        a.start()
        b.start()
        await wait_for(lambda: _llen_is(redis, spool.key, 0), timeout_s=20)
        await asyncio.gather(a.close(), b.close())
    finally:
        other_engine.dispose()
    assert sorted(stored_ids(engine)) == sorted(d.contact_id for d in done)
    assert a.written + b.written - a.duplicates - b.duplicates == 200
    assert await redis.llen(spool.dead_key) == 0


async def test_an_invalid_record_goes_to_the_dead_letter_list_in_redis(engine, spool, redis):
    bad = record_of(finished(1), "not-a-line", "nl")  # refused: not a configured line
    good = finished(2)
    await spool.push([record_to_json(bad)])
    queue = RecordQueue(RecordWriter(engine, LINES), spool)
    queue.start()
    queue.submit(good, "116111", "nl")
    await wait_for(lambda: _is(queue.written == 1 and queue.set_aside == 1))
    await queue.close()
    assert stored_ids(engine) == [good.contact_id]
    assert await redis.lrange(spool.dead_key, 0, -1) == [record_to_json(bad).encode()]
    assert await redis.llen(spool.key) == 0


async def test_records_spooled_before_the_referral_upgrade_are_written_after_it(
    engine, spool, redis
):
    # The upgrade's order: the old version spooled, the new one (with migration 0005) drains.
    old_done, new_done = finished(1), finished(2)
    old = record_of(old_done, "116111", "nl")
    as_before = json.loads(record_to_json(old))
    assert not any(key.startswith("referral_") for key in as_before)  # the old line's keys
    await spool.push([json.dumps(as_before, sort_keys=True, separators=(",", ":"))])
    referral = Referral("veilig-thuis", "utrecht", consent=True, volunteer_stayed=False)
    queue = RecordQueue(RecordWriter(engine, LINES), spool)
    queue.start()
    queue.submit(new_done, "116111", "nl", referral=referral)
    await wait_for(lambda: _is(queue.written == 2))
    await queue.close()
    writer = RecordWriter(engine)
    assert writer.get(old_done.contact_id) == old
    assert writer.get(new_done.contact_id) == record_of(new_done, "116111", "nl", referral=referral)
    assert await redis.llen(spool.key) == 0 and await redis.llen(spool.dead_key) == 0


async def _is(value: bool) -> bool:
    return value


async def _llen_is(client: aioredis.Redis, key: str, n: int) -> bool:
    return int(await client.llen(key)) == n
