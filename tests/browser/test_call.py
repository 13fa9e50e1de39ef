"""Real calls into the browser. A pjsua2 caller dials 116111 from the carrier's side, the
offer rings in the page (channel, line dialled, language and wait time; never the caller's
number or name,
which the caller does send), the volunteer answers with a click, audio flows both ways (WebRTC
``getStats()`` counts the child's packets in the browser; the caller hears the browser's 880 Hz
test tone), hold and unhold, the volunteer hangs up, fills in the wrap-up form and the stored
registration matches it. A warm transfer through the UI: consult Veilig Thuis (a pjsua2 partner
on the carrier's side), bring the child in, leave; the child hears the partner, each step is
shown as it happens, and the referral is pre-filled in the wrap-up form.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import RunningHelpline
from tests.browser.pages import (
    axe_clean,
    chromium,
    desktop_page,
    inbound_packets,
    no_identity,
    shot_async,
    sign_in_with_phone,
    wait_for,
)
from tests.integration.audio import PARTNER_TONE_HZ, TONE_PRESENT_RMS, VOLUNTEER_TONE_HZ
from tests.integration.phones import AutoAnswer, CallerPhone, PartnerPhone

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(180)]


async def _wait_hearing_music(caller: CallerPhone, timeout_s: float = 10.0) -> None:
    """Until a window of the caller's audio is mostly sound (music on hold) without the
    volunteer's tone in it."""
    last = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.6)  # sampling: each window must fill with audio
        last = await caller.measure()
        if (
            last.active_s >= 0.8 * last.duration_s
            and last.level(VOLUNTEER_TONE_HZ) < TONE_PRESENT_RMS
        ):
            return
    raise AssertionError(f"the child did not hear music on hold: {last}")


async def test_a_call_rings_in_the_browser_is_answered_and_audio_flows(
    helpline: RunningHelpline,
):
    async with chromium() as browser:
        page = await desktop_page(browser, helpline)
        await sign_in_with_phone(page)
        state = page.locator(".state-panel .state-name")
        await page.locator(".state-panel .btn-big").click()
        await expect(state).to_have_text("Klaar voor gesprekken")
        await shot_async(page, "call-idle")

        async with CallerPhone("116111") as caller:
            await caller.dial()
            call = page.locator(".call-panel")
            await expect(call).to_have_attribute("data-call", "ringing", timeout=20_000)
            answer = page.get_by_role("button", name="Opnemen")
            await expect(answer).to_be_enabled(timeout=10_000)
            details = page.locator(".call-panel .details")
            await expect(details).to_contain_text("Telefoon")
            await expect(details).to_contain_text("Lijn116111")  # the line dialled
            await expect(details).to_contain_text("TaalNederlands")
            await expect(details).to_contain_text("Wachttijd")
            no_identity(await page.content())
            await axe_clean(page)
            await shot_async(page, "call-ringing")

            await answer.click()
            await expect(call).to_have_attribute("data-call", "active")
            await caller.wait_answered()
            await expect(state).to_have_text("In gesprek")
            # The child's audio reaches the browser, the browser's tone reaches the child.
            await wait_for(page, lambda: _more_than(page, 50), "inbound audio")
            heard = await caller.wait_hearing(VOLUNTEER_TONE_HZ)
            assert heard.rms > 0
            no_identity(await page.content())
            await axe_clean(page)
            await shot_async(page, "call-active")

            await page.get_by_role("button", name="In de wacht zetten").click()
            await expect(page.locator(".call-panel .call-title")).to_have_text("In de wacht")
            await shot_async(page, "call-on-hold")
            # On hold the child hears music, not silence and not the volunteer.
            await _wait_hearing_music(caller)
            await page.get_by_role("button", name="Terug naar het gesprek").click()
            await expect(page.locator(".call-panel .call-title")).to_have_text("In gesprek")
            await caller.wait_hearing(VOLUNTEER_TONE_HZ)
            before = await inbound_packets(page)
            await wait_for(page, lambda: _more_than(page, before + 25), "audio again after unhold")

            await page.get_by_role("button", name="Ophangen").click()
            await caller.wait_ended()
        await expect(state).to_have_text("Afronden")
        await _save_wrap_up(page, helpline)


async def _save_wrap_up(page: Page, helpline: RunningHelpline) -> None:
    """Fill in the form as a volunteer would, save it, and read back what was stored."""
    form = page.locator(".wrapup-panel form")
    await expect(form).to_be_visible()
    no_identity(await page.content())
    await form.get_by_label("Gesprek", exact=True).check()
    await form.get_by_label("Geweld en misbruik").check()
    await form.get_by_label("Seksueel geweld").check()
    await form.get_by_label("12-14 jaar").check()
    await axe_clean(page)
    await shot_async(page, "call-wrap-up")
    await form.get_by_role("button", name="Opslaan en afronden").click()
    await expect(page.locator(".wrapup-panel .success")).to_be_visible()
    await expect(page.locator(".state-panel .state-name")).to_have_text("Klaar voor gesprekken")
    stored = await page.evaluate(
        "fetch('/api/v1/me/registration', {credentials: 'same-origin'}).then(r => r.json())"
    )
    assert stored["saved"] is True
    saved = stored["registration"]
    assert saved["contact_type"] == "conversation"
    assert sorted(saved["topics"]) == ["violence", "violence.sexual"]
    assert (saved["age_band"], saved["gender"]) == ("12_14", "unknown")


async def _ready(page: Page) -> None:
    """Make the volunteer ready (a second test finds them as the first left them)."""
    state = page.locator(".state-panel .state-name")
    await expect(state).not_to_have_text("")
    if await state.text_content() != "Klaar voor gesprekken":
        await page.locator(".state-panel .btn-big").click()
    await expect(state).to_have_text("Klaar voor gesprekken")


async def test_a_warm_transfer_through_the_page(helpline: RunningHelpline):
    async with chromium() as browser:
        page = await desktop_page(browser, helpline)
        await sign_in_with_phone(page)
        await _ready(page)
        panel = page.locator(".transfer-panel")
        status = panel.locator(".transfer-status")
        async with (
            CallerPhone("116111") as caller,
            PartnerPhone(mode=AutoAnswer(0.5)) as partner,
        ):
            await caller.dial()
            answer = page.get_by_role("button", name="Opnemen")
            await expect(answer).to_be_enabled(timeout=20_000)
            await answer.click()
            await caller.wait_answered()
            await expect(page.locator(".call-panel")).to_have_attribute("data-call", "active")

            await panel.get_by_role("button", name="Doorverbinden…").click()
            await panel.get_by_label(re.compile("^Veilig Thuis")).check()
            consult = panel.get_by_role("button", name="Eerst zelf overleggen")
            await consult.click()  # without consent: refused, nothing dialled
            await expect(panel.get_by_role("alert")).to_have_text(
                "Zonder toestemming van het kind kun je niet doorverbinden."
            )
            await panel.get_by_label("Het kind geeft toestemming om door te verbinden").check()
            await panel.get_by_label("Regio (niet verplicht)").select_option("utrecht")
            await axe_clean(page)
            await shot_async(page, "transfer-form")
            await consult.click()
            await expect(status).to_contain_text("Veilig Thuis")
            await partner.wait_answered()
            await expect(status).to_have_text(
                "Je overlegt met Veilig Thuis; het kind is in de wacht"
            )
            await axe_clean(page)
            await shot_async(page, "transfer-consult")
            await panel.get_by_role("button", name="Kind erbij (driegesprek)").click()
            await expect(status).to_have_text("Driegesprek met het kind en Veilig Thuis")
            await caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
            await shot_async(page, "transfer-conference")
            await panel.get_by_role("button", name="Gesprek verlaten").click()
            await expect(page.locator(".state-panel .state-name")).to_have_text("Afronden")
            await expect(status).to_have_text("Het kind praat verder met Veilig Thuis")
            steps = await panel.locator(".transfer-log li").all_text_contents()
            assert len(steps) >= 3, steps  # consult, conference, handed over (and dialling)
            await caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))
            no_identity(await page.content())
            # The referral is in the form already, by the partner's name and region.
            await expect(page.locator(".wrapup-panel .referral")).to_contain_text(
                "Veilig Thuis · Utrecht"
            )
            await shot_async(page, "transfer-wrap-up")
            await caller.hangup()


async def _more_than(page: Page, packets: int) -> bool:
    return await inbound_packets(page) > packets
