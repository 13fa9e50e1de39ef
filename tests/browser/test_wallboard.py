"""The supervisors' wallboard in a real browser, moved by a real call.

A supervisor signs in at ``/wallboard``; a volunteer with a pjsua2 UDP phone that answers by
itself after a few seconds of ringing signs in through the API and makes ready; a pjsua2
caller dials 116111 from the carrier's side. The page (fed by the live bus, nothing polled)
shows the call waiting and ringing, then in contact, then answered today; it is axe-clean in
both modes and operable from the keyboard. Screenshots: ``wallboard-compact.png`` and
``wallboard-large.png`` in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    SUPERVISOR,
    UDP_PHONE,
    RunningHelpline,
    sign_in_async,
)
from tests.browser.pages import axe_clean, chromium, desktop_page, login_ready, shot_async
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(180)]

RING_S = 4.0
"""How long the volunteer's phone rings before it answers: long enough to see it ringing."""
TV = {"width": 1920, "height": 1080}


def cell(page: Page, row: str, kind: str = "phone"):
    return page.locator(f'.wb-table tr[data-row="{row}"] td[data-kind="{kind}"]')


def state_count(page: Page, state: str):
    return page.locator(f'.wb-states li[data-state="{state}"] .wb-num')


async def test_the_wallboard_follows_a_real_call(helpline: RunningHelpline, asterisk):
    async with chromium() as browser:
        page = await desktop_page(browser, helpline, microphone=False)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto("/wallboard")
        await sign_in_async(page, SUPERVISOR)
        await expect(page.get_by_role("heading", name="Wallboard coördinatoren")).to_be_visible()
        await expect(page.locator(".wb-header .pill")).to_have_text("Live")
        # The lines and partners of the test config, open and closed.
        await expect(page.locator(".wb-panel").last).to_contain_text("Never Open")
        # Today's earlier contacts (other tests') are read from the records at the app's
        # start: count from when they are in.
        await page.wait_for_function("window.helplineWallboard.board()?.today_from === null")
        answered_before = int(await cell(page, "answered").text_content() or "0")

        async with VolunteerPhone.of(asterisk, UDP_PHONE, mode=AutoAnswer(RING_S)) as phone:
            await phone.registered()
            token = login_ready(helpline, UDP_PHONE)
            await expect(state_count(page, "available")).not_to_have_text("0")

            # Other tests' volunteers may still be busy or wrapping up: count from here.
            offered = int(await state_count(page, "offered").text_content() or "0")
            busy = int(await state_count(page, "busy").text_content() or "0")
            wrapping = int(await state_count(page, "wrap_up").text_content() or "0")
            async with CallerPhone("116111") as caller:
                await caller.dial()
                # Arrives: one phone contact waiting (ringing), the volunteer offered.
                await expect(cell(page, "waiting")).to_have_text("1", timeout=15_000)
                await expect(cell(page, "waiting", "total")).to_have_text("1")
                await expect(state_count(page, "offered")).to_have_text(str(offered + 1))
                # Answered by the phone: in contact, nobody waiting.
                await expect(cell(page, "in_contact")).to_have_text("1", timeout=15_000)
                await expect(cell(page, "waiting")).to_have_text("0")
                await expect(state_count(page, "busy")).to_have_text(str(busy + 1))
                await caller.wait_answered()
                html = await page.content()
                assert SECRET_CALLER_NUMBER not in html and SECRET_CALLER_NAME not in html
                await axe_clean(page)
                await shot_async(page, "wallboard-compact", full_page=True)
                await _nothing_spills(page)
                await page.set_viewport_size({"width": 1024, "height": 768})  # a tablet, level
                await _nothing_spills(page)

                # The large-screen mode, chosen from the keyboard.
                await page.set_viewport_size(TV)
                large = page.get_by_role("button", name="Groot scherm")
                await large.focus()
                await page.keyboard.press("Enter")
                await expect(large).to_have_attribute("aria-pressed", "true")
                assert "wb-large" in (await page.locator("body").get_attribute("class") or "")
                await axe_clean(page)
                await shot_async(page, "wallboard-large", full_page=True)
                await caller.hangup()

            # Ended: answered today goes up by one; the volunteer wraps up.
            await expect(cell(page, "answered")).to_have_text(
                str(answered_before + 1), timeout=15_000
            )
            await expect(cell(page, "in_contact")).to_have_text("0")
            await expect(state_count(page, "wrap_up")).to_have_text(str(wrapping + 1))
            assert await cell(page, "asa").text_content() != "–"
            await shot_async(page, "wallboard-large-after", full_page=True)
            # English, as the same page.
            await page.get_by_role("button", name="English").click()
            await expect(page.locator('tr[data-row="aht"] th')).to_have_text(
                "Average handling time (talk + wrap-up)"
            )
            helpline.api("DELETE", "/api/v1/session", token=token)

        # The same figures as JSON for the supervisor's session; nothing about the caller.
        figures = await page.evaluate(
            "fetch('/api/v1/wallboard', {credentials: 'same-origin'}).then(r => r.json())"
        )
        assert figures["kinds"]["phone"]["answered"] == answered_before + 1
        assert SECRET_CALLER_NUMBER not in json.dumps(figures)
        assert errors == []


async def _nothing_spills(page) -> None:
    """Found on the demo: a long partner name pushed its "closed" pill over the next line's
    name, and at 1024 px the per-location table was cut off."""
    spills = await page.evaluate(
        """() => {
            const out = [];
            for (const li of document.querySelectorAll('.wb-lines li')) {
                const pill = li.querySelector('.pill');
                const right = li.getBoundingClientRect().right + 1;
                if (pill && pill.getBoundingClientRect().right > right)
                    out.push('pill of ' + li.textContent);
            }
            for (const box of document.querySelectorAll('.wb-panel')) {
                if (box.scrollWidth > box.clientWidth + 1) out.push('panel ' + box.className);
            }
            for (const wrap of document.querySelectorAll('.wb-scroll')) {
                if (wrap.scrollWidth > wrap.clientWidth + 1) out.push('table in ' + wrap.className);
            }
            return out;
        }"""
    )
    assert spills == []


async def test_a_volunteer_is_not_shown_the_wallboard(helpline: RunningHelpline):
    async with chromium() as browser:
        context = await browser.new_context(base_url=helpline.base_url, viewport=DESKTOP)
        page = await context.new_page()
        await page.goto("/wallboard")
        await sign_in_async(page, "uma")
        await expect(page.get_by_role("alert")).to_have_text(
            "Het wallboard is alleen voor coördinatoren."
        )
        assert await page.locator(".wb-table").count() == 0
        status = await page.evaluate(
            "fetch('/api/v1/wallboard', {credentials: 'same-origin'}).then(r => r.status)"
        )
        assert status == 403
