"""Coaching on the real Asterisk: listen, whisper and barge, proven by tones.

pjsua2 plays the child (440 Hz, from the carrier address), the volunteer (880 Hz) and the
supervisor (1000 Hz, on the second registered test phone, rung by the app as a volunteer's
phone is for an offer). Listen: the supervisor hears the child and the volunteer, nobody hears
the supervisor. Whisper: the volunteer hears the supervisor, the child does not. Barge: all
three hear each other. When the call ends, every snoop channel, supervisor leg and bridge of
it is gone; a supervisor who hangs up leaves the call as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from ari_app.client import AriClient
from tests.integration.app_harness import RunningApp, running_app
from tests.integration.audio import CALLER_TONE_HZ, VOLUNTEER_TONE_HZ
from tests.integration.audio import PARTNER_TONE_HZ as SUPERVISOR_TONE_HZ
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

VOLUNTEER = "test-udp-1"
SUPERVISOR = "test-udp-2"
HELPLINE_NUMBER = "116111"
OUR_CHANNELS = ("vol-", "ptn-", "sup-", "spy-")
OUR_BRIDGES = ("hold-", "talk-", "coach-")


@dataclass
class Call:
    run: RunningApp
    caller: CallerPhone
    volunteer: VolunteerPhone
    supervisor: VolunteerPhone

    async def coach(self, mode: str) -> Any:
        return await self.run.gateway.coach(SUPERVISOR, VOLUNTEER, mode)

    async def switch(self, mode: str | None) -> Any:
        return await self.run.gateway.coaching_step(SUPERVISOR, VOLUNTEER, mode)

    def coaching(self) -> Any:
        for session in self.run.app.engine.sessions.values():
            if session.coaching is not None:
                return session.coaching
        return None

    async def coaching_is(self, state: str, timeout_s: float = 10.0) -> None:
        def reached() -> bool:
            coaching = self.coaching()
            return coaching is not None and coaching.state.value == state

        await self.run.wait_for(reached, timeout_s)


@asynccontextmanager
async def a_call(asterisk: Any, tmp_path: Any) -> AsyncIterator[Call]:
    """The child talking with the volunteer; the supervisor's phone registered."""
    async with (
        running_app(asterisk, tmp_path) as run,
        VolunteerPhone.of(asterisk, VOLUNTEER, mode=AutoAnswer(0.1)) as volunteer,
        VolunteerPhone.of(
            asterisk, SUPERVISOR, mode=AutoAnswer(0.2), tone_hz=SUPERVISOR_TONE_HZ
        ) as supervisor,
    ):
        await volunteer.registered()
        await supervisor.registered()
        await run.login_ready(VOLUNTEER)
        async with CallerPhone(HELPLINE_NUMBER) as caller:
            await caller.dial()
            await caller.wait_hearing(VOLUNTEER_TONE_HZ)
            yield Call(run, caller, volunteer, supervisor)


async def ours_in_asterisk(asterisk: Any) -> tuple[list[str], list[str]]:
    ari = asterisk.ari
    async with AriClient(ari.base_url, ari.user, ari.password, asterisk.app) as client:
        channels = [c.id for c in await client.channels.list()]
        bridges = [b.id for b in await client.bridges.list()]
    return (
        [c for c in channels if c.startswith(OUR_CHANNELS)],
        [b for b in bridges if b.startswith(OUR_BRIDGES)],
    )


async def nothing_left(run: RunningApp, asterisk: Any) -> None:
    async def clean() -> bool:
        channels, bridges = await ours_in_asterisk(asterisk)
        return not channels and not bridges and not run.app.engine.sessions

    async with asyncio.timeout(10):
        while not await clean():
            await asyncio.sleep(0.1)


async def coaching_resources(asterisk: Any) -> tuple[list[str], list[str]]:
    channels, bridges = await ours_in_asterisk(asterisk)
    return (
        sorted(c for c in channels if c.startswith(("sup-", "spy-"))),
        [b for b in bridges if b.startswith("coach-")],
    )


async def test_listen_whisper_barge_and_the_call_ending_cleans_up(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        view = await call.coach("listen")
        assert view["state"] == "ringing" and view["mode"] == "listen"
        await call.supervisor.wait_answered()
        await call.coaching_is("active")

        # Listen: the supervisor hears the child and the volunteer; nobody hears them.
        await call.supervisor.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, absent=(SUPERVISOR_TONE_HZ,))
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, absent=(SUPERVISOR_TONE_HZ,))
        channels, bridges = await coaching_resources(asterisk)
        assert [c[:4] for c in channels] == ["spy-", "sup-"] and len(bridges) == 1

        # Whisper: the volunteer hears the supervisor; the child does NOT.
        view = await call.switch("whisper")
        assert view["mode"] == "whisper"
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, SUPERVISOR_TONE_HZ)
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, absent=(SUPERVISOR_TONE_HZ,))
        await call.supervisor.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        # The snoop of the listen mode was replaced, not added to.
        channels, _ = await coaching_resources(asterisk)
        assert sorted(c[:4] for c in channels) == ["spy-", "sup-"]

        # Barge: all three hear each other; the snoop and the coach bridge are gone.
        await call.switch("barge")
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, SUPERVISOR_TONE_HZ)
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, SUPERVISOR_TONE_HZ)
        await call.supervisor.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        await call.run.wait_for(lambda: call.coaching().snoop is None)

        async def barged_only() -> bool:
            channels, bridges = await coaching_resources(asterisk)
            return [c[:4] for c in channels] == ["sup-"] and not bridges

        async with asyncio.timeout(10):
            while not await barged_only():
                await asyncio.sleep(0.1)

        # The child hangs up: the volunteer's and the supervisor's phones are hung up, and
        # no channel or bridge of the call is left in Asterisk.
        await call.caller.hangup()
        await call.supervisor.wait_ended()
        await call.volunteer.wait_ended()
        await nothing_left(call.run, asterisk)
        coaching = call.coaching()
        assert coaching is None or coaching.reason == "call_ended"


async def test_the_supervisor_hanging_up_leaves_the_call_as_it_was(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        await call.coach("whisper")
        await call.supervisor.wait_answered()
        await call.coaching_is("active")
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, SUPERVISOR_TONE_HZ)
        session = next(iter(call.run.app.engine.sessions.values()))

        await call.supervisor.hangup()
        await call.coaching_is("ended")
        assert session.coaching is not None and session.coaching.reason == "supervisor_left"
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, absent=(SUPERVISOR_TONE_HZ,))
        await call.caller.wait_hearing(VOLUNTEER_TONE_HZ)

        async def coaching_gone() -> bool:
            return await coaching_resources(asterisk) == ([], [])

        async with asyncio.timeout(10):
            while not await coaching_gone():
                await asyncio.sleep(0.1)

        # A new coaching of the same call works after the first.
        await call.coach("listen")
        await call.supervisor.wait_answered()
        await call.coaching_is("active")
        await call.supervisor.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        await call.switch(None)  # stop
        await call.supervisor.wait_ended()
        await call.caller.hangup()
        await nothing_left(call.run, asterisk)


async def test_the_volunteer_leaving_ends_the_coaching_and_the_call(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        await call.coach("barge")
        await call.supervisor.wait_answered()
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, SUPERVISOR_TONE_HZ)
        await call.volunteer.hangup()
        await call.supervisor.wait_ended()
        await call.caller.wait_ended()
        await nothing_left(call.run, asterisk)
        await call.run.records_written(1)


async def test_a_supervisor_ready_while_she_coaches_is_offered_the_next_child_only_after(
    asterisk, tmp_path
):
    """Her phone is busy with the coaching: a child's call offered to it would be refused
    (486) and cost the child ring time. The child waits for her instead (no other volunteer
    is free here) and is rung through to her phone once she stops coaching."""
    async with a_call(asterisk, tmp_path) as call:
        run = call.run
        await call.coach("listen")
        coaching_call = await call.supervisor.wait_incoming()
        assert "coaching" in coaching_call.remote_uri
        await call.supervisor.wait_answered()
        await call.coaching_is("active")
        await run.login_ready(SUPERVISOR)  # she sets herself ready while coaching
        agent = run.agent(SUPERVISOR)
        assert agent is not None and (agent["state"], agent["coaching"]) == ("available", True)

        async with CallerPhone(HELPLINE_NUMBER) as second:
            await second.dial()
            await run.wait_for(lambda: run.app.acd.waiting_count() == 1)
            await call.supervisor.assert_no_incoming(within_s=2.0)
            (waiting,) = [c for c in run.app.acd.contacts() if c.agent_id is None]
            assert waiting.offer_token == 0, "offered to her busy phone (it refuses with 486)"

            await call.switch(None)  # she stops coaching: the child waiting is hers now
            await call.supervisor.wait_incoming(timeout_s=10)
            await second.wait_hearing(SUPERVISOR_TONE_HZ)
            agent = run.agent(SUPERVISOR)
            assert agent is not None and (agent["state"], agent["coaching"]) == ("busy", False)
            await second.hangup()
        await call.caller.hangup()
        await nothing_left(run, asterisk)
