"""A journal failure stops the engine, and no request is left waiting on a stopped engine."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import acd
from engine import Engine, EngineStopped


class BrokenJournal:
    """A journal whose store went away (Redis stopped)."""

    seq = 0
    pending = 0

    async def append(self, event: dict[str, Any] | None, now: float) -> int:
        raise ConnectionError("Redis is down")

    async def save_snapshot(self, snapshot: dict[str, Any], journal_len: int) -> None:
        raise AssertionError("never reached")


async def test_the_request_whose_journal_write_fails_hears_that_the_engine_stopped():
    engine = Engine(acd.Acd(), journal=BrokenJournal(), clock=lambda: 1.0)
    runner = asyncio.create_task(engine.run())
    login = acd.AgentLoggedIn("v1", "loc", frozenset({"phone"}), frozenset({"nl"}))
    async with asyncio.timeout(2):
        with pytest.raises(EngineStopped):
            await engine.apply(login)
        with pytest.raises(EngineStopped):
            await runner
    assert isinstance(engine.stopped, EngineStopped)
    assert isinstance(engine.stopped.__cause__, ConnectionError)


async def test_requests_after_the_stop_fail_at_once():
    engine = Engine(acd.Acd(), journal=BrokenJournal(), clock=lambda: 1.0)
    runner = asyncio.create_task(engine.run())
    with pytest.raises(EngineStopped):
        await engine.apply(acd.AgentLoggedIn("v1", "l", frozenset(), frozenset({"nl"})))
    await asyncio.gather(runner, return_exceptions=True)
    async with asyncio.timeout(1):
        with pytest.raises(EngineStopped):
            await engine.apply(acd.AgentReady("v1"))
        with pytest.raises(EngineStopped):
            await engine.call(lambda: 42)
