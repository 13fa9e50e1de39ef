"""The Redis session store against the real Redis at 127.0.0.1:6379 (own prefix, cleaned up)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from storage import db
from storage.volunteers import VolunteerDirectory
from tests.integration.redis_support import REDIS_URL, wait_for
from tests.unit.web_support import PASSWORD, FakeGateway, make_config
from web import RedisSessionStore, Session, SessionStoreError, create_app, token_hash
from web.browser import CSRF_HEADER, SESSION_COOKIE

pytestmark = pytest.mark.integration


@pytest.fixture
async def prefix(redis: aioredis.Redis) -> AsyncIterator[str]:
    value = f"test:web:{uuid.uuid4().hex}:"
    yield value
    keys = [k async for k in redis.scan_iter(match=f"{value}*")]
    if keys:
        await redis.delete(*keys)


SESSION = Session(volunteer_id="anna", location_id="utrecht", created_at=1700000000.5)


async def test_put_get_delete_with_ttl(redis, prefix):
    store = RedisSessionStore(redis, prefix)
    key = token_hash("some-token")
    await store.put(key, SESSION, 3600)
    assert await store.get(key) == SESSION
    pttl = await redis.pttl(f"{prefix}session:{key}")
    assert 3_590_000 < pttl <= 3_600_000
    # Only the hash is in Redis, never the token.
    keys = [k.decode() async for k in redis.scan_iter(match=f"{prefix}*")]
    assert keys == [f"{prefix}session:{key}"]
    await store.delete(key)
    assert await store.get(key) is None
    await store.delete(key)  # deleting twice is fine


async def test_sessions_expire(redis, prefix):
    store = RedisSessionStore(redis, prefix)
    await store.put("k", SESSION, 0.05)

    async def gone() -> bool:
        return await store.get("k") is None

    await wait_for(gone)


async def test_a_second_process_sees_the_sessions(redis, prefix):
    other = aioredis.Redis.from_url(REDIS_URL)
    try:
        await RedisSessionStore(redis, prefix).put("k", SESSION, 60)
        assert await RedisSessionStore(other, prefix).get("k") == SESSION
    finally:
        await other.aclose()


async def test_a_corrupt_entry_reads_as_logged_out_and_is_removed(redis, prefix):
    store = RedisSessionStore(redis, prefix)
    await redis.set(f"{prefix}session:k", b"{not json")
    assert await store.get("k") is None
    assert await redis.exists(f"{prefix}session:k") == 0


async def test_unreachable_redis_is_a_session_store_error():
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(SessionStoreError):
            await RedisSessionStore(dead, "x:").get("k")
    finally:
        await dead.aclose()


async def test_login_on_one_app_is_valid_on_another(tmp_path, redis, prefix):
    """After a take-over the new process keeps serving the old process's sessions."""
    cfg = make_config()
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    directory.add("anna", "Anna", "utrecht", ["phone"], ["nl"], PASSWORD)
    second_redis = aioredis.Redis.from_url(REDIS_URL)
    gateway = FakeGateway()
    first = TestClient(
        TestServer(create_app(cfg, directory, gateway, RedisSessionStore(redis, prefix)))
    )
    second = TestClient(
        TestServer(create_app(cfg, directory, gateway, RedisSessionStore(second_redis, prefix)))
    )
    await first.start_server()
    await second.start_server()
    try:
        resp = await first.post(
            "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
        )
        assert resp.status == 201
        token = (await resp.json())["token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = await second.get("/api/v1/me", headers=auth)
        assert me.status == 200
        assert (await me.json())["volunteer"]["id"] == "anna"
        assert (await second.delete("/api/v1/session", headers=auth)).status == 200
        assert (await first.get("/api/v1/me", headers=auth)).status == 401
        assert [k async for k in redis.scan_iter(match=f"{prefix}*")] == []
    finally:
        await first.close()
        await second.close()
        await second_redis.aclose()
        engine.dispose()


async def test_redis_down_during_a_request_is_503(tmp_path):
    cfg = make_config()
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
    client = TestClient(
        TestServer(create_app(cfg, directory, FakeGateway(), RedisSessionStore(dead, "x:")))
    )
    await client.start_server()
    try:
        resp = await client.get("/api/v1/me", headers={"Authorization": "Bearer abc"})
        assert resp.status == 503
        assert (await resp.json())["error"] == "unavailable"
    finally:
        await client.close()
        await dead.aclose()
        engine.dispose()


async def test_a_cookie_session_and_its_csrf_token_live_in_redis(tmp_path, redis, prefix):
    """Signed in by cookie on one process, a state change with the CSRF token on another."""
    cfg = make_config()
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    directory.add("anna", "Anna", "utrecht", ["phone"], ["nl"], PASSWORD)
    gateway = FakeGateway()
    store = RedisSessionStore(redis, prefix)
    first = TestClient(TestServer(create_app(cfg, directory, gateway, store)))
    second = TestClient(TestServer(create_app(cfg, directory, gateway, store)))
    await first.start_server()
    await second.start_server()
    try:
        resp = await first.post(
            "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
        )
        body = await resp.json()
        cookie = {"Cookie": f"{SESSION_COOKIE}={body['token']}"}
        [key] = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        stored = (await redis.get(key)).decode()
        assert body["csrf_token"] in stored and body["token"] not in stored
        refused = await second.post("/api/v1/me/ready", headers=cookie)
        assert refused.status == 403
        ok = await second.post(
            "/api/v1/me/ready", headers={**cookie, CSRF_HEADER: body["csrf_token"]}
        )
        assert ok.status == 200, await ok.text()
    finally:
        await first.close()
        await second.close()
        engine.dispose()
