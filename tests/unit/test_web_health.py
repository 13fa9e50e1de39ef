"""Health endpoints: live apart from ready, each check named, Redis probed with a timeout."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from storage import db
from storage.volunteers import VolunteerDirectory
from tests.unit.web_support import FakeGateway, make_config, web_env
from web import MemorySessionStore, ReadinessChecks, create_app


class Switch:
    """A check the test turns on and off."""

    def __init__(self, on: bool = True) -> None:
        self.on = on
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.on


class FakeRedis:
    """``ping`` answers, fails or hangs, as the test says."""

    def __init__(self) -> None:
        self.mode = "up"
        self.pings = 0

    async def ping(self) -> bool:
        self.pings += 1
        if self.mode == "down":
            raise ConnectionError("connection refused")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        return True


@pytest.fixture
def parts() -> tuple[Switch, Switch, FakeRedis]:
    return Switch(), Switch(), FakeRedis()


@pytest.fixture
async def client(tmp_path, parts):
    ari, lease, redis = parts
    readiness = ReadinessChecks(
        ari_connected=ari, lease_held=lease, redis_ping=redis.ping, redis_timeout_s=0.05
    )
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    cfg = make_config()
    app = create_app(
        cfg,
        VolunteerDirectory.from_config(engine, cfg),
        FakeGateway(),
        MemorySessionStore(),
        readiness=readiness,
    )
    test_client: TestClient[Any, Any] = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()
        engine.dispose()


async def _get(client: TestClient[Any, Any], path: str) -> tuple[int, Any]:
    resp = await client.get(path)
    return resp.status, await resp.json()


async def test_all_checks_pass_so_ready(client, parts):
    for path in ("/healthz/ready", "/healthz"):
        status, body = await _get(client, path)
        assert status == 200
        assert body == {"ok": True, "checks": {"ari": True, "redis": True, "lease": True}}
    assert parts[2].pings == 2  # Redis is really asked on every probe, not cached


@pytest.mark.parametrize("down", ["ari", "lease", "redis_refused", "redis_hangs"])
async def test_any_check_failing_is_503_naming_it_while_still_live(client, parts, down):
    ari, lease, redis = parts
    if down == "ari":
        ari.on = False
    elif down == "lease":
        lease.on = False
    else:
        redis.mode = "down" if down == "redis_refused" else "hang"
    failing = down.split("_")[0]
    for path in ("/healthz/ready", "/healthz"):
        status, body = await _get(client, path)
        assert status == 503
        assert body["ok"] is False
        assert body["checks"] == {name: name != failing for name in ("ari", "redis", "lease")}
    assert await _get(client, "/healthz/live") == (200, {"ok": True})


async def test_ready_again_once_the_check_recovers(client, parts):
    ari = parts[0]
    ari.on = False
    assert (await _get(client, "/healthz/ready"))[0] == 503
    ari.on = True
    assert (await _get(client, "/healthz/ready"))[0] == 200


async def test_a_check_that_raises_counts_as_not_ready(tmp_path, caplog):
    def broken() -> bool:
        raise RuntimeError("bug in a check")

    async def ping() -> bool:
        return True

    readiness = ReadinessChecks(ari_connected=broken, lease_held=lambda: True, redis_ping=ping)
    caplog.set_level(logging.ERROR, logger="web.health")
    assert await readiness.checks() == {"ari": False, "redis": True, "lease": True}
    assert "readiness check 'ari' failed" in caplog.text


async def test_a_hanging_redis_answers_within_the_timeout():
    async def hang() -> None:
        await asyncio.sleep(3600)

    readiness = ReadinessChecks(
        ari_connected=lambda: True, lease_held=lambda: True, redis_ping=hang, redis_timeout_s=0.05
    )
    async with asyncio.timeout(1.0):
        assert (await readiness.checks())["redis"] is False


async def test_without_readiness_the_app_counts_as_ready(tmp_path):
    async with web_env(tmp_path) as env:
        for path in ("/healthz", "/healthz/ready"):
            resp = await env.client.get(path)
            assert resp.status == 200
            assert (await resp.json()) == {"ok": True, "checks": {}}
        assert (await env.client.get("/healthz/live")).status == 200
