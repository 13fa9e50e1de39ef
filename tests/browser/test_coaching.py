"""The supervisor's coaching panel in the workspace, in Chromium against the real app.

A call: the child is a pjsua2 caller from the carrier's side, the volunteer a pjsua2 UDP phone
(its own 1000 Hz tone) that answers by itself; the supervisor is the browser-phone account,
made a supervisor for this test. The panel shows the volunteer in the call (name, location,
state, channel; never the caller's number); a refusal is shown in words; Listen rings the
supervisor's own browser phone, which answers by itself, and WebRTC ``getStats()`` counts the
call's audio arriving; the child never hears the supervisor; Whisper reaches the volunteer
only; Stop ends the coaching call and the child's call goes on. Then the supervisor pauses
the volunteer with a reason and logs them out, and switches surge mode on and off through its
confirmation.

A chat: the child opens a peer chat, the young volunteer accepts it, the supervisor (the
``sofie`` account) clicks "Read along" and sees the child's next message appear as text; the
pane closes when the chat ends. A volunteer's workspace has no panel at all.

Screenshots: ``test-artifacts/screenshots/coach-*.png``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest
from playwright.async_api import Page as AsyncPage
from playwright.async_api import Route
from playwright.async_api import expect as async_expect
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    BROWSER_PHONE,
    PASSWORD,
    ROOT,
    SUPERVISOR,
    UDP_PHONE,
    YOUNG_VOLUNTEER,
    PageErrors,
    RunningHelpline,
    axe_violations,
    shot,
)
from tests.browser.pages import (
    axe_clean,
    child_sends,
    chromium,
    desktop_page,
    inbound_packets,
    login_ready,
    make_ready,
    no_identity,
    open_chat,
    shot_async,
    sign_in_with_phone,
    status_async,
    wait_for,
    workspace,
)
from tests.integration.audio import PARTNER_TONE_HZ, VOLUNTEER_TONE_HZ
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]

VOLUNTEER_HZ = PARTNER_TONE_HZ
"""The UDP volunteer's tone here: the browser's fake microphone plays VOLUNTEER_TONE_HZ, so
the supervisor (the browser) and the volunteer are told apart by ear."""
SUPERVISOR_HZ = VOLUNTEER_TONE_HZ


def _set_role(helpline: RunningHelpline, volunteer_id: str, role: str) -> None:
    """``helpline volunteer role``, as an operator would (the app reads the role per request)."""
    subprocess.run(
        [sys.executable, "-m", "helpline.cli", "-c", str(helpline.config_path)]
        + ["volunteer", "role", volunteer_id, role],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "HELPLINE_ARGON2_PROFILE": "test"},
        timeout=60,
    )


def _surge_off(helpline: RunningHelpline) -> None:
    """Surge mode off whatever the test left (it would starve every later test's volunteer)."""
    code, body, _ = helpline.api(
        "POST", "/api/v1/session", {"volunteer_id": SUPERVISOR, "password": PASSWORD}
    )
    if code == 201:
        helpline.api("POST", "/api/v1/supervisor/surge", {"on": False}, token=body["token"])
        helpline.api("DELETE", "/api/v1/session", token=body["token"])


async def _not_ready(page: AsyncPage) -> None:
    """The supervisor takes no child's call during the test (an earlier test may have left
    this account ready): paused, or pausing after a wrap-up left behind."""
    state = page.locator(".state-panel .state-name")
    await async_expect(state).not_to_have_text("")
    if await state.text_content() == "Klaar voor gesprekken":
        await page.locator(".state-panel .btn-big").click()
        await async_expect(state).to_have_text("Pauze")


async def test_a_supervisor_listens_whispers_and_stops_on_a_real_call(
    helpline: RunningHelpline, asterisk
):
    _set_role(helpline, BROWSER_PHONE, "supervisor")
    try:
        async with chromium() as browser:
            await _coach_a_call(browser, helpline, asterisk)
    finally:
        _surge_off(helpline)
        _set_role(helpline, BROWSER_PHONE, "volunteer")


async def _coach_a_call(browser: Any, helpline: RunningHelpline, asterisk: Any) -> None:
    page = await desktop_page(browser, helpline)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await sign_in_with_phone(page)
    await _not_ready(page)
    panel = page.locator(".coach-panel")
    await async_expect(panel.get_by_role("heading", name="Coaching", exact=True)).to_be_visible()
    row = panel.locator(f'.coach-row[data-agent="{UDP_PHONE}"]')

    async with VolunteerPhone.of(
        asterisk, UDP_PHONE, mode=AutoAnswer(0.5), tone_hz=VOLUNTEER_HZ
    ) as phone:
        await phone.registered()
        token = login_ready(helpline, UDP_PHONE)
        try:
            await async_expect(row.locator(".coach-name")).to_have_text("Udo")
            await async_expect(row).to_contain_text("Utrecht")
            await async_expect(row.locator(".coach-state")).to_contain_text("Klaar voor gesprekken")
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await caller.wait_answered()
                await caller.wait_hearing(VOLUNTEER_HZ)
                await async_expect(row.locator(".coach-state")).to_contain_text("In gesprek")
                await async_expect(row.locator(".coach-contacts")).to_have_text("Contact: Telefoon")
                no_identity(await page.content())
                await _refusal_in_words(page, row)
                await _listen_then_whisper(page, row, caller, phone)

                await row.get_by_role("button", name="Stoppen").click()
                await wait_for(page, _call_is(page, "ended"), "the coaching call to end", 20.0)
                await async_expect(row.locator(".coach-badge")).to_be_hidden()
                await async_expect(panel.locator(".coach-status")).to_have_text(
                    "De coaching van Udo is gestopt."
                )
                # The child's call goes on, with the volunteer and without the supervisor.
                await caller.wait_hearing_tones(VOLUNTEER_HZ, absent=(SUPERVISOR_HZ,))
                await async_expect(row.locator(".coach-state")).to_contain_text("In gesprek")
                await shot_async(page, "coach-stopped", full_page=True)
                await caller.hangup()

            await _pause_and_log_out(page, helpline, row, token)
        finally:
            helpline.api("DELETE", "/api/v1/session", token=token)
    await _surge_on_and_off(page)
    # The supervisor's shift ends as anyone's: the account is left signed out.
    await page.get_by_role("button", name="Dienst beëindigen").click()
    await async_expect(page.get_by_label("Gebruikersnaam")).to_be_visible()
    assert errors == []


async def _refusal_in_words(page: AsyncPage, row: Any) -> None:
    """A 409 from the API is said in words in the volunteer's row (answered here: a real one
    needs a colleague coaching the same call)."""

    async def refuse(route: Route) -> None:
        await route.fulfill(
            status=409,
            json={"error": "coaching_in_progress", "message": "this call is being coached"},
        )

    await page.route("**/api/v1/supervisor/volunteers/*/coaching", refuse)
    await row.get_by_role("button", name="Meeluisteren").click()
    await async_expect(row.get_by_role("alert")).to_have_text(
        "Dit gesprek wordt al gecoacht, of je coacht zelf al een ander gesprek."
    )
    await page.unroute("**/api/v1/supervisor/volunteers/*/coaching", refuse)
    assert (await status_async(page))["call"] in ("none", "ended")


def _call_is(page: AsyncPage, call: str):
    async def check() -> bool:
        return (await status_async(page))["call"] == call

    return check


async def _listen_then_whisper(page: AsyncPage, row: Any, caller: Any, phone: Any) -> None:
    listen = row.get_by_role("button", name="Meeluisteren")
    await listen.click()
    # The supervisor's own browser phone rings and answers by itself: the coaching call.
    await wait_for(page, _call_is(page, "active"), "the coaching call", 20.0)
    assert (await status_async(page))["callCoaching"] is True
    await async_expect(row.get_by_role("alert")).to_be_hidden()
    await async_expect(listen).to_have_attribute("aria-pressed", "true")
    await async_expect(row.locator(".coach-badge")).to_have_text("Jij: meeluisteren")
    await async_expect(page.locator(".call-panel .call-title")).to_have_text("Coachinggesprek")
    # Her own status says why no child's call comes to her while she coaches.
    await async_expect(page.locator(".state-panel .state-detail")).to_contain_text(
        "Je coacht een gesprek: je krijgt intussen geen gesprekken"
    )

    async def hearing() -> bool:
        return await inbound_packets(page) > 50

    await wait_for(page, hearing, "the call's audio in the supervisor's browser", 20.0)
    # Listen: nobody hears the supervisor; the child still hears the volunteer.
    await caller.wait_hearing_tones(VOLUNTEER_HZ, absent=(SUPERVISOR_HZ,))
    no_identity(await page.content())
    await axe_clean(page)
    await shot_async(page, "coach-listen", full_page=True)

    whisper = row.get_by_role("button", name="Influisteren")
    await whisper.click()
    await async_expect(whisper).to_have_attribute("aria-pressed", "true")
    await async_expect(listen).to_have_attribute("aria-pressed", "false")
    await async_expect(row.locator(".coach-badge")).to_have_text("Jij: influisteren")
    # Whisper: the volunteer hears the supervisor, the child does not.
    await phone.wait_hearing_tones(SUPERVISOR_HZ)
    await caller.wait_hearing_tones(VOLUNTEER_HZ, absent=(SUPERVISOR_HZ,))
    await shot_async(page, "coach-whisper", full_page=True)


async def _pause_and_log_out(
    page: AsyncPage, helpline: RunningHelpline, row: Any, token: str
) -> None:
    await async_expect(row.locator(".coach-state")).to_contain_text("Afronden")
    await async_expect(row.get_by_role("button", name="Meeluisteren")).to_be_hidden()
    await row.get_by_role("button", name="Pauze geven…").click()
    await row.get_by_label("Reden van pauze").select_option("meeting")
    await shot_async(page, "coach-pause", full_page=True)
    await row.get_by_role("button", name="Pauze geven", exact=True).click()
    await async_expect(row.locator(".coach-state")).to_contain_text(
        re.compile(r"Na het afronden: pauze \(Overleg\)|Pauze: Overleg")
    )
    await async_expect(page.locator(".coach-status")).to_have_text("Udo krijgt pauze: Overleg.")
    await row.get_by_role("button", name="Afmelden…").click()
    await async_expect(row.locator(".coach-drawer").last).to_contain_text(
        "Udo afmelden uit de wachtrij?"
    )
    await axe_clean(page)
    await shot_async(page, "coach-logout", full_page=True)
    await row.get_by_role("button", name="Ja, afmelden").click()
    await async_expect(page.locator(".coach-status")).to_have_text("Udo wordt afgemeld.")
    # Logged out once the wrap-up is over (ended here rather than waited for).
    helpline.api("POST", "/api/v1/me/wrap-up/end", {}, token=token)
    await async_expect(row).to_have_count(0, timeout=15_000)


async def _surge_on_and_off(page: AsyncPage) -> None:
    surge = page.locator(".coach-panel .surge")
    await async_expect(surge).to_contain_text("Drukte-modus staat uit")
    await surge.get_by_role("button", name="Drukte-modus aanzetten…").click()
    await async_expect(surge).to_contain_text("Weet je het zeker?")
    await shot_async(page, "coach-surge-confirm", full_page=True)
    await surge.get_by_role("button", name="Ja, drukte-modus aan").click()
    await async_expect(surge.locator(".surge-text")).to_have_text(
        re.compile("^Drukte-modus staat aan")
    )
    await async_expect(surge).to_have_attribute("data-on", "true")
    await shot_async(page, "coach-surge-on", full_page=True)
    await surge.get_by_role("button", name="Drukte-modus uitzetten…").click()
    await surge.get_by_role("button", name="Ja, drukte-modus uit").click()
    await async_expect(surge.locator(".surge-text")).to_have_text(
        re.compile("^Drukte-modus staat uit")
    )


# -- a chat ------------------------------------------------------------------------------------


def test_a_supervisor_reads_along_with_a_chat_and_a_volunteer_sees_no_panel(
    browser: Browser, child: Page, helpline: RunningHelpline, page_errors: PageErrors
):
    with (
        workspace(browser, helpline, page_errors, YOUNG_VOLUNTEER) as volunteer,
        workspace(browser, helpline, page_errors, SUPERVISOR) as supervisor,
    ):
        # A volunteer's workspace has no coaching panel, and the API refuses them too.
        expect(volunteer.locator(".coach-panel")).to_have_count(0)
        refused = volunteer.evaluate(
            "fetch('/api/v1/supervisor/volunteers', {credentials: 'same-origin'})"
            ".then((r) => r.status)"
        )
        assert refused == 403

        open_chat(child)
        make_ready(volunteer, helpline, YOUNG_VOLUNTEER)
        volunteer.locator(".chat-offer").get_by_role("button", name="Chat aannemen").click()
        expect(child.get_by_label("Jouw bericht")).to_be_visible()
        child_sends(child, "Hoi, is daar iemand?")
        chat_panel = volunteer.get_by_role("tabpanel")
        expect(chat_panel.locator(".msg-child .msg-text")).to_have_text("Hoi, is daar iemand?")

        row = supervisor.locator(f'.coach-row[data-agent="{YOUNG_VOLUNTEER}"]')
        expect(row.locator(".coach-name")).to_have_text("Jet")
        # A peer chat is named as one (its channel is the queue's "chat"; its kind says more).
        expect(row.locator(".coach-contacts")).to_have_text("Contact: Chat (jongere)")
        # The list says who and how, never what: no chat text in it.
        assert "Hoi, is daar iemand?" not in (row.text_content() or "")
        row.get_by_role("button", name="Meelezen met Jet, chat 1").click()
        pane = supervisor.locator(".read-pane")
        expect(pane.get_by_role("heading")).to_have_text("Meelezen: Jet, chat 1")
        expect(pane.locator(".msg-child .msg-text")).to_have_text("Hoi, is daar iemand?")

        # The child's next message appears as it is sent, as text (never HTML).
        script = "Ik durf het <b>niet</b> te zeggen <img src=x onerror='window.pwned=1'>"
        child_sends(child, script)
        expect(pane.locator(".msg-child .msg-text").last).to_have_text(script)
        assert pane.locator("b, img, script").count() == 0
        assert supervisor.evaluate("window.pwned") is None
        chat_panel.get_by_label("Bericht", exact=True).fill("Ik ben er, vertel maar.")
        chat_panel.get_by_label("Bericht", exact=True).press("Enter")
        expect(pane.locator(".msg-volunteer .msg-text")).to_have_text("Ik ben er, vertel maar.")
        expect(row.get_by_role("button", name="Meelezen met Jet, chat 1")).to_have_attribute(
            "aria-pressed", "true"
        )
        assert axe_violations(supervisor) == []
        shot(supervisor, "coach-read-along", full_page=True)

        # The chat ends (the child's quick exit): the pane closes and says why.
        child.keyboard.press("Escape")
        expect(pane).to_have_count(0, timeout=15_000)
        expect(supervisor.locator(".coach-status")).to_have_text(
            "De chat van Jet is afgelopen; meelezen is gestopt."
        )
        shot(supervisor, "coach-read-along-ended", full_page=True)
        # The same panel in English.
        supervisor.get_by_role("button", name="English").click()
        expect(supervisor.locator(".surge-text")).to_have_text(re.compile("^Surge mode is off"))
        expect(row.get_by_role("button", name="Log out…")).to_be_visible()
        expect(supervisor.locator(".coach-panel .muted").first).to_have_text(
            re.compile("^The volunteers signed in now")
        )
        shot(supervisor, "coach-english", full_page=True)
        shot(volunteer, "coach-volunteer-no-panel", full_page=True)
    assert page_errors.uncaught == [], page_errors.uncaught
