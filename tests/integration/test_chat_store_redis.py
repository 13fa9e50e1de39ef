"""The chat store on the real Redis: every key under a TTL, refreshed by a message; seq is the
list position; read marks only move forward; the end deletes everything (or keeps the
transcript without its token), blocks when asked, and leaves only the "ended" marker."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from chat.errors import ChatUnavailable
from chat.ids import new_chat_id, new_token, token_hmac
from chat.store import ENDED_TTL_S, ChatMeta, ChatStore, Ended, StoreSettings

pytestmark = pytest.mark.integration

KEY = "test-chat-key-0123456789"


@pytest.fixture
async def prefixed(redis):
    prefix = f"helpline-chat-{uuid.uuid4().hex[:8]}:"
    yield prefix
    keys = [k async for k in redis.scan_iter(match=prefix + "*")]
    if keys:
        await redis.delete(*keys)


async def _keys(redis, prefix: str) -> list[str]:
    return sorted([k.decode() async for k in redis.scan_iter(match=prefix + "*")])


async def _open(store: ChatStore, peer: bool = False) -> tuple[str, str]:
    chat_id, tok = new_chat_id(), token_hmac(KEY, new_token())
    await store.create(ChatMeta(chat_id, peer, "nl", "116111", 1000.5), tok)
    return chat_id, tok


async def test_a_chat_lives_under_ttls_and_a_message_refreshes_them(redis, prefixed):
    store = ChatStore(redis, prefixed, StoreSettings(ttl_s=600))
    chat_id, tok = await _open(store, peer=True)
    assert await store.chat_of(tok) == chat_id
    assert await store.meta(chat_id) == ChatMeta(chat_id, True, "nl", "116111", 1000.5)
    for key in await _keys(redis, prefixed):
        await redis.expire(key, 100)
    first = await store.append(chat_id, "child", "hoi", 2000.0)
    second = await store.append(chat_id, "volunteer", "Hoi, fijn dat je er bent", 2001.0)
    assert (first.seq, second.seq) == (1, 2)
    assert await store.mark_read(chat_id, "volunteer", 1) == 1
    keys = await _keys(redis, prefixed)
    p = prefixed + "chat:"
    assert keys == sorted(
        [f"{p}{chat_id}:meta", f"{p}{chat_id}:log", f"{p}{chat_id}:read", f"{p}tok:{tok}"]
    )
    for key in keys:
        assert 590 <= await redis.ttl(key) <= 600, key  # refreshed, the token's link too
    got = await store.messages(chat_id)
    assert [m.to_json() for m in got] == [
        {"seq": 1, "from": "child", "text": "hoi", "at": 2000.0},
        {"seq": 2, "from": "volunteer", "text": "Hoi, fijn dat je er bent", "at": 2001.0},
    ]
    assert [m.seq for m in await store.messages(chat_id, after=1)] == [2]


async def test_read_marks_move_forward_only_and_not_past_the_last_message(redis, prefixed):
    store = ChatStore(redis, prefixed, StoreSettings(ttl_s=600))
    chat_id, _ = await _open(store)
    for i in range(3):
        await store.append(chat_id, "child", f"m{i}", 1.0)
    assert await store.mark_read(chat_id, "volunteer", 2) == 2
    assert await store.mark_read(chat_id, "volunteer", 1) == 2
    assert await store.mark_read(chat_id, "volunteer", 99) == 3
    assert await store.read_marks(chat_id) == {"child": 0, "volunteer": 3}
    assert await store.mark_read(new_chat_id(), "child", 1) is None  # no such chat


async def test_the_end_deletes_every_key_and_blocks_when_asked(redis, prefixed):
    store = ChatStore(redis, prefixed, StoreSettings(ttl_s=600, block_s=3600))
    chat_id, tok = await _open(store, peer=True)
    await store.append(chat_id, "child", "hoi", 1.0)
    await store.mark_read(chat_id, "child", 1)
    assert await store.end(chat_id, "volunteer", block=True)
    p = prefixed + "chat:"
    assert await _keys(redis, prefixed) == sorted([f"{p}block:{tok}", f"{p}ended:{tok}"])
    assert 3590 <= await redis.ttl(f"{p}block:{tok}") <= 3600
    assert 0 < await redis.ttl(f"{p}ended:{tok}") <= ENDED_TTL_S
    assert await store.blocked(tok)
    assert await store.ended(tok) == Ended("volunteer", True)
    assert await store.chat_of(tok) is None
    assert await store.meta(chat_id) is None
    # A message racing the end does not bring the transcript back.
    assert await store.append(chat_id, "child", "nog iets", 2.0) is None
    assert not await redis.exists(f"{p}{chat_id}:log")
    assert not await store.end(chat_id, "volunteer", block=False)  # twice: nothing left
    assert await store.survey_once(tok)
    assert not await store.survey_once(tok)


async def test_with_retention_the_transcript_stays_without_its_token(redis, prefixed):
    store = ChatStore(redis, prefixed, StoreSettings(ttl_s=600, retention_s=86400))
    chat_id, tok = await _open(store)
    await store.append(chat_id, "child", "hoi", 1.0)
    await store.end(chat_id, "child", block=False)
    p = prefixed + "chat:"
    assert not await store.blocked(tok)
    assert await store.chat_of(tok) is None
    assert await store.meta(chat_id) is None  # no longer an open chat
    assert await redis.hget(f"{p}{chat_id}:meta", "tok") is None
    assert 86000 < await redis.ttl(f"{p}{chat_id}:log") <= 86400
    assert [m.text for m in await store.messages(chat_id)] == ["hoi"]


async def test_discard_leaves_no_trace(redis, prefixed):
    store = ChatStore(redis, prefixed, StoreSettings(ttl_s=600))
    chat_id, tok = await _open(store)
    await store.discard(chat_id, tok)
    assert await _keys(redis, prefixed) == []


async def test_an_unreachable_redis_is_chat_unavailable():
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = ChatStore(client, "x:", StoreSettings(ttl_s=60))
    try:
        with pytest.raises(ChatUnavailable, match="token lookup"):
            await store.chat_of("abc")
        with pytest.raises(ChatUnavailable, match="append"):
            await store.append(new_chat_id(), "child", "hoi", 1.0)
    finally:
        await client.aclose()
