"""The hooks the call tests build on: an ``async def`` test (as the asyncio pjsua2 phones of
``tests.integration.phones`` need) drives the same Chromium with ``async_playwright``, signs in,
and reads the page's status and audio counters (``window.helplineSoftphone``)."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import DESKTOP, RunningHelpline, launch_options, sign_in_async

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(90)]


async def test_an_async_test_drives_the_browser_and_reads_its_counters(helpline: RunningHelpline):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        try:
            context = await browser.new_context(
                base_url=helpline.base_url, viewport=DESKTOP, permissions=["microphone"]
            )
            page = await context.new_page()
            await page.goto("/")
            await sign_in_async(page, "anna")
            await expect(page.locator(".conn .pill").first).to_contain_text("verbonden")
            status = await page.evaluate("window.helplineSoftphone.status()")
            assert status["signedIn"] is True and status["live"] == "connected"
            assert status["call"] == "none"
            # No call yet: nothing received (the call test asserts inboundPackets grows).
            stats = await page.evaluate("window.helplineSoftphone.audioStats()")
            assert stats == {"inboundPackets": 0, "inboundBytes": 0, "outboundPackets": 0}
        finally:
            await browser.close()
