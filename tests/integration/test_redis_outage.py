"""Redis stopped and started mid-evening: the engine stops, Asterisk carries the calls, a
new engine recovers from the journal and serves the waiting child; nothing is lost.

The next input that needs the journal is B's ring timeout (no one has to ask). A child who
calls while no engine is connected is refused by the dialplan today (``Stasis()`` fails and
the call is hung up); the spoken fallback on ``STASISSTATUS`` is a separate part of issue 7.

Uses a PRIVATE redis-server (its own port and directory, ``appendonly yes``) so the test can
stop it; the machine's shared Redis is never touched.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

import acd
from engine import EngineStopped
from tests.integration.app_harness import running_app
from tests.integration.audio import VOLUNTEER_TONE_HZ
from tests.integration.phones import AutoAnswer, CallerPhone, NeverAnswer, VolunteerPhone

pytestmark = [
    pytest.mark.integration,
    # A backstop only (each wait below has its own bound; the test runs in ~10 s): when this
    # test is the first of a session, the budget includes waiting for the shared Asterisk's
    # lock, which another test session may hold for minutes.
    pytest.mark.timeout(300),
    # redis-py drops a connection that died with the server without closing its socket; the
    # warning comes from its __del__ at some later garbage collection, not from our code.
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
]


async def _journal_seq(url: str, prefix: str) -> int:
    client = aioredis.from_url(url)
    try:
        return int(await client.get(f"{prefix}:seq") or 0)
    finally:
        await client.aclose()


async def test_redis_stopped_and_started_mid_evening(asterisk, tmp_path, private_redis):
    await private_redis.start()
    url = private_redis.url
    prefix = f"helpline-outage-{uuid.uuid4().hex[:8]}"
    standby_dir = tmp_path / "standby"
    standby_dir.mkdir()
    async with (
        running_app(asterisk, tmp_path, prefix=prefix, redis_url=url, expect_stop=True) as first,
        VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as talker,
        VolunteerPhone.of(asterisk, "test-udp-2", mode=NeverAnswer()) as ringer,
    ):
        await talker.registered()
        await ringer.registered()
        await first.login_ready("test-udp-1")
        await first.gateway.login("test-udp-2", "utrecht", frozenset({"phone"}), frozenset({"nl"}))
        async with CallerPhone("116111") as a, CallerPhone("116111") as b:
            await a.dial()
            await a.wait_hearing(VOLUNTEER_TONE_HZ)  # A talks with the first volunteer
            await b.dial()
            await b.wait_answered()
            await first.wait_for(lambda: first.app.acd.waiting_count() == 1)
            await first.gateway.submit(acd.AgentReady("test-udp-2"))
            await ringer.wait_incoming()  # B rings at the second volunteer, who never answers
            journaled = await _journal_seq(url, prefix)

            private_redis.stop()
            try:
                # B's ring timeout (4 s) is the next input that needs the journal: the
                # engine stops there instead of acting on a state the journal lacks.
                await first.wait_for(lambda: first.app.engine.stopped is not None, 10)
                assert isinstance(first.app.engine.stopped, EngineStopped)
                with pytest.raises(EngineStopped):  # and says so to whoever asks, at once
                    async with asyncio.timeout(2):
                        await first.gateway.submit(acd.AgentReady("test-udp-1"))
                # Asterisk keeps the conversation going while no engine runs.
                await a.wait_hearing(VOLUNTEER_TONE_HZ)
                await ringer.set_mode(AutoAnswer(0.1))
                await ringer.wait_ended(timeout_s=15)  # the unanswered offer rings out
            finally:
                if not private_redis.running:
                    await private_redis.start()
            assert await _journal_seq(url, prefix) == journaled  # nothing lost, nothing more

            # The old process is gone; a standby would take the lease once it lapses.
            client = aioredis.from_url(url)
            await client.delete(first.store.lease_key)
            await client.aclose()
            async with running_app(asterisk, standby_dir, prefix=prefix, redis_url=url) as second:
                core = second.app.acd
                assert second.state("test-udp-1") == "busy"  # recovered from the journal
                await second.wait_for(lambda: second.state("test-udp-2") == "busy", 15)
                await b.wait_hearing(VOLUNTEER_TONE_HZ)  # B is served
                await a.wait_hearing(VOLUNTEER_TONE_HZ)  # and A still talks
                await a.hangup()
                await b.hangup()
                await second.records_written(2)
                outcomes = sorted(
                    (r.outcome, r.volunteer_id) for r in second.writer.between(*_hour())
                )
                assert outcomes == [
                    ("answered", "test-udp-1"),
                    ("answered", "test-udp-2"),
                ]
                assert not list(core.contacts())


def _hour() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)
