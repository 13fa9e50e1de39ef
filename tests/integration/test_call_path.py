"""The walking spine: a real SIP call to 116111 through the real Asterisk, routed by our ACD.

Real pjsua2 phones (a caller on the carrier side, volunteers registered over SIP), real
Asterisk 22, real Redis and SQL: audio has to flow both ways for a test to pass.
"""

from __future__ import annotations

import asyncio

import pytest

import acd
from tests.integration.app_harness import running_app
from tests.integration.audio import CALLER_TONE_HZ, VOLUNTEER_TONE_HZ
from tests.integration.phones import AutoAnswer, CallerPhone, NeverAnswer, Reject, VolunteerPhone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@pytest.mark.parametrize("number", ["116111", "08000432"])
async def test_a_call_reaches_a_volunteer_and_audio_flows_both_ways(asterisk, tmp_path, number):
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1") as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")
            async with CallerPhone(number) as caller:
                await caller.dial()
                incoming = await phone.wait_incoming()
                assert "0612345" not in incoming.invite  # the child's number never arrives
                await phone.answer()
                await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                heard_by_volunteer = await phone.wait_hearing(CALLER_TONE_HZ)
                heard_by_caller = await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                assert heard_by_volunteer.rms > 500
                assert heard_by_caller.rms > 500
                await caller.hangup()
                ended = await phone.wait_ended()
                assert ended.connected_s > 0
            await run.wait_for(lambda: run.state("test-udp-1") in ("wrap_up", "available"))
            await run.records_written(1)
            (record,) = run.writer.between(*_whole_day())
            assert record.outcome == "answered"
            assert record.volunteer_id == "test-udp-1"
            assert record.line_id == ("116111" if number == "116111" else "0800-0432")


async def test_ring_no_answer_goes_to_the_next_volunteer(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with (
            VolunteerPhone.of(asterisk, "test-udp-1", mode=NeverAnswer()) as first,
            VolunteerPhone.of(asterisk, "test-udp-2", mode=AutoAnswer(0.2)) as second,
        ):
            await first.registered()
            await second.registered()
            await run.login_ready("test-udp-1")  # idle longest: offered first
            await run.login_ready("test-udp-2")
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await first.wait_incoming()
                await second.wait_incoming(timeout_s=8)  # after the 4 s ring timeout
                ended = await first.wait_ended()
                assert ended.connected_s == 0
                await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                await run.wait_for(lambda: run.state("test-udp-2") == "busy")
                await caller.hangup()
            await run.records_written(1)
            (record,) = run.writer.between(*_whole_day())
            assert record.volunteer_id == "test-udp-2"


async def test_caller_hanging_up_stops_the_ringing(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1", mode=NeverAnswer()) as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await phone.wait_incoming()
                await caller.hangup()
            ended = await phone.wait_ended(timeout_s=5)
            assert ended.connected_s == 0
            await run.wait_for(lambda: run.state("test-udp-1") == "available")
            await run.records_written(1)
            (record,) = run.writer.between(*_whole_day())
            assert record.outcome == "abandoned"


async def test_wrap_up_holds_the_next_offer_until_it_ends(asterisk, tmp_path):
    settings = acd.AcdSettings(ring_timeout_s=4.0, wrap_up_s=3.0, max_wait_s=120.0)
    async with running_app(asterisk, tmp_path, settings) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")
            async with CallerPhone("116111") as first:
                await first.dial()
                await phone.wait_incoming()
                await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                await first.hangup()
            await run.wait_for(lambda: run.state("test-udp-1") == "wrap_up")
            async with CallerPhone("116111") as second:
                await second.dial()
                await phone.assert_no_incoming(within_s=2.0)  # still in wrap-up
                await phone.wait_incoming(timeout_s=5)  # wrap-up over: offered now
                await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                await second.hangup()


async def test_an_unregistered_phone_gets_no_call_until_it_registers(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-2", mode=AutoAnswer(0.1)) as phone:
            await phone.registered()
            await phone.unregister()  # a phone of an earlier test may still be registered
            await run.login_ready("test-udp-2")
            await _until_the_app_sees_it_unregistered(run, phone, asterisk)
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await caller.wait_answered()  # we answer and play music on hold
                await phone.assert_no_incoming(within_s=1.5)
                await phone.register()
                await phone.wait_incoming(timeout_s=8)
                await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                await caller.hangup()


async def _until_the_app_sees_it_unregistered(run, phone, asterisk) -> None:
    """Asterisk reports the unregister to the app as an event: wait for it to land. Our
    REGISTER replaced any contact an earlier test's phone left on the account; should one
    have come back meanwhile (a phone of an earlier test refreshing), take the account over
    and let it go once more."""

    def unregistered() -> bool:
        return run.gateway.agent_view("test-udp-2")["phone_registered"] is False

    for _ in range(3):
        try:
            await run.wait_for(unregistered, timeout_s=5)
            return
        except TimeoutError:
            await phone.register()
            await phone.unregister()
    aor = await asyncio.to_thread(asterisk.runtime.cli, "pjsip show aor test-udp-2")
    raise AssertionError(f"the app still sees test-udp-2 registered; Asterisk says:\n{aor}")


def _whole_day():
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


async def test_a_volunteer_who_declines_passes_the_call_on(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with (
            VolunteerPhone.of(asterisk, "test-udp-1", mode=Reject(603)) as declining,
            VolunteerPhone.of(asterisk, "test-udp-2", mode=AutoAnswer(0.1)) as taking,
        ):
            await declining.registered()
            await taking.registered()
            await run.login_ready("test-udp-1")
            await run.login_ready("test-udp-2")
            async with CallerPhone("116111") as caller:
                await caller.dial()
                assert (await declining.wait_ended()).code == 603
                await taking.wait_incoming(timeout_s=3)  # at once, not after a ring timeout
                await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                view = run.gateway.agent_view("test-udp-1")
                assert view is not None and view["state"] == "available"
                await caller.hangup()
