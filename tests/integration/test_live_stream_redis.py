"""The live state bus against a real Redis: the shared one under a random prefix (cleaned up,
never flushed), and a private redis-server for the outage."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from storage.errors import LiveStreamGap
from storage.live_stream import LiveStream
from tests.integration.redis_support import PrivateRedis, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def prefix(redis: aioredis.Redis) -> AsyncIterator[str]:
    """A random key prefix per test; every key under it is deleted afterwards."""
    value = f"test:livestream:{uuid.uuid4().hex}"
    yield value
    keys = [k async for k in redis.scan_iter(match=f"{value}:*")]
    if keys:
        await redis.delete(*keys)


def delta(seq: int) -> dict:
    return {
        "seq": seq,
        "kind": "agent" if seq % 2 else "queue",
        "key": f"vol-{seq % 7}",
        "data": {"state": "ready", "n": seq} if seq % 5 else None,
        "audience": [f"vol-{seq % 7}"],
        "public": seq % 3 == 0,
    }


async def run_until_flushed(stream: LiveStream, timeout_s: float = 10) -> None:
    task = asyncio.create_task(stream.run())
    try:
        async with asyncio.timeout(timeout_s):
            while stream.pending:
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_many_publishes_keep_order_ids_and_content(redis, prefix) -> None:
    stream = LiveStream(redis, prefix, batch=64)
    sent = [delta(s) for s in range(1, 1001)]
    for i in range(0, 1000, 10):
        stream.publish(sent[i : i + 10])
    await run_until_flushed(stream)
    rows = await redis.xrange(f"{prefix}:live", "-", "+")
    assert [r[0] for r in rows] == [f"{s}-1".encode() for s in range(1, 1001)]
    # One field, holding exactly the delta given: nothing added, nothing reordered.
    assert all(list(fields) == [b"d"] for _, fields in rows)
    assert [json.loads(fields[b"d"]) for _, fields in rows] == sent
    assert await stream.read_after(0, count=2000) == sent


async def test_a_new_stream_object_continues_after_last_seq(redis, prefix) -> None:
    first = LiveStream(redis, prefix)
    first.publish([delta(s) for s in range(1, 31)])
    first.publish_snapshot(30, {"agents": {"vol-1": "ready"}})
    await run_until_flushed(first)

    second = LiveStream(redis, prefix)  # a new leader after a restart
    top = await second.last_seq()
    assert top == 30
    second.publish([delta(s) for s in range(top + 1, top + 11)])
    await run_until_flushed(second)
    assert await second.last_seq() == 40
    assert [d["seq"] for d in await second.read_after(0, count=100)] == list(range(1, 41))
    assert await second.snapshot() == (30, {"agents": {"vol-1": "ready"}})


async def test_read_after_and_follow_give_exactly_the_entries_after_a_seq(redis, prefix) -> None:
    stream = LiveStream(redis, prefix)
    stream.publish([delta(s) for s in range(1, 21)])
    await run_until_flushed(stream)
    assert await stream.oldest_seq() == 1
    assert await stream.read_after(15) == [delta(s) for s in range(16, 21)]
    assert await stream.read_after(20) == []
    assert await stream.read_after(5, count=3) == [delta(6), delta(7), delta(8)]

    # A follower in "another process" (its own client) sees old and new entries in order.
    reader_client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    reader = LiveStream(reader_client, prefix)
    got: list[dict] = []

    async def follow() -> None:
        async for d in reader.follow(17, block_ms=100):
            got.append(d)
            if d["seq"] == 25:
                return

    task = asyncio.create_task(follow())
    writer = asyncio.create_task(stream.run())
    try:
        await wait_for(lambda: _true(len(got) == 3))
        stream.publish([delta(s) for s in range(21, 26)])
        async with asyncio.timeout(5):
            await task
    finally:
        writer.cancel()
        task.cancel()
        await reader_client.aclose()
    assert got == [delta(s) for s in range(18, 26)]


async def _true(value: bool) -> bool:
    return value


async def test_follow_from_a_trimmed_seq_raises_a_gap(redis, prefix) -> None:
    stream = LiveStream(redis, prefix, maxlen=10)
    stream.publish([delta(s) for s in range(1, 1001)])
    await run_until_flushed(stream)
    oldest = await stream.oldest_seq()
    # MAXLEN ~ trims whole nodes, so "about 10" may keep a node's worth, never all 1000.
    assert oldest is not None and 1 < oldest <= 1000
    assert await redis.xlen(f"{prefix}:live") < 1000
    with pytest.raises(LiveStreamGap) as info:
        async for _ in stream.follow(5, block_ms=100):
            pass
    assert (info.value.after, info.value.found) == (5, oldest)
    # From just before the oldest kept entry there is no hole.
    first = await anext(aiter(stream.follow(oldest - 1, block_ms=100)))
    assert first == delta(oldest)


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")  # redis-py, after a dead server
async def test_outage_keeps_the_buffer_bounded_and_flushes_in_order(private_redis, caplog):
    server: PrivateRedis = private_redis
    await server.start()
    client = aioredis.Redis.from_url(server.url, socket_timeout=2)
    stream = LiveStream(client, "outage", buffer_limit=50, batch=16)
    task = asyncio.create_task(stream.run())
    try:
        stream.publish([delta(s) for s in range(1, 11)])
        await wait_for(lambda: _true(stream.pending == 0))
        server.stop()
        with caplog.at_level(logging.INFO, logger="storage.live_stream"):
            for s in range(11, 211):
                stream.publish([delta(s)])
                await asyncio.sleep(0.002)
            assert stream.pending <= 50
            assert stream.gaps >= 150
            assert stream.needs_snapshot
            stream.publish_snapshot(210, {"after": "outage"})
            assert not stream.needs_snapshot
            await server.start()  # same port, same append-only file
            await wait_for(lambda: _true(stream.pending == 0), timeout_s=15)
            await wait_for(lambda: _true(stream._snapshot is None), timeout_s=5)
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warnings and all("cannot write to Redis" in w for w in warnings)
    finally:
        task.cancel()
    seqs = [d["seq"] for d in await stream.read_after(0, count=1000)]
    assert seqs[:10] == list(range(1, 11))
    assert seqs[10:] == list(range(211 - len(seqs[10:]), 211))  # the newest, in order
    assert len(seqs) - 10 <= 50
    assert await stream.snapshot() == (210, {"after": "outage"})
    with pytest.raises(LiveStreamGap):
        async for _ in stream.follow(10, block_ms=100):
            pass
    await client.aclose()


def test_publish_from_synchronous_code_never_awaits() -> None:
    # No event loop at all, and a client for a port nobody listens on: publish just buffers.
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
    stream = LiveStream(client, "nowhere")
    assert stream.publish([delta(1), delta(2)]) is None
    assert stream.publish_snapshot(2, {}) is None
    assert stream.pending == 2


async def test_helpline_live_follows_the_bus_from_another_process(redis, prefix):
    """``helpline live``: the newest snapshot, then the changes after it; or from a seq."""
    from helpline.cli_live import follow_bus
    from tests.unit.web_support import make_config

    cfg = make_config()
    cfg = cfg.model_copy(update={"redis": cfg.redis.model_copy(update={"prefix": prefix + ":"})})
    writer = LiveStream(redis, prefix)
    flusher = asyncio.create_task(writer.run())
    try:
        writer.publish([delta(1), delta(2)])
        writer.publish_snapshot(2, {"agents": [], "contacts": [], "queue": {"n": 2}})
        writer.publish([delta(3), delta(4), delta(5)])

        async def written() -> bool:
            return writer.pending == 0 and await writer.last_seq() == 5

        await wait_for(written)
    finally:
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)

    lines: list[str] = []
    await asyncio.wait_for(follow_bus(cfg, None, 3, lines.append), 5)
    got = [json.loads(line) for line in lines]
    assert got[0] == {"type": "snapshot", "agents": [], "contacts": [], "queue": {"n": 2}, "seq": 2}
    assert [(m["type"], m["seq"]) for m in got[1:]] == [("delta", 3), ("delta", 4), ("delta", 5)]
    assert got[1] == {"type": "delta", "seq": 3, "kind": "agent", "id": "vol-3",
                      "data": {"state": "ready", "n": 3}}  # fmt: skip

    lines.clear()
    await asyncio.wait_for(follow_bus(cfg, 4, 1, lines.append), 5)
    assert [json.loads(line)["seq"] for line in lines] == [5]
