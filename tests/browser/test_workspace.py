"""The volunteer's workspace in Chromium against the real app (``helpline run``): the page
loads in Dutch from the app's own origin, English on request, a wrong password is refused
calmly, everything works from the keyboard with a visible focus ring, axe-core finds no serious
or critical violation, the layout fits 1366x768 and a tablet; signed in, the one big control
moves the volunteer between paused and ready, and a reload keeps the session.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    TABLET,
    PageErrors,
    RunningHelpline,
    axe_violations,
    shot,
    sign_in,
    status,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

FOCUS_STOPS = 8


def _open(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def _signed_in(page: Page, helpline: RunningHelpline, volunteer: str) -> None:
    _open(page)
    sign_in(page, volunteer)
    expect(page.locator(".state-panel")).to_be_visible()
    expect(page.locator(".conn .pill").first).to_have_text(re.compile("verbonden"))


def test_the_page_loads_in_dutch_from_its_own_origin(
    page: Page, helpline: RunningHelpline, page_errors: PageErrors
):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden")
    assert page.evaluate("document.documentElement.lang") == "nl"
    expect(page).to_have_title("Werkplek vrijwilliger")
    expect(page.get_by_label("Gebruikersnaam")).to_be_visible()
    # The configured locations, from the page itself (nothing else of the config).
    options = page.get_by_label("Locatie").locator("option").all_inner_texts()
    assert options == ["Mijn vaste locatie", "Utrecht", "Far"]
    # Nothing from anywhere but the app (no CDN, no fonts, no analytics).
    assert requests and all(url.startswith((helpline.base_url, "data:")) for url in requests), (
        requests
    )
    # The one error a fresh browser logs is "not signed in" (GET /api/v1/me: 401).
    assert all("401" in text for text in page_errors.console), page_errors.console
    shot(page, "signin")


def test_english_on_request_and_remembered(page: Page, helpline: RunningHelpline):
    _open(page)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("User name")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    shot(page, "signin-en")
    page.get_by_role("button", name="Nederlands").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden")


def test_a_wrong_password_is_refused_calmly(page: Page, helpline: RunningHelpline):
    _open(page)
    sign_in(page, "anna", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text(
        "Onbekende gebruikersnaam of verkeerd wachtwoord."
    )
    expect(page.get_by_label("Wachtwoord")).to_be_focused()
    expect(page.get_by_label("Wachtwoord")).to_have_value("")


def _focus_ring(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {tag: el.tagName, text: (el.textContent || el.name || '').trim().slice(0, 40),
                    style: style.outlineStyle, width: style.outlineWidth};
        }"""
    )


def _assert_visible_focus(page: Page, stops: int) -> list[str]:
    seen = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        ring = _focus_ring(page)
        if ring["tag"] == "BODY":
            continue
        seen.append(f"{ring['tag']}:{ring['text']}")
        assert ring["style"] not in ("none", "") and float(ring["width"].rstrip("px")) >= 2, ring
    return seen


def test_the_sign_in_page_works_from_the_keyboard_with_a_visible_focus(
    page: Page, helpline: RunningHelpline
):
    _open(page)
    seen = _assert_visible_focus(page, FOCUS_STOPS)
    assert any(s.startswith("INPUT") for s in seen) and any("Aanmelden" in s for s in seen), seen
    shot(page, "signin-focus")
    # Without the mouse: Tab to the user name, type, Tab, type, Enter.
    page.get_by_label("Gebruikersnaam").focus()
    page.keyboard.type("bram")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Wachtwoord")).to_be_focused()


def test_the_workspace_works_from_the_keyboard_with_a_visible_focus(
    page: Page, helpline: RunningHelpline
):
    _open(page)
    page.get_by_label("Gebruikersnaam").focus()
    page.keyboard.type("bram")
    page.keyboard.press("Tab")
    page.keyboard.type(helpline.passwords["bram"])
    page.keyboard.press("Enter")
    big = page.locator(".state-panel .btn-big")
    expect(big).to_have_text("Klaar voor gesprekken")
    _assert_visible_focus(page, FOCUS_STOPS)
    big.focus()
    assert float(_focus_ring(page)["width"].rstrip("px")) >= 2
    shot(page, "workspace-focus")
    page.keyboard.press("Enter")
    expect(page.locator(".state-panel .state-name")).to_have_text("Klaar voor gesprekken")


def test_the_sign_in_page_has_no_serious_accessibility_violations(
    page: Page, helpline: RunningHelpline
):
    _open(page)
    assert axe_violations(page) == []
    sign_in(page, "sanne", "not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="English").click()
    assert axe_violations(page) == []


def test_the_workspace_has_no_serious_accessibility_violations(
    page: Page, helpline: RunningHelpline
):
    _signed_in(page, helpline, "sanne")
    assert axe_violations(page) == []


@pytest.mark.parametrize("size", [DESKTOP, TABLET], ids=["1366x768", "tablet"])
def test_the_sign_in_page_fits(page: Page, helpline: RunningHelpline, size: dict[str, int]):
    page.set_viewport_size(size)
    _open(page)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    submit = page.get_by_role("button", name="Aanmelden", exact=True).bounding_box()
    assert submit is not None and submit["y"] + submit["height"] <= size["height"]
    shot(page, f"signin-{size['width']}x{size['height']}")


@pytest.mark.parametrize("size", [DESKTOP, TABLET], ids=["1366x768", "tablet"])
def test_the_workspace_fits(page: Page, helpline: RunningHelpline, size: dict[str, int]):
    page.set_viewport_size(size)
    _signed_in(page, helpline, "sanne")
    big = page.locator(".state-panel .btn-big")
    expect(big).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    box = big.bounding_box()
    assert box is not None and box["y"] + box["height"] <= size["height"]  # no scrolling to it
    assert box["height"] >= 80  # one big control
    shot(page, f"workspace-idle-{size['width']}x{size['height']}")


def test_sign_in_and_the_state_control(page: Page, helpline: RunningHelpline):
    _signed_in(page, helpline, "anna")
    state = page.locator(".state-panel .state-name")
    big = page.locator(".state-panel .btn-big")
    expect(state).to_have_text("Pauze")
    expect(page.locator(".who")).to_have_text("Anna · Utrecht")
    shot(page, "workspace-paused")
    big.click()
    expect(state).to_have_text("Klaar voor gesprekken")  # from the live bus
    assert status(page)["agent"] == "available"
    shot(page, "workspace-ready")
    page.get_by_label("Reden van pauze").select_option("training")
    expect(big).to_have_text("Pauze nemen")
    big.click()
    expect(state).to_have_text("Pauze")
    expect(page.locator(".state-panel .state-detail")).to_contain_text("Training")


def test_a_reload_keeps_the_session_and_signing_out_ends_it(page: Page, helpline: RunningHelpline):
    _signed_in(page, helpline, "bram")
    page.reload()
    expect(page.locator(".state-panel")).to_be_visible()  # no second sign-in
    page.get_by_role("button", name="Dienst beëindigen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden")
    expect(page.get_by_role("alert")).to_have_text("Je bent afgemeld. Tot de volgende dienst!")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden")


def test_the_page_reconnects_by_itself_when_the_app_restarts(page: Page, helpline: RunningHelpline):
    _signed_in(page, helpline, "tess")
    state = page.locator(".state-panel .state-name")
    page.locator(".state-panel .btn-big").click()
    expect(state).to_have_text("Klaar voor gesprekken")
    live = page.locator(".conn .pill").first
    helpline.stop()
    expect(live).to_have_text(re.compile("opnieuw verbinden"))
    shot(page, "workspace-reconnecting")
    helpline.start()
    # Back without a reload: the session (in Redis) and the volunteer's state (the journal)
    # outlived the process; the live bus resumed from the last sequence number it saw.
    expect(live).to_have_text(re.compile(": verbonden"), timeout=20_000)
    expect(state).to_have_text("Klaar voor gesprekken")
    assert status(page)["signedIn"] is True


def test_the_page_resumes_after_the_network_was_away(page: Page, helpline: RunningHelpline):
    _signed_in(page, helpline, "uma")
    live = page.locator(".conn .pill").first
    page.context.set_offline(True)
    expect(live).to_have_text(re.compile("geen netwerk"))
    page.context.set_offline(False)
    expect(live).to_have_text(re.compile(": verbonden"))
    assert status(page)["live"] == "connected"
