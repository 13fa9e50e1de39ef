"""LiveStream against a small in-memory fake of the Redis calls it makes."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from storage.errors import InvalidDelta, LiveStateError, LiveStreamGap
from storage.live_stream import LiveStream


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, sq = entry_id.partition("-")
    return int(ms), int(sq or 0)


class FakeRedis:
    """Just enough of redis.asyncio.Redis: a stream, a string key, pipelines, failures."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, dict[bytes, bytes]]]] = {}
        self.strings: dict[str, bytes] = {}
        self.down = False
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise RedisConnectionError("down")

    def _xadd(self, key, fields, id, maxlen, approximate):
        rows = self.streams.setdefault(key, [])
        if rows and _id_key(id) <= _id_key(rows[-1][0]):
            raise ResponseError("The ID specified in XADD is equal or smaller")
        rows.append((id, {k.encode(): v.encode() for k, v in fields.items()}))
        del rows[: max(0, len(rows) - maxlen)]

    def pipeline(self, transaction=True):
        return FakePipeline(self)

    async def xrevrange(self, key, hi, lo, count=None):
        self._check()
        rows = list(reversed(self.streams.get(key, [])))
        return [(i.encode(), f) for i, f in rows[:count]]

    async def xrange(self, key, lo, hi, count=None):
        self._check()
        start = (0, 0) if lo == "-" else _id_key(lo)
        rows = [(i.encode(), f) for i, f in self.streams.get(key, []) if _id_key(i) >= start]
        return rows[:count]

    async def xread(self, streams, count=None, block=None):
        self._check()
        ((key, after),) = streams.items()
        rows = [
            (i.encode(), f) for i, f in self.streams.get(key, []) if _id_key(i) > _id_key(after)
        ]
        if not rows:
            await asyncio.sleep((block or 0) / 1000)
            return []
        return [[key.encode(), rows[:count]]]

    async def get(self, key):
        self._check()
        return self.strings.get(key)


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self.redis = redis
        self.ops: list = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    def xadd(self, key, fields, id, maxlen, approximate):
        self.ops.append(lambda: self.redis._xadd(key, fields, id, maxlen, approximate))

    def set(self, key, value):
        self.ops.append(lambda: self.redis.strings.__setitem__(key, value.encode()))

    async def execute(self):
        self.redis._check()
        await asyncio.sleep(0)
        first = None
        for op in self.ops:  # like transaction=False: every command runs, first error raised
            try:
                op()
            except ResponseError as exc:
                first = first or exc
        if first:
            raise first
        return [True] * len(self.ops)


def delta(seq: int, **extra) -> dict:
    return {"seq": seq, "kind": "agent", "key": f"vol-{seq % 3}", "data": {"n": seq}, **extra}


def stored(fake: FakeRedis, key: str = "p:live") -> list[tuple[str, dict]]:
    return [(i, json.loads(f[b"d"])) for i, f in fake.streams.get(key, [])]


async def drain(stream: LiveStream, fake: FakeRedis, until) -> None:
    task = asyncio.create_task(stream.run())
    try:
        async with asyncio.timeout(5):
            while not until():
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# --- publish ------------------------------------------------------------------------------------


def test_publish_is_synchronous_and_touches_no_redis() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    # No event loop is running here: publish must not need one.
    assert stream.publish([delta(1), delta(2)]) is None
    assert stream.publish_snapshot(2, {"agents": {}}) is None
    assert fake.calls == 0
    assert stream.pending == 2


def test_publish_encodes_now_so_later_changes_do_not_leak() -> None:
    stream = LiveStream(FakeRedis(), "p")  # type: ignore[arg-type]
    d = delta(1)
    stream.publish([d])
    d["data"]["n"] = "changed"
    assert json.loads(stream._buffer[0].body) == delta(1)


@pytest.mark.parametrize(
    "bad",
    [
        [{"kind": "agent"}],
        [{"seq": True}],
        [{"seq": 0}],
        [{"seq": "3"}],
        [delta(1, x=float("nan"))],
    ],
)
def test_publish_refuses_what_is_not_a_delta(bad) -> None:
    stream = LiveStream(FakeRedis(), "p")  # type: ignore[arg-type]
    with pytest.raises(InvalidDelta):
        stream.publish(bad)
    assert stream.pending == 0
    assert issubclass(InvalidDelta, LiveStateError)


def test_publish_refuses_a_seq_that_does_not_rise_and_queues_none_of_the_batch() -> None:
    stream = LiveStream(FakeRedis(), "p")  # type: ignore[arg-type]
    stream.publish([delta(1), delta(2)])
    with pytest.raises(InvalidDelta):
        stream.publish([delta(3), delta(2)])
    assert stream.pending == 2
    stream.publish([delta(3)])
    assert stream.pending == 3


def test_a_full_buffer_drops_the_oldest_and_counts_gaps() -> None:
    stream = LiveStream(FakeRedis(), "p", buffer_limit=5)  # type: ignore[arg-type]
    stream.publish([delta(s) for s in range(1, 9)])
    assert [e.seq for e in stream._buffer] == [4, 5, 6, 7, 8]
    assert stream.gaps == 3
    assert stream.needs_snapshot
    stream.publish_snapshot(2, {})
    assert stream.needs_snapshot  # still before the hole
    stream.publish_snapshot(8, {})
    assert not stream.needs_snapshot


# --- flusher ------------------------------------------------------------------------------------


async def test_run_writes_in_order_with_seq_ids() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p", batch=7)  # type: ignore[arg-type]
    for s in range(1, 51, 5):
        stream.publish([delta(x) for x in range(s, s + 5)])
    await drain(stream, fake, lambda: stream.pending == 0)
    rows = stored(fake)
    assert [i for i, _ in rows] == [f"{s}-1" for s in range(1, 51)]
    assert [d for _, d in rows] == [delta(s) for s in range(1, 51)]


async def test_snapshot_waits_for_its_delta_and_only_the_newest_is_written() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    stream.publish_snapshot(3, {"old": True})
    stream.publish_snapshot(1, {"older": True})  # ignored: not newer
    stream.publish_snapshot(5, {"new": True})
    task = asyncio.create_task(stream.run())
    await asyncio.sleep(0.02)
    assert "p:live:snapshot" not in fake.strings  # delta 5 is not in the stream yet
    stream.publish([delta(s) for s in range(1, 6)])
    async with asyncio.timeout(2):
        while "p:live:snapshot" not in fake.strings:
            await asyncio.sleep(0.005)
    task.cancel()
    assert await stream.snapshot() == (5, {"new": True})


async def test_a_new_leaders_first_snapshot_at_the_existing_top_is_written() -> None:
    fake = FakeRedis()
    for s in (1, 2, 3):
        fake._xadd("p:live", {"d": json.dumps(delta(s))}, f"{s}-1", 100, True)
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    stream.publish_snapshot(3, {"fresh": True})
    await drain(stream, fake, lambda: "p:live:snapshot" in fake.strings)
    assert await stream.snapshot() == (3, {"fresh": True})


async def test_outage_keeps_the_buffer_bounded_and_recovers_in_order(caplog) -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p", buffer_limit=10, batch=4)  # type: ignore[arg-type]
    stream.publish([delta(1), delta(2)])
    await drain(stream, fake, lambda: stream.pending == 0)
    fake.down = True
    task = asyncio.create_task(stream.run())
    with caplog.at_level(logging.INFO, logger="storage.live_stream"):
        for s in range(3, 33):
            stream.publish([delta(s, secret="0612345678")])
            await asyncio.sleep(0.01)
        assert stream.pending == 10
        assert stream.gaps == 20
        fake.down = False
        async with asyncio.timeout(5):
            while stream.pending:
                await asyncio.sleep(0.01)
    task.cancel()
    assert [d["seq"] for _, d in stored(fake)] == [1, 2, *range(23, 33)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()
    assert not any("0612345678" in r.getMessage() for r in caplog.records)


async def test_a_retried_batch_that_partly_landed_is_not_written_twice() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    # Entries 1..3 reached Redis but the reply was lost: the buffer still holds them.
    for s in (1, 2, 3):
        fake._xadd("p:live", {"d": json.dumps(delta(s))}, f"{s}-1", 100, True)
    stream.publish([delta(s) for s in range(1, 6)])
    await drain(stream, fake, lambda: stream.pending == 0)
    assert [i for i, _ in stored(fake)] == ["1-1", "2-1", "3-1", "4-1", "5-1"]


async def test_cancelled_run_returns_promptly_and_writes_nothing_more() -> None:
    fake = FakeRedis()
    fake.down = True
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    stream.publish([delta(1)])
    task = asyncio.create_task(stream.run())
    await asyncio.sleep(0.05)
    task.cancel()
    async with asyncio.timeout(0.5):
        with pytest.raises(asyncio.CancelledError):
            await task
    fake.down = False
    stream.publish([delta(2)])
    await asyncio.sleep(0.02)
    assert stored(fake) == []


# --- readers ------------------------------------------------------------------------------------


async def test_readers_see_exactly_what_follows_a_seq() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    assert await stream.last_seq() == 0
    assert await stream.oldest_seq() is None
    assert await stream.snapshot() is None
    stream.publish([delta(s) for s in range(1, 11)])
    await drain(stream, fake, lambda: stream.pending == 0)
    assert await stream.last_seq() == 10
    assert await stream.oldest_seq() == 1
    assert [d["seq"] for d in await stream.read_after(6)] == [7, 8, 9, 10]
    assert [d["seq"] for d in await stream.read_after(0, count=3)] == [1, 2, 3]
    got = []
    async for d in stream.follow(7, block_ms=10):
        got.append(d)
        if d["seq"] == 10:
            break
    assert got == [delta(8), delta(9), delta(10)]


async def test_follow_raises_a_gap_when_entries_were_trimmed() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p", maxlen=5)  # type: ignore[arg-type]
    stream.publish([delta(s) for s in range(1, 21)])
    await drain(stream, fake, lambda: stream.pending == 0)
    assert await stream.oldest_seq() == 16
    with pytest.raises(LiveStreamGap) as info:
        async for _ in stream.follow(3, block_ms=10):
            pass
    assert (info.value.after, info.value.found) == (3, 16)


async def test_follow_raises_a_gap_when_the_stream_went_backwards() -> None:
    fake = FakeRedis()
    stream = LiveStream(fake, "p")  # type: ignore[arg-type]
    stream.publish([delta(1), delta(2)])
    await drain(stream, fake, lambda: stream.pending == 0)
    with pytest.raises(LiveStreamGap) as info:
        async for _ in stream.follow(40, block_ms=10):
            pass
    assert info.value.found is None
