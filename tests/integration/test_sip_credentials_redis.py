"""The browser phones' credential store on the real Redis: one hash per prefix, by volunteer,
no TTL (the sweeper deletes what outlived its session), foreign entries ignored; an
unreachable Redis is the store's own error."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from storage.errors import SipCredentialStoreError
from storage.sip_credentials import RedisSipCredentialStore, SipCredential

pytestmark = pytest.mark.integration


async def test_put_get_replace_delete_and_list(redis):
    prefix = f"helpline-sipcred-{uuid.uuid4().hex[:8]}:"
    store = RedisSipCredentialStore(redis, prefix)
    try:
        anna = SipCredential("anna", "k1", "pw-1", 2000.0)
        await store.put(anna)
        await store.put(SipCredential("bram", "k2", "pw-2", 3000.0))
        assert await store.get("anna") == anna
        newer = SipCredential("anna", "k3", "pw-3", 4000.0)
        await store.put(newer)
        assert await store.get("anna") == newer
        assert await redis.ttl(store.key) == -1  # no expiry of its own
        await redis.hset(store.key, "junk", "{not json")
        assert sorted(c.volunteer_id for c in await store.all()) == ["anna", "bram"]
        assert await store.get("junk") is None
        await store.delete("anna")
        await store.delete("anna")  # twice is fine
        assert await store.get("anna") is None
    finally:
        await redis.delete(store.key)


async def test_an_unreachable_redis_is_the_stores_error():
    client = aioredis.from_url("redis://127.0.0.1:1/0")
    store = RedisSipCredentialStore(client, "x:")
    try:
        with pytest.raises(SipCredentialStoreError):
            await store.get("anna")
        with pytest.raises(SipCredentialStoreError):
            await store.all()
    finally:
        await client.aclose()
