"""The real Redis for the tests: a client fixture and a polling helper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    """A client of the machine's Redis server, closed after the test."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - environment problem, not a test result
        await client.aclose()
        pytest.fail(f"real Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    await client.aclose()


async def wait_for(cond: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    """Poll ``cond`` until true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await cond():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.01)
