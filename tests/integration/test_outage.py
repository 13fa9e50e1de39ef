"""Asterisk without our app, and Asterisk away for a minute: a child is never simply refused.

- With no Stasis app connected, a carrier call to a helpline number is answered (200 OK, not
  Asterisk's bare 603) and Asterisk itself plays the ``unavailable`` prompt in the line's
  language, then hangs up. An observer ARI application (``subscribeAll``, another name, so
  ``Stasis()`` still fails) watches the dialplan run.
- Asterisk is stopped for 60 s with the app running and started again: the app is connected
  within 2 s of ARI answering, and a call placed 3 s after that reaches the volunteer. (With
  the old backoff, grown to 30 s by then, the app came back up to 30 s late.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import wave
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ari_app.client import AriClient, basic_auth_header
from ari_app.errors import AriError
from ivr.prompt_texts import UNAVAILABLE
from runtime.prompts import sounds_dir
from tests.integration.app_harness import running_app
from tests.integration.audio import VOLUNTEER_TONE_HZ, analyse
from tests.integration.phones import (
    AutoAnswer,
    CallerPhone,
    PhoneCommandFailed,
    PhoneTimeout,
    VolunteerPhone,
)
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER, start_carrier_call

pytestmark = pytest.mark.integration

OBSERVER = "outage-observer"
OUTAGE_S = 60.0
CALL_AFTER_S = 3.0


def _prompt_seconds(asterisk: Any, language: str) -> float:
    path = sounds_dir(asterisk.runtime.root, language) / f"{UNAVAILABLE}.wav"
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


class Observer:
    """ARI events of every channel, seen by an application that is not ours."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def _channel_ids(self, exten: str) -> set[str]:
        """Channels that dialled ``exten`` from the carrier."""
        return {
            e["channel"]["id"]
            for e in self.events
            if "channel" in e
            and e["channel"]["dialplan"]["context"] == "carrier"
            and e["channel"]["dialplan"]["exten"] == exten
        }

    def dialplan(self, exten: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(application, its data, the channel) for each dialplan step of calls to ``exten``."""
        ids = self._channel_ids(exten)
        return [
            (e["dialplan_app"], e["dialplan_app_data"], e["channel"])
            for e in self.events
            if e.get("type") == "ChannelDialplan" and e["channel"]["id"] in ids
        ]

    def destroyed(self, exten: str) -> list[dict[str, Any]]:
        ids = self._channel_ids(exten)
        return [
            e
            for e in self.events
            if e.get("type") == "ChannelDestroyed" and e["channel"]["id"] in ids
        ]


@contextlib.asynccontextmanager
async def observing(asterisk: Any) -> AsyncIterator[Observer]:
    ari = asterisk.ari
    url = ari.base_url.replace("http://", "ws://").rstrip("/") + "/events"
    observer = Observer()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
            url,
            params={"app": OBSERVER, "subscribeAll": "true"},
            headers={"Authorization": basic_auth_header(ari.user, ari.password)},
        ) as ws:

            async def read() -> None:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        observer.events.append(json.loads(msg.data))

            reader = asyncio.create_task(read())
            try:
                yield observer
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)


async def _eventually(check: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


async def _apps_connected(asterisk: Any) -> list[str]:
    """Names of the ARI applications Asterisk has now ([] while ARI does not answer)."""
    ari = asterisk.ari
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(
                ari.base_url.rstrip("/") + "/applications",
                headers={"Authorization": basic_auth_header(ari.user, ari.password)},
                timeout=aiohttp.ClientTimeout(total=1.0),
            ) as resp:
                return [app["name"] for app in await resp.json()] if resp.status == 200 else []
    except (aiohttp.ClientError, TimeoutError, OSError):
        return []


async def _clear_leftovers(asterisk: Any) -> None:
    """Destroy every bridge and hang up every channel an earlier test left in Asterisk."""
    ari = asterisk.ari
    async with AriClient(ari.base_url, ari.user, ari.password, asterisk.app) as client:
        for bridge in await client.bridges.list():
            with contextlib.suppress(AriError):
                await client.bridges.delete(bridge.id)
        for channel in await client.channels.list():
            with contextlib.suppress(AriError):
                await client.channels.hangup(channel.id)


async def _registered_again(asterisk: Any, phone: VolunteerPhone, timeout_s: float = 10.0) -> None:
    """Wait until Asterisk has the phone's contact again, asking the phone to register if needed.

    The phone may already be re-registering by itself (then a REGISTER command is refused as
    busy), so what counts is Asterisk's view, not the command.
    """
    async with asyncio.timeout(timeout_s):
        while True:
            contacts = await asyncio.to_thread(asterisk.runtime.cli, "pjsip show contacts")
            if f"{phone.label}/sip:" in contacts:
                return
            with contextlib.suppress(PhoneCommandFailed, PhoneTimeout):
                await phone.register(timeout_s=2.0)
            await asyncio.sleep(0.1)


def _unavailable_steps(steps: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, str]]:
    after_stasis = [(app, data) for app, data, _ in steps]
    return after_stasis[[app for app, _ in after_stasis].index("Stasis") :]


@pytest.mark.timeout(120)
async def test_without_our_app_the_caller_is_answered_and_hears_unavailable(asterisk):
    # Nobody serves the line. After an earlier test the application may still be listed,
    # inactive (it keeps its endpoint subscription, as after a crash of our process while
    # Asterisk runs on); Stasis() fails the same way for an inactive app as for an unknown one.
    await _clear_leftovers(asterisk)
    async with observing(asterisk) as observer:
        # sipp checks the SIP side exactly: 200 OK (a 603 fails the scenario), then our BYE.
        call = await start_carrier_call("116111", timeout_s=30)
        code, out = await call.wait(timeout_s=40)
        assert code == 0, out
        await _eventually(lambda: observer.destroyed("116111"))
    steps = observer.dialplan("116111")
    assert _unavailable_steps(steps) == [
        ("Stasis", f"{asterisk.app},inbound,116111"),
        ("GotoIf", "1?helpline-unavailable,s,1"),
        ("Answer", ""),
        ("Wait", "0.5"),
        ("Playback", f"helpline/{UNAVAILABLE}"),
        ("Wait", "0.5"),
        ("Hangup", ""),
    ]
    playing = next(channel for app, _, channel in steps if app == "Playback")
    assert playing["language"] == "nl"  # the line's language: the Dutch message
    # The caller's identity stays wiped on this path too.
    assert playing["caller"]["number"] == "" and playing["caller"]["name"] == ""
    assert SECRET_CALLER_NUMBER not in json.dumps(observer.events)
    assert SECRET_CALLER_NAME not in json.dumps(observer.events)
    destroyed = observer.destroyed("116111")[0]
    assert destroyed["cause"] == 16  # normal clearing, not "call rejected"


@pytest.mark.timeout(120)
async def test_the_english_line_speaks_the_english_message_to_the_end(asterisk):
    spoken_s = _prompt_seconds(asterisk, "en")
    assert spoken_s > 4.0  # a real sentence, not an empty file
    async with observing(asterisk) as observer:
        async with CallerPhone("116112", tone_hz=None) as caller:  # the English test line
            await caller.dial()
            await caller.wait_answered()
            ended = await caller.wait_ended(timeout_s=30)  # Asterisk hangs up, not us
            assert ended.recording is not None
            heard = await asyncio.to_thread(analyse, ended.recording)
        await _eventually(lambda: observer.destroyed("116112"))
    assert ended.connected_s >= spoken_s
    assert heard.active_s >= 0.7 * spoken_s, heard  # speech for most of the message
    playing = next(c for app, _, c in observer.dialplan("116112") if app == "Playback")
    assert playing["language"] == "en"


@pytest.mark.timeout(240)
async def test_asterisk_down_a_minute_then_the_call_3s_later_is_served(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")
            assert asterisk.app in await _apps_connected(asterisk)

            await asyncio.to_thread(asterisk.runtime.stop)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(asterisk.runtime.start, 60.0)  # returns when ARI answers
            back = time.monotonic()

            async with asyncio.timeout(2.0):  # the app is back within 2 s of Asterisk
                while asterisk.app not in await _apps_connected(asterisk):
                    await asyncio.sleep(0.05)
            reconnect_s = time.monotonic() - back
            print(f"outage_reconnect_s={reconnect_s:.2f}")

            # Registrations lived in the old Asterisk's memory: the phone registers again.
            await _registered_again(asterisk, phone)
            await asyncio.sleep(max(0.0, back + CALL_AFTER_S - time.monotonic()))
            async with CallerPhone("116111") as caller:
                await caller.dial()
                try:
                    await caller.wait_answered(timeout_s=10)
                    await phone.wait_incoming(timeout_s=10)
                    await caller.wait_hearing(VOLUNTEER_TONE_HZ, timeout_s=15)
                except Exception:
                    channels = asterisk.runtime.cli("core show channels verbose")
                    apps = asterisk.runtime.cli("ari show apps")
                    print(f"volunteer {run.state('test-udp-1')}; Asterisk's channels:\n{channels}")
                    print(f"apps:\n{apps}")
                    raise
                await caller.hangup()
            await run.records_written(1)
