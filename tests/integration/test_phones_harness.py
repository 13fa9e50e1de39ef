"""The test phones themselves: registration, answer modes and two-way audio.

The peer-to-peer tests need no Asterisk (the caller dials the volunteer or partner phone
directly); the ``integration`` ones go through the real Asterisk, with a tiny ARI app in this
file that answers the carrier call and bridges it with calls it originates to the volunteer
and, out through the carrier trunk, to a partner.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.ari_events import AriEvent, ChannelDestroyed, StasisEnd, StasisStart
from ari_app.client import AriClient
from ari_app.errors import AriError
from ari_app.websocket import AriEventSocket
from dialplan import stasis_args
from tests.integration.audio import (
    CALLER_TONE_HZ,
    PARTNER_TONE_HZ,
    VOLUNTEER_TONE_HZ,
    AudioError,
    analyse,
    tone_samples,
    write_wav,
)
from tests.integration.phones import (
    PARTNER_SIP_PORT,
    AutoAnswer,
    CallerPhone,
    CallFailed,
    Manual,
    NeverAnswer,
    PartnerPhone,
    PhoneCrashed,
    PhoneError,
    PhoneTimeout,
    Reject,
    VolunteerPhone,
)
from tests.integration.sip_message import SipParseError, parse_request
from tests.integration.sipp import CARRIER_IP, SECRET_CALLER_NAME, SECRET_CALLER_NUMBER

# -- audio analysis (no network) ------------------------------------------------------------


def test_analysis_finds_the_tone_after_leading_silence(tmp_path: Path):
    samples = tone_samples(0, 1.0) + tone_samples(440, 0.5)  # 1 s silence, then 440 Hz
    report = analyse(write_wav(tmp_path / "t.wav", samples, 8000))
    assert report.duration_s == pytest.approx(1.5)
    assert report.active_s == pytest.approx(0.5, abs=0.03)
    assert report.has_tone(440)
    assert not report.has_tone(880)


def test_analysis_of_silence(tmp_path: Path):
    report = analyse(write_wav(tmp_path / "s.wav", tone_samples(0, 0.5), 8000))
    assert report.silent and report.dominant_hz is None
    assert not report.has_tone(440)


def test_unfinished_wav_is_an_error(tmp_path: Path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\0\0\0\0WAVE")
    with pytest.raises(AudioError):
        analyse(path)


def test_analysis_tells_the_tones_of_a_conference_apart(tmp_path: Path):
    # What the child hears in a three-way call: the volunteer and the partner at once.
    volunteer, partner = tone_samples(VOLUNTEER_TONE_HZ, 0.4), tone_samples(PARTNER_TONE_HZ, 0.4)
    mixed = tone_samples(0, 0.2) + array(
        "h", (v + p for v, p in zip(volunteer, partner, strict=True))
    )
    report = analyse(write_wav(tmp_path / "mix.wav", mixed, 8000))
    assert report.hears(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
    assert not report.hears(CALLER_TONE_HZ)
    assert report.level(VOLUNTEER_TONE_HZ) == pytest.approx(8000 / 2**0.5, rel=0.02)
    assert report.level(CALLER_TONE_HZ) < 10  # no leakage from the neighbours
    alone = analyse(write_wav(tmp_path / "one.wav", partner, 8000))
    assert alone.hears(PARTNER_TONE_HZ) and alone.has_tone(PARTNER_TONE_HZ)
    assert not alone.hears(VOLUNTEER_TONE_HZ)
    with pytest.raises(AudioError):
        alone.level(1234)  # only the analysed frequencies have a level


_INVITE = (
    "INVITE sip:08002000@127.0.0.2:5060 SIP/2.0\r\n"
    "v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n"
    "Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bK-0\r\n"
    'f: "Kindertelefoon" <sip:08000432@127.0.0.1>;tag=abc\r\n'
    "To: <sip:08002000@127.0.0.2>\r\n"
    "Contact: sip:asterisk@127.0.0.1:5060\r\n"
    "P-Asserted-Identity: <tel:+318000432;phone-context=nl>\r\n"
    "Subject: a folded\r\n  header\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n"
)


def test_a_received_invite_is_parsed_for_its_identity_headers():
    invite = parse_request(_INVITE)
    assert (invite.method, invite.user) == ("INVITE", "08002000")
    assert invite.header("FROM") == '"Kindertelefoon" <sip:08000432@127.0.0.1>;tag=abc'
    assert invite.uri_user("From") == "08000432"  # compact "f:" counts as From
    assert invite.uri_user("P-Asserted-Identity") == "+318000432"
    assert invite.uri_user("Contact") == "asterisk"
    assert len(invite.header_values("Via")) == 2
    assert invite.header("Subject") == "a folded header"
    assert invite.header("Remote-Party-ID") is None and invite.uri_user("Diversion") is None
    assert set(invite.identity()) == {"From", "Contact", "P-Asserted-Identity"}
    assert invite.body == "v=0\n"
    with pytest.raises(SipParseError):
        parse_request("SIP/2.0 200 OK\r\n\r\n")


# -- phone to phone, no Asterisk -------------------------------------------------------------


def _direct_caller(volunteer: VolunteerPhone) -> CallerPhone:
    """A caller that dials the volunteer phone itself instead of Asterisk."""
    return CallerPhone("direct", asterisk=volunteer.sip_address)


def _offline_volunteer(**kwargs: Any) -> VolunteerPhone:
    return VolunteerPhone("vol", "unused", registrar="127.0.0.1:9", register=False, **kwargs)


async def test_phones_start_fast_and_talk_both_ways_directly():
    started = time.monotonic()
    async with _offline_volunteer() as volunteer, _direct_caller(volunteer) as caller:
        assert time.monotonic() - started < 3.0  # both processes up (~0.2 s here)
        await caller.dial()
        incoming = await volunteer.wait_incoming()
        assert SECRET_CALLER_NUMBER in incoming.remote_uri  # no Asterisk to hide it here
        await volunteer.answer()
        await volunteer.wait_answered()
        await caller.wait_answered()
        assert (await volunteer.wait_hearing(CALLER_TONE_HZ)).rms > 3000
        assert (await caller.wait_hearing(VOLUNTEER_TONE_HZ)).rms > 3000
        heard = await caller.hangup_and_measure()
        assert heard.has_tone(VOLUNTEER_TONE_HZ) or heard.duration_s < 0.1
        ended = await volunteer.wait_ended()
        assert ended.code == 200 and ended.connected_s > 0


@pytest.mark.parametrize("code", [486, 603])
async def test_reject_mode_refuses_with_the_code(code: int):
    async with _offline_volunteer(mode=Reject(code)) as volunteer, _direct_caller(volunteer) as c:
        await c.dial()
        with pytest.raises(CallFailed) as failed:
            await c.wait_answered()
        assert failed.value.ended.code == code
        assert (await volunteer.wait_ended()).connected_s == 0


async def test_auto_answer_waits_its_delay_and_a_silent_phone_is_silent():
    async with (
        _offline_volunteer(mode=AutoAnswer(0.5), tone_hz=None) as volunteer,
        _direct_caller(volunteer) as caller,
    ):
        await caller.dial()
        await volunteer.wait_incoming()
        offered = time.monotonic()
        await caller.wait_answered()
        assert time.monotonic() - offered >= 0.45
        with pytest.raises(PhoneTimeout):
            await caller.wait_hearing(VOLUNTEER_TONE_HZ, timeout_s=1.0)
        assert (await caller.measure()).silent


async def test_never_answer_rings_until_the_caller_gives_up():
    async with (
        _offline_volunteer(mode=NeverAnswer()) as volunteer,
        _direct_caller(volunteer) as caller,
    ):
        await caller.dial()
        await volunteer.wait_incoming()
        await caller.wait_state("EARLY")  # 180 Ringing arrived
        with pytest.raises(PhoneTimeout):
            await caller.wait_answered(timeout_s=1.0)
        ended = await caller.hangup()  # CANCEL
        assert ended.code == 487 and ended.connected_s == 0
        assert (await volunteer.wait_ended()).code == 487


async def test_a_phone_in_a_call_refuses_a_second_one_as_busy():
    async with (
        _offline_volunteer(mode=AutoAnswer()) as volunteer,
        _direct_caller(volunteer) as first,
        _direct_caller(volunteer) as second,
    ):
        await first.dial()
        await first.wait_answered()
        await second.dial()
        with pytest.raises(CallFailed) as failed:
            await second.wait_answered()
        assert failed.value.ended.code == 486
        await volunteer.wait_hearing(CALLER_TONE_HZ)  # the first call goes on


async def test_a_dead_agent_fails_waits_at_once_and_close_is_clean():
    phone = _offline_volunteer()
    async with phone:
        assert phone._proc is not None
        phone._proc.kill()  # as if pjsua2 had crashed
        started = time.monotonic()
        with pytest.raises(PhoneCrashed):
            await phone.wait_incoming(timeout_s=5.0)
        assert time.monotonic() - started < 2.0
    assert phone._proc is None  # closed: nothing left running


# -- the partner phone, no Asterisk ----------------------------------------------------------


def _caller_of(partner: PartnerPhone, number: str = "08002000") -> CallerPhone:
    """A UA on the carrier address that sends its INVITE straight to the partner phone."""
    return CallerPhone(number, asterisk=partner.sip_address)


async def test_partner_answers_on_the_carrier_address_next_to_a_caller():
    async with PartnerPhone() as partner, _caller_of(partner) as caller:
        # Both on the carrier's address: the partner on the SIP port, the caller on a random one.
        assert partner.sip_address == f"{CARRIER_IP}:{PARTNER_SIP_PORT}"
        assert caller.sip_address.startswith(f"{CARRIER_IP}:")
        assert partner.uri("08002000") == f"sip:08002000@{CARRIER_IP}:{PARTNER_SIP_PORT}"
        await caller.dial()
        incoming = await partner.wait_incoming()
        invite = incoming.request
        assert (invite.method, invite.user) == ("INVITE", "08002000")
        assert invite.uri_user("From") == SECRET_CALLER_NUMBER  # no Asterisk to hide it here
        assert invite.uri_user("To") == "08002000"
        assert invite.uri_user("Contact") == SECRET_CALLER_NUMBER
        assert "From" in invite.identity() and "m=audio" in invite.body
        assert partner.invites == [incoming]
        await partner.answer()
        await partner.wait_answered()
        await caller.wait_answered()
        assert (await partner.wait_hearing(CALLER_TONE_HZ)).level(CALLER_TONE_HZ) > 3000
        heard = await caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
        assert heard.has_tone(PARTNER_TONE_HZ)
        await partner.hangup()  # the partner hangs up first: a BYE from 127.0.0.2:5060
        assert (await caller.wait_ended()).connected_s > 0


@pytest.mark.parametrize("code", [486, 603])
async def test_a_busy_or_declining_partner_gives_the_caller_its_code(code: int):
    async with PartnerPhone(mode=Reject(code)) as partner, _caller_of(partner) as caller:
        await caller.dial()
        with pytest.raises(CallFailed) as failed:
            await caller.wait_answered()
        assert failed.value.ended.code == code
        assert (await partner.wait_ended()).connected_s == 0
        assert [call.request.user for call in partner.invites] == ["08002000"]


async def test_partner_answers_after_its_delay_and_refuses_a_second_call_as_busy():
    async with (
        PartnerPhone(mode=AutoAnswer(0.5)) as partner,
        _caller_of(partner) as first,
        _caller_of(partner, "08000113") as second,
    ):
        await first.dial()
        await partner.wait_incoming()
        offered = time.monotonic()
        await first.wait_answered()
        assert time.monotonic() - offered >= 0.45
        await second.dial()
        with pytest.raises(CallFailed) as failed:
            await second.wait_answered()
        assert failed.value.ended.code == 486
        # Both INVITEs are on record, the refused one too.
        assert [call.request.user for call in partner.invites] == ["08002000", "08000113"]
        await partner.wait_hearing(CALLER_TONE_HZ)  # the first call goes on


async def test_a_partner_that_never_answers_rings_until_cancelled():
    async with PartnerPhone(mode=NeverAnswer()) as partner, _caller_of(partner) as caller:
        await caller.dial()
        await partner.wait_incoming()
        await caller.wait_state("EARLY")
        ended = await caller.hangup()
        assert ended.code == 487 and (await partner.wait_ended()).code == 487
        await partner.set_mode(Manual())  # modes change between calls, as for volunteers


async def test_a_second_partner_on_the_same_port_fails_to_start():
    async with PartnerPhone() as partner:
        with pytest.raises(PhoneError, match="failed to start"):
            async with PartnerPhone(label="partner-2"):
                pass
        assert partner.sip_address  # the first one is unharmed


# -- through the real Asterisk ---------------------------------------------------------------


@dataclass
class TinyApp:
    """An ARI client plus the queue of our app's events (just enough to bridge two legs)."""

    ari: AriClient
    events: asyncio.Queue[AriEvent]

    async def next(
        self, kind: type, match: Callable[[Any], bool] = lambda e: True, timeout: float = 10.0
    ) -> Any:
        """The next event of type ``kind`` matching ``match`` (others are dropped)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if isinstance(event, kind) and match(event):
                    return event


@contextlib.asynccontextmanager
async def tiny_app(asterisk: Any) -> AsyncIterator[TinyApp]:
    access = asterisk.ari
    events: asyncio.Queue[AriEvent] = asyncio.Queue()
    args = (access.base_url, access.user, access.password, asterisk.app)
    async with (
        AriClient(*args) as ari,
        aiohttp.ClientSession() as session,
        AriEventSocket(session, *args) as sock,
    ):

        async def pump() -> None:
            async for event in sock.events():
                events.put_nowait(event)

        task = asyncio.create_task(pump())
        try:
            yield TinyApp(ari=ari, events=events)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _endpoint_state(ari: AriClient, resource: str, want: str, timeout: float = 5.0) -> None:
    """Poll ARI until the PJSIP endpoint's state is ``want`` (Asterisk updates it async)."""
    async with asyncio.timeout(timeout):
        while (await ari.endpoints.get("PJSIP", resource)).state != want:
            await asyncio.sleep(0.05)


@pytest.mark.integration
async def test_volunteer_registers_and_unregisters(asterisk):
    async with tiny_app(asterisk) as app, VolunteerPhone.of(asterisk, "test-udp-2") as phone:
        state = await phone.registered()
        assert state.code == 200 and state.active
        await _endpoint_state(app.ari, "test-udp-2", "online")
        await phone.unregister()  # waits for Asterisk's 200 to the Expires: 0 REGISTER
        assert phone.reg is not None and phone.reg.code == 200 and not phone.reg.active
        assert await phone.register() == state  # and back


@pytest.mark.integration
async def test_wrong_password_is_refused(asterisk):
    async with VolunteerPhone("test-udp-2", "wrong", registrar=asterisk.sip_address) as phone:
        with pytest.raises(PhoneError, match="refused"):
            await phone.registered()
        assert phone.reg is not None and phone.reg.code in (401, 403)


@pytest.mark.integration
@pytest.mark.timeout(60)
async def test_carrier_call_bridged_to_a_volunteer_has_audio_both_ways(asterisk):
    bridge_id = f"harness-{uuid.uuid4().hex[:12]}"
    async with (
        tiny_app(asterisk) as app,
        VolunteerPhone.of(asterisk, "test-udp-1") as volunteer,
        CallerPhone("116111", asterisk=asterisk.sip_address) as caller,
    ):
        await volunteer.registered()
        await caller.dial()
        start = await app.next(StasisStart)
        assert stasis_args.decode(list(start.args)) == stasis_args.InboundCall("116111")
        inbound = start.channel.id
        await app.ari.channels.answer(inbound)
        await caller.wait_answered()

        leg = await app.ari.channels.originate(
            "PJSIP/test-udp-1",
            app_args=stasis_args.encode(stasis_args.VolunteerLeg("harness")),
            originator=inbound,
        )
        incoming = await volunteer.wait_incoming()
        for secret in (SECRET_CALLER_NUMBER, SECRET_CALLER_NAME):
            assert secret not in incoming.invite  # the dialplan stripped the caller's identity
        await volunteer.answer()
        await volunteer.wait_answered()
        await app.next(StasisStart, lambda e: e.channel.id == leg.id)
        try:
            await app.ari.bridges.create_with_id(bridge_id, "mixing")
            await app.ari.bridges.add_channel(bridge_id, [inbound, leg.id])

            heard_by_volunteer = await volunteer.wait_hearing(CALLER_TONE_HZ)
            heard_by_caller = await caller.wait_hearing(VOLUNTEER_TONE_HZ)
            assert heard_by_volunteer.rms > 1000, heard_by_volunteer
            assert heard_by_caller.rms > 1000, heard_by_caller

            await caller.hangup()  # the child hangs up; the app then ends the volunteer leg
            await app.next(StasisEnd, lambda e: e.channel.id == inbound)
            await app.ari.channels.hangup(leg.id)
            ended = await volunteer.wait_ended()
            assert ended.connected_s > 0
            assert ended.recording is not None
        finally:
            with contextlib.suppress(AriError):
                await app.ari.bridges.delete(bridge_id)


@pytest.mark.integration
@pytest.mark.parametrize(("code", "cause"), [(486, 17), (603, 21)])
async def test_rejecting_phone_gives_asterisk_the_cause(asterisk, code: int, cause: int):
    async with (
        tiny_app(asterisk) as app,
        VolunteerPhone.of(asterisk, "test-udp-2", mode=Reject(code)) as volunteer,
    ):
        await volunteer.registered()
        leg = await app.ari.channels.originate("PJSIP/test-udp-2", app_args=["reject-test"])
        await volunteer.wait_incoming()
        destroyed = await app.next(ChannelDestroyed, lambda e: e.channel.id == leg.id)
        assert destroyed.cause == cause
        assert (await volunteer.wait_ended()).code == code


@pytest.mark.integration
async def test_never_answering_phone_rings_until_asterisk_gives_up(asterisk):
    async with (
        tiny_app(asterisk) as app,
        VolunteerPhone.of(asterisk, "test-udp-2", mode=NeverAnswer()) as volunteer,
    ):
        await volunteer.registered()
        leg = await app.ari.channels.originate(
            "PJSIP/test-udp-2", app_args=["never-test"], timeout_s=2
        )
        await volunteer.wait_incoming()
        destroyed = await app.next(ChannelDestroyed, lambda e: e.channel.id == leg.id)
        assert destroyed.cause in (19, 16)  # no answer (Asterisk's originate timeout)
        ended = await volunteer.wait_ended()
        assert ended.code == 487 and ended.connected_s == 0  # CANCELled, never connected


PARTNER_NUMBER = "08002000"
HELPLINE_CALLER_ID = '"Kindertelefoon" <08000432>'


def _partner_dial_string(partner: PartnerPhone) -> str:
    """The carrier endpoint with an explicit URI: Asterisk sends the INVITE to the partner."""
    return f"PJSIP/carrier/{partner.uri(PARTNER_NUMBER)}"


@pytest.mark.integration
@pytest.mark.timeout(90)  # the first Asterisk test of a session also waits for its start
async def test_asterisk_dials_a_partner_out_through_the_carrier_into_a_three_way_call(asterisk):
    bridge_id = f"harness-{uuid.uuid4().hex[:12]}"
    async with (
        tiny_app(asterisk) as app,
        VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer()) as volunteer,
        PartnerPhone(mode=AutoAnswer(0.2)) as partner,
        CallerPhone("116111", asterisk=asterisk.sip_address) as caller,
    ):
        await volunteer.registered()
        await caller.dial()
        inbound = (await app.next(StasisStart)).channel.id
        await app.ari.channels.answer(inbound)
        await caller.wait_answered()
        volunteer_leg = await app.ari.channels.originate(
            "PJSIP/test-udp-1",
            app_args=stasis_args.encode(stasis_args.VolunteerLeg("harness")),
            originator=inbound,
        )
        await app.next(StasisStart, lambda e: e.channel.id == volunteer_leg.id)
        partner_leg = await app.ari.channels.originate(
            _partner_dial_string(partner),
            app_args=["partner-test"],
            caller_id=HELPLINE_CALLER_ID,
        )
        incoming = await partner.wait_incoming()
        invite = incoming.request
        assert invite.user == PARTNER_NUMBER
        assert invite.uri_user("From") == "08000432", invite.identity()  # ARI's callerId
        for header in ("P-Asserted-Identity", "Remote-Party-ID"):  # if sent, ours too
            assert invite.header(header) is None or invite.uri_user(header) == "08000432"
        for secret in (SECRET_CALLER_NUMBER, SECRET_CALLER_NAME):
            assert secret not in incoming.invite
        await app.next(StasisStart, lambda e: e.channel.id == partner_leg.id)
        try:
            await app.ari.bridges.create_with_id(bridge_id, "mixing")
            await app.ari.bridges.add_channel(
                bridge_id, [inbound, volunteer_leg.id, partner_leg.id]
            )
            # Everyone hears the two others at once, and not itself.
            phones: list[tuple[Any, int]] = [
                (caller, CALLER_TONE_HZ),
                (volunteer, VOLUNTEER_TONE_HZ),
                (partner, PARTNER_TONE_HZ),
            ]
            for phone, own in phones:
                others = [tone for _, tone in phones if tone != own]
                await phone.wait_hearing_tones(*others, absent=(own,))

            await app.ari.channels.hangup(volunteer_leg.id)  # the volunteer leaves
            await volunteer.wait_ended()
            await caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
            await partner.wait_hearing_tones(CALLER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))

            await partner.hangup()  # its BYE comes from the carrier address
            await app.next(StasisEnd, lambda e: e.channel.id == partner_leg.id)
            await caller.hangup()
        finally:
            with contextlib.suppress(AriError):
                await app.ari.bridges.delete(bridge_id)


@pytest.mark.integration
@pytest.mark.parametrize(("code", "cause"), [(486, 17), (603, 21)])
async def test_a_refusing_partner_gives_asterisk_the_cause(asterisk, code: int, cause: int):
    async with tiny_app(asterisk) as app, PartnerPhone(mode=Reject(code)) as partner:
        leg = await app.ari.channels.originate(_partner_dial_string(partner), app_args=["refuse"])
        assert (await partner.wait_incoming()).request.user == PARTNER_NUMBER
        destroyed = await app.next(ChannelDestroyed, lambda e: e.channel.id == leg.id)
        assert destroyed.cause == cause
        assert (await partner.wait_ended()).code == code
