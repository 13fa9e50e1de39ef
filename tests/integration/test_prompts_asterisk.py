"""Generated prompts in the real Asterisk: installed, played over ARI, heard by a caller.

Also the test phones' DTMF: a key pressed on the caller phone reaches ARI as
``ChannelDtmfReceived``, the event the IVR's menu is driven by.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from ari_app.ari_events import ChannelDtmfReceived, PlaybackFinished, StasisEnd, StasisStart
from ari_app.errors import AriError
from ivr.media import media_uri
from runtime.prompts import check_prompts, generate_prompts
from tests.integration.phones import CallerPhone
from tests.integration.test_phones_harness import TinyApp, tiny_app

PROMPTS = ("goodbye", "menu_nl_1", "menu_en_2")
LANGUAGES = ("nl", "en")


async def _answered_call(app: TinyApp, caller: CallerPhone) -> str:
    await caller.dial()
    start = await app.next(StasisStart)
    await app.ari.channels.answer(start.channel.id)
    await caller.wait_answered()
    return str(start.channel.id)


async def _play(app: TinyApp, channel_id: str, prompts: tuple[str, ...], lang: str) -> str:
    """Play and wait for the end; return the playback's final state."""
    playback_id = f"prompt-test-{uuid.uuid4().hex[:12]}"
    media = [media_uri(p) for p in prompts]
    await app.ari.channels.play(channel_id, media, playback_id, lang=lang)
    finished = await app.next(PlaybackFinished, lambda e: e.playback.id == playback_id, 20.0)
    return str(finished.playback.state)


@pytest.mark.integration
@pytest.mark.timeout(90)
async def test_generated_prompts_play_to_the_caller(asterisk):
    root = asterisk.runtime.root
    await asyncio.to_thread(generate_prompts, root, LANGUAGES, PROMPTS)
    await asyncio.to_thread(check_prompts, root, LANGUAGES, PROMPTS)
    async with (
        tiny_app(asterisk) as app,
        CallerPhone("116111", asterisk=asterisk.sip_address, tone_hz=None) as caller,
    ):
        inbound = await _answered_call(app, caller)
        try:
            await caller.measure()  # start a fresh recording: only the prompts count
            # The menu: two prompts, two voices, one playback (as the flow's Play asks).
            assert await _play(app, inbound, ("menu_nl_1", "menu_en_2"), "nl") == "done"
            heard = await caller.measure()
            assert heard.rms > 100 and heard.active_s > 1.5, heard

            # English: sounds/en is a link inside the root; the prompt must still be found.
            assert await _play(app, inbound, ("goodbye",), "en") == "done"
            heard = await caller.measure()
            assert heard.rms > 100 and heard.active_s > 0.5, heard

            # A prompt that does not exist ends as "failed" at once: the adapter must pass
            # that on as PromptFinished too, or the flow would wait for ever.
            assert await _play(app, inbound, ("no_such_prompt",), "nl") == "failed"
        finally:
            with contextlib.suppress(AriError):
                await app.ari.channels.hangup(inbound)
        await caller.wait_ended()


@pytest.mark.integration
@pytest.mark.timeout(60)
async def test_a_key_pressed_on_the_caller_phone_reaches_ari(asterisk):
    async with (
        tiny_app(asterisk) as app,
        CallerPhone("116111", asterisk=asterisk.sip_address) as caller,
    ):
        await asyncio.to_thread(generate_prompts, asterisk.runtime.root, ["nl"], ["menu_en_2"])
        inbound = await _answered_call(app, caller)
        # A key pressed in the first milliseconds of a call can be lost while Asterisk still
        # learns the caller's RTP source (strictrtp); a child presses after hearing the menu.
        assert await _play(app, inbound, ("menu_en_2",), "nl") == "done"
        await caller.send_dtmf("2")
        pressed = await app.next(ChannelDtmfReceived, lambda e: e.channel.id == inbound)
        assert pressed.digit == "2"
        await caller.send_dtmf("#")
        # Under load the end of a key's RFC 4733 events can be reported twice: skip repeats.
        pressed = await app.next(
            ChannelDtmfReceived, lambda e: e.channel.id == inbound and e.digit != "2"
        )
        assert pressed.digit == "#"
        await caller.hangup()
        await app.next(StasisEnd, lambda e: e.channel.id == inbound)
