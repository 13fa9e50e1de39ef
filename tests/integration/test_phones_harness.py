"""The test phones themselves: registration, answer modes and two-way audio.

The peer-to-peer tests need no Asterisk (the caller dials the volunteer phone directly); the
``integration`` ones go through the real Asterisk, with a tiny ARI app in this file that
answers the carrier call and bridges it with a call it originates to the volunteer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
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
    VOLUNTEER_TONE_HZ,
    AudioError,
    analyse,
    tone_samples,
    write_wav,
)
from tests.integration.phones import (
    AutoAnswer,
    CallerPhone,
    CallFailed,
    NeverAnswer,
    PhoneCrashed,
    PhoneError,
    PhoneTimeout,
    Reject,
    VolunteerPhone,
)
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER

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
