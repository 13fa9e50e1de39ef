"""What the caller hears, through the real Asterisk: welcome, menu, closed, closures.

The clock is driven through configuration (a schedule that is open or closed now, a closure
set through the admin API), never by patching time in the app. Assertions use what Asterisk
reports (playback events) and what the caller's phone hears.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import acd
from config.settings import HelplineConfig
from ivr.hours_config import ScheduleConfig
from ivr.ivr_config import IvrSection
from tests.integration.app_harness import running_app
from tests.integration.audio import VOLUNTEER_TONE_HZ
from tests.integration.phones import AutoAnswer, CallerPhone, CallFailed, VolunteerPhone
from web.app import create_admin_app, start_site
from web.auth import MemorySessionStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ADMIN = "ivr-test-admin-token-0123456789"


def _with(cfg: HelplineConfig, **changes: object) -> HelplineConfig:
    return cfg.model_copy(update=changes)


async def _ended_by_us(caller: CallerPhone, timeout_s: float = 60.0) -> float:
    """Wait for the call to end from our side; returns how long it was connected."""
    try:
        await caller.wait_answered()
    except CallFailed:
        pass
    ended = await caller.wait_ended(timeout_s=timeout_s)
    return ended.connected_s


async def test_in_hours_the_caller_hears_the_welcome_then_reaches_a_volunteer(asterisk, tmp_path):
    cfg = _with(asterisk.cfg, ivr=IvrSection(welcome=True))
    async with running_app(asterisk, tmp_path, cfg=cfg) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await caller.wait_answered()
                await phone.assert_no_incoming(within_s=1.0)  # the welcome plays first
                await phone.wait_incoming(timeout_s=20)
                await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                await caller.hangup()
        assert list(run.app.played)[0] == "sound:helpline/welcome"


async def test_out_of_hours_the_caller_hears_when_we_open_and_is_hung_up(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")  # someone is free, yet the line is closed
            async with CallerPhone("116114") as caller:  # the test line on schedule "never"
                await caller.dial()
                connected_s = await _ended_by_us(caller)
            assert connected_s > 5.0  # the whole message played before we hung up
            await phone.assert_no_incoming(within_s=0.5)
        assert list(run.app.played)[:1] == ["sound:helpline/closed"]
        assert list(run.app.acd.contacts()) == []  # never queued


async def test_a_day_marked_closed_closes_the_line(asterisk, tmp_path):
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date().isoformat()
    closed_today = ScheduleConfig(daily=["00:00-24:00"], holidays="", holiday_hours={today: []})
    schedules = {**asterisk.cfg.schedules, "default": closed_today}
    async with running_app(asterisk, tmp_path, cfg=_with(asterisk.cfg, schedules=schedules)) as run:
        async with CallerPhone("116111") as caller:
            await caller.dial()
            assert await _ended_by_us(caller) > 5.0
        assert list(run.app.played)[:1] == ["sound:helpline/closed"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN}"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as response:
        return json.loads(response.read())


async def test_closure_through_the_api_applies_to_the_next_call_and_waiting_callers_are_served(
    asterisk, tmp_path
):
    port = _free_port()
    http = asterisk.cfg.http.model_copy(update={"admin_port": port, "admin_token": ADMIN})
    cfg = _with(asterisk.cfg, http=http)
    async with running_app(asterisk, tmp_path, cfg=cfg) as run:
        from storage.db import make_engine
        from storage.volunteers import VolunteerDirectory

        engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
        web = create_admin_app(
            cfg,
            VolunteerDirectory.from_config(engine, cfg),
            run.gateway,
            MemorySessionStore(),
            run.hours,
        )
        runner = await start_site(web, cfg.http.admin_host, cfg.http.admin_port)
        try:
            async with VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as phone:
                await phone.registered()
                await run.gateway.login(
                    "test-udp-1", "utrecht", frozenset({"phone"}), frozenset({"nl"})
                )  # logged in but not ready: the first caller waits
                async with CallerPhone("116111") as waiting:
                    await waiting.dial()
                    await waiting.wait_answered()
                    await run.wait_for(lambda: run.app.acd.waiting_count() == 1)

                    now = datetime.now(UTC)
                    reply = await asyncio.to_thread(
                        _post,
                        f"http://127.0.0.1:{port}/api/v1/admin/hours/exceptions",
                        {
                            "kind": "closed",
                            "starts_at": "now",
                            "ends_at": (now + timedelta(hours=1)).isoformat(),
                            "reason": "staff shortage",
                        },
                    )
                    assert reply["exception"]["kind"] == "closed"

                    async with CallerPhone("116111") as late:
                        await late.dial()
                        assert await _ended_by_us(late) > 5.0  # closed message, then hung up
                    assert run.app.acd.waiting_count() == 1  # the late caller was not queued

                    # Closing time does not drop those already waiting: they are answered.
                    await run.gateway.submit(acd.AgentReady("test-udp-1"))
                    await waiting.wait_hearing(VOLUNTEER_TONE_HZ, timeout_s=15)
                    await waiting.hangup()
        finally:
            await runner.cleanup()
            engine.dispose()


async def test_the_menu_sets_the_language_and_an_english_speaker_takes_the_call(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        async with (
            VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as dutch,
            VolunteerPhone.of(asterisk, "test-udp-2", mode=AutoAnswer(0.1)) as bilingual,
        ):
            await dutch.registered()
            await bilingual.registered()
            # The Dutch-only volunteer has been free longest, so without the menu they would
            # get the call.
            await run.gateway.login(
                "test-udp-1", "utrecht", frozenset({"phone"}), frozenset({"nl"})
            )
            await run.gateway.submit(acd.AgentReady("test-udp-1"))
            await run.gateway.login(
                "test-udp-2", "utrecht", frozenset({"phone"}), frozenset({"nl", "en"})
            )
            await run.gateway.submit(acd.AgentReady("test-udp-2"))
            async with CallerPhone("116113") as caller:  # the line with a language menu
                await caller.dial()
                await caller.wait_answered()
                await asyncio.sleep(1.0)  # the menu is playing: press while it speaks
                await caller.send_dtmf("2")
                await bilingual.wait_incoming(timeout_s=15)
                await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                await dutch.assert_no_incoming(within_s=0.2)
                await caller.hangup()
        assert any(uri.startswith("sound:helpline/menu_") for uri in run.app.played)
