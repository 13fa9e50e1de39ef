"""The warm transfer on the real Asterisk, with real SIP phones for all three parties.

pjsua2 plays the child (440 Hz, from the carrier address), the volunteer (880 Hz, registered)
and Veilig Thuis (1000 Hz), which Asterisk dials out to through the carrier, as a real partner
would be reached. Audio is proven by measuring tones: in a conference each party hears both
others; after the volunteer leaves, the child and the partner hear each other and not the
volunteer. Every path of issue 10: consult, conference, leave or stay, no answer and busy,
cancel, the child hanging up, the volunteer's phone dropping, a closed partner, and what the
partner's INVITE carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ari_app.client import AriClient
from session.errors import TransferRefused
from tests.integration.app_harness import RunningApp, running_app
from tests.integration.audio import CALLER_TONE_HZ, PARTNER_TONE_HZ, VOLUNTEER_TONE_HZ
from tests.integration.phones import (
    AutoAnswer,
    CallerPhone,
    Manual,
    NeverAnswer,
    PartnerPhone,
    Reject,
    VolunteerPhone,
)
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER
from tests.integration.test_resilience import (  # noqa: F401 - app_process is a fixture
    _eventually,
    _login,
    _ready,
    _records,
    _request,
    app_process,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

VOLUNTEER = "test-udp-1"
SECOND = "test-udp-2"
PARTNER = "veilig-thuis"
PARTNER_NUMBER = "08002000"
HELPLINE_NUMBER = "116111"


@dataclass
class Call:
    run: RunningApp
    caller: CallerPhone
    volunteer: VolunteerPhone
    partner: PartnerPhone

    async def transfer(self, mode: str = "consult", region: str | None = "utrecht") -> Any:
        return await self.run.gateway.start_transfer(VOLUNTEER, PARTNER, mode, region)

    async def step(self, name: str) -> Any:
        return await self.run.gateway.transfer_step(VOLUNTEER, name)

    def transfer_state(self) -> str | None:
        for session in self.run.app.engine.sessions.values():
            if session.transfer is not None:
                return session.transfer.state.value
        return None

    async def transfer_is(self, state: str, timeout_s: float = 10.0) -> None:
        await self.run.wait_for(lambda: self.transfer_state() == state, timeout_s)


@asynccontextmanager
async def a_call(asterisk: Any, tmp_path: Any, partner_mode: Any = None) -> AsyncIterator[Call]:
    """The child talking with the volunteer; the partner's phone ready to be dialled."""
    async with (
        running_app(asterisk, tmp_path) as run,
        VolunteerPhone.of(asterisk, VOLUNTEER, mode=AutoAnswer(0.1)) as volunteer,
        PartnerPhone(mode=partner_mode or AutoAnswer(0.3)) as partner,
    ):
        await volunteer.registered()
        await run.login_ready(VOLUNTEER)
        async with CallerPhone(HELPLINE_NUMBER) as caller:
            await caller.dial()
            await caller.wait_hearing(VOLUNTEER_TONE_HZ)
            yield Call(run, caller, volunteer, partner)


async def our_channels_and_bridges(asterisk: Any) -> tuple[list[str], list[str]]:
    ari = asterisk.ari
    async with AriClient(ari.base_url, ari.user, ari.password, asterisk.app) as client:
        channels = [c.id for c in await client.channels.list()]
        bridges = [b.id for b in await client.bridges.list()]
    ours = [c for c in channels if c.startswith(("vol-", "ptn-"))]
    return ours, [b for b in bridges if b.startswith(("hold-", "talk-"))]


async def nothing_left(run: RunningApp, asterisk: Any) -> None:
    async def clean() -> bool:
        channels, bridges = await our_channels_and_bridges(asterisk)
        return not channels and not bridges and not run.app.engine.sessions

    async with asyncio.timeout(10):
        while not await clean():
            await asyncio.sleep(0.1)


def the_record(run: RunningApp) -> Any:
    now = datetime.now(UTC)
    (record,) = run.writer.between(now - timedelta(hours=1), now + timedelta(hours=1))
    return record


async def test_consult_conference_then_the_volunteer_leaves_child_and_partner_talk_on(
    asterisk, tmp_path
):
    async with a_call(asterisk, tmp_path) as call:
        view = await call.transfer()
        assert view["state"] == "dialing"
        incoming = await call.partner.wait_incoming()
        # The partner sees the helpline's number and nothing of the child.
        invite = incoming.request
        assert invite.user == PARTNER_NUMBER
        assert invite.uri_user("From") == HELPLINE_NUMBER
        assert SECRET_CALLER_NUMBER not in incoming.invite
        assert SECRET_CALLER_NAME not in incoming.invite
        await call.partner.wait_answered()
        await call.transfer_is("consult")
        # Consult: volunteer and partner talk alone; the child hears neither.
        await call.partner.wait_hearing_tones(VOLUNTEER_TONE_HZ, absent=(CALLER_TONE_HZ,))
        await call.caller.wait_hearing_tones(absent=(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ))

        await call.step("conference")
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
        await call.partner.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, PARTNER_TONE_HZ)

        view = await call.step("leave")
        assert view["state"] == "handed_over"
        await call.volunteer.wait_ended()
        await call.run.wait_for(lambda: call.run.state(VOLUNTEER) in ("wrap_up", "available"))
        # Child and partner talk on, both ways, without the volunteer.
        await call.caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
        await call.partner.wait_hearing_tones(CALLER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
        await call.run.records_written(1)
        record = the_record(call.run)
        assert (record.referral_partner, record.referral_region) == (PARTNER, "utrecht")
        assert record.referral_consent is True and record.referral_volunteer_stayed is False

        await call.caller.hangup()
        await call.partner.wait_ended()
        await nothing_left(call.run, asterisk)


async def test_the_volunteer_stays_to_the_end(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        await call.transfer()
        await call.partner.wait_answered()
        await call.transfer_is("consult")
        await call.step("conference")
        await call.step("stay")
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
        await call.caller.hangup()
        await call.volunteer.wait_ended()
        await call.partner.wait_ended()
        await nothing_left(call.run, asterisk)
        await call.run.records_written(1)
        record = the_record(call.run)
        assert record.referral_partner == PARTNER and record.referral_volunteer_stayed is True


@pytest.mark.parametrize(("mode", "reason"), [(Reject(486), "busy"), (NeverAnswer(), "no_answer")])
async def test_a_partner_who_does_not_answer_returns_the_volunteer_to_the_child(
    asterisk, tmp_path, mode, reason
):
    async with a_call(asterisk, tmp_path, partner_mode=mode) as call:
        await call.transfer()
        await call.partner.wait_incoming()
        if reason == "no_answer":  # (a busy partner answers at once: no time to measure)
            await call.caller.wait_hearing_tones(absent=(VOLUNTEER_TONE_HZ,))  # on hold
        await call.transfer_is("failed", timeout_s=20)  # ring_timeout_s is 5 in the tests
        session = next(iter(call.run.app.engine.sessions.values()))
        assert session.transfer is not None and session.transfer.reason == reason
        await call.caller.wait_hearing(VOLUNTEER_TONE_HZ)
        await call.volunteer.wait_hearing(CALLER_TONE_HZ)
        await call.caller.hangup()
        await call.run.records_written(1)
        assert the_record(call.run).referral_partner is None


async def test_cancel_in_consult_returns_the_volunteer_to_the_child(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        await call.transfer()
        await call.partner.wait_answered()
        await call.transfer_is("consult")
        view = await call.step("cancel")
        assert view["state"] == "cancelled"
        await call.partner.wait_ended()
        await call.caller.wait_hearing(VOLUNTEER_TONE_HZ)
        await call.volunteer.wait_hearing_tones(CALLER_TONE_HZ, absent=(PARTNER_TONE_HZ,))
        await call.caller.hangup()
        await nothing_left(call.run, asterisk)


@pytest.mark.parametrize("stage", ["consult", "conference"])
async def test_the_child_hanging_up_cleans_up_every_leg_and_bridge(asterisk, tmp_path, stage):
    async with a_call(asterisk, tmp_path) as call:
        await call.transfer()
        await call.partner.wait_answered()
        await call.transfer_is("consult")
        if stage == "conference":
            await call.step("conference")
            await call.partner.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        await call.caller.hangup()
        await call.volunteer.wait_ended()
        await call.partner.wait_ended()
        await nothing_left(call.run, asterisk)


async def test_volunteer_drops_in_consult_after_the_partner_answered(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        await call.transfer()
        await call.partner.wait_answered()
        await call.transfer_is("consult")
        await call.volunteer.hangup()  # the phone drops
        await call.transfer_is("handed_over")
        await call.caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
        await call.partner.wait_hearing(CALLER_TONE_HZ)
        await call.caller.hangup()
        await nothing_left(call.run, asterisk)


async def test_volunteer_drops_before_the_partner_answered_the_next_volunteer_gets_the_child(
    asterisk, tmp_path
):
    async with (
        a_call(asterisk, tmp_path, partner_mode=Manual()) as call,
        VolunteerPhone.of(asterisk, SECOND, mode=AutoAnswer(0.1)) as second,
    ):
        await second.registered()
        await call.run.login_ready(SECOND)
        await _sees_the_phone(call.run, SECOND)
        await call.transfer()
        await call.partner.wait_incoming()
        await call.volunteer.hangup()  # the phone drops while the partner's rings
        await call.partner.wait_ended()  # the partner's call is withdrawn
        await second.wait_incoming()
        await call.caller.wait_hearing(VOLUNTEER_TONE_HZ)  # the second volunteer
        await second.wait_hearing(CALLER_TONE_HZ)
        await call.caller.hangup()
        await nothing_left(call.run, asterisk)


async def _sees_the_phone(run: RunningApp, agent_id: str) -> None:
    """The app heard of the phone's registration, and the core knows the volunteer is ready."""
    try:
        await run.wait_for(lambda: (run.agent(agent_id) or {}).get("phone_registered") is True, 5)
    except TimeoutError:
        raise AssertionError(
            f"the app never saw {agent_id}'s phone: {run.agent(agent_id)}"
        ) from None


async def test_direct_mode_joins_the_partner_at_once(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        await call.transfer(mode="direct", region=None)
        await call.partner.wait_answered()
        await call.transfer_is("conference")
        await call.caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
        await call.caller.hangup()
        await nothing_left(call.run, asterisk)


async def test_a_closed_partner_is_refused_with_when_it_opens(asterisk, tmp_path):
    async with a_call(asterisk, tmp_path) as call:
        with pytest.raises(TransferRefused) as refused:
            await call.run.gateway.start_transfer(VOLUNTEER, "closed-partner", "consult", None)
        assert refused.value.code == "partner_closed"
        await call.partner.assert_no_incoming(1.0)
        await call.caller.hangup()


async def test_sigkill_during_a_conference_then_the_transfer_completes(
    asterisk,
    app_process,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    """``helpline run`` is SIGKILLed with all three talking; Asterisk keeps the conference up;
    the restarted app rebuilds the transfer from the channels and the volunteer leaves."""
    app_process.start()
    await app_process.healthy()
    async with (
        VolunteerPhone.of(asterisk, VOLUNTEER, mode=AutoAnswer(0.1)) as volunteer,
        PartnerPhone(mode=AutoAnswer(0.3)) as partner,
    ):
        await volunteer.registered()
        token = await _login(VOLUNTEER)
        await _ready(token)
        async with CallerPhone(HELPLINE_NUMBER) as caller:
            await caller.dial()
            await caller.wait_hearing(VOLUNTEER_TONE_HZ)
            body = {"partner": PARTNER, "mode": "consult", "consent": True, "region": "utrecht"}
            started = await asyncio.to_thread(_request, "POST", "/api/v1/me/transfer", body, token)
            assert started["transfer"]["state"] == "dialing"
            await partner.wait_answered()
            await partner.wait_hearing(VOLUNTEER_TONE_HZ)
            await asyncio.to_thread(_request, "POST", "/api/v1/me/transfer/conference", {}, token)
            await caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)

            app_process.kill()
            # Asterisk keeps the three together while our process is dead.
            await caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
            app_process.start()
            await app_process.healthy()
            await partner.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)

            now = await asyncio.to_thread(_request, "GET", "/api/v1/me/transfer", None, token)
            assert now["transfer"]["state"] == "conference"
            left = await asyncio.to_thread(_request, "POST", "/api/v1/me/transfer/leave", {}, token)
            assert left["transfer"]["state"] == "handed_over"
            await volunteer.wait_ended()
            await caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
            await partner.wait_hearing_tones(CALLER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
            await caller.hangup()
            await partner.wait_ended()

        async def recorded() -> bool:
            return len(_records(tmp_path)) == 1

        await _eventually(recorded)
    (record,) = _records(tmp_path)
    assert record.referral_partner == PARTNER and record.referral_volunteer_stayed is False
