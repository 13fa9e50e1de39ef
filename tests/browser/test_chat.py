"""The children's chat in Chromium against the real app (``helpline run``): the child's page at
``/chat`` (its own strict CSP, nothing from elsewhere, Dutch by default and English on request,
keyboard and axe-core clean, 360x640, Escape leaves), and conversations in several browser
contexts. The child opens a peer chat and sees its place in the queue; the young volunteer (only
they have the ``peer_chat`` skill, so no other test's ready volunteer takes it) accepts the
offer in the workspace; messages flow both ways with read receipts and typing; a script in a
message stays text; both pages reload and resume; a message over the limit and a flood are
refused with a clear message; the quick exit clears sessionStorage and leaves no way back. A
peer chat is never offered to an adult volunteer; the survey after it; a warm hand-over with a
note, then the colleague ends and blocks; two chats as two tabs and no third at ``max_chats``;
the app SIGKILLed mid-chat and both sides resume; a volunteer in a real call (a pjsua2 caller,
answered in the page) is not offered a chat, a free colleague is. Screenshots in
``test-artifacts/screenshots/chat-*``.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    BROWSER_PHONE,
    PHONE,
    QUICK_EXIT_URL,
    YOUNG_COLLEAGUE,
    YOUNG_VOLUNTEER,
    PageErrors,
    RunningHelpline,
    axe_violations,
    chat_setting,
    leave_chat,
    new_context,
    shot,
    status,
)
from tests.browser.pages import (
    child_sends,
    make_ready,
    open_chat,
    sync_caller,
    wait_for_queue_notices,
    workspace,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(180)]

CHAT_MAX_CHARS = int(chat_setting("max_message_chars"))
"""The test app's ``[chat] max_message_chars``: below the page's own default of 2000, so the
page counting down to it shows it learnt the server's limit from ``/api/v1/chat/status``."""
CHAT_CSP = (
    "default-src 'self'; connect-src 'self'; img-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'none'; "
    "base-uri 'none'"
)


@pytest.fixture
def volunteer(
    browser: Browser, chat_app: RunningHelpline, page_errors: PageErrors
) -> Iterator[Page]:
    """The young volunteer's workspace, signed in."""
    with workspace(browser, chat_app, page_errors, YOUNG_VOLUNTEER) as page:
        yield page


@pytest.fixture
def colleague(
    browser: Browser, chat_app: RunningHelpline, page_errors: PageErrors
) -> Iterator[Page]:
    """A second young volunteer's workspace, signed in."""
    with workspace(browser, chat_app, page_errors, YOUNG_COLLEAGUE) as page:
        yield page


def _pause(page: Page, helpline: RunningHelpline, volunteer_id: str) -> None:
    """Paused (from wherever an earlier test left them), so that a chat goes to someone else."""
    if status(page)["agent"] != "paused":
        make_ready(page, helpline, volunteer_id)
        page.locator(".state-panel .btn-big").click()
    expect(page.locator(".state-panel .state-name")).to_have_text("Pauze")


# -- the page alone ----------------------------------------------------------------------------


def test_the_chat_page_comes_from_its_own_origin_under_a_strict_policy(
    child: Page, chat_app: RunningHelpline
):
    requests: list[str] = []
    child.on("request", lambda r: requests.append(r.url))
    response = child.goto("/chat")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == CHAT_CSP
    assert "set-cookie" not in response.headers
    expect(child.get_by_role("heading", level=1)).to_have_text("Chat met De Kindertelefoon")
    assert child.evaluate("document.documentElement.lang") == "nl"
    expect(
        child.get_by_role("button", name=re.compile("Chat met een vrijwilliger"))
    ).to_be_visible()
    expect(child.get_by_role("button", name="Snel weg")).to_be_visible()
    expect(child.get_by_role("link", name="Bel 112")).to_have_attribute("href", "tel:112")
    assert all(url.startswith(chat_app.base_url) for url in requests), requests
    # Nothing about the child in the browser but what the page itself keeps for this tab.
    assert child.context.cookies() == []
    assert child.evaluate("localStorage.length") == 0
    assert child.evaluate("document.documentElement.scrollWidth <= innerWidth")
    shot(child, "chat-start-360x640", full_page=True)


def test_english_on_request(child: Page, chat_app: RunningHelpline):
    child.goto("/chat")
    child.get_by_role("button", name="English").click()
    expect(child.get_by_role("heading", level=1)).to_have_text("Chat with De Kindertelefoon")
    expect(child.get_by_role("button", name="Quick exit")).to_be_visible()
    assert child.evaluate("document.documentElement.lang") == "en"
    child.reload()  # kept for this tab
    expect(child.get_by_role("heading", level=1)).to_have_text("Chat with De Kindertelefoon")


def test_the_chat_page_is_keyboard_operable_with_the_quick_exit_first(
    child: Page, chat_app: RunningHelpline
):
    child.goto("/chat")
    expect(
        child.get_by_role("button", name=re.compile("Chat met een vrijwilliger"))
    ).to_be_visible()
    child.keyboard.press("Tab")
    focused = child.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.textContent, s.outlineStyle, s.outlineWidth]; })()"
    )
    assert focused[0] == "Snel weg"
    assert focused[1] != "none" and float(focused[2].rstrip("px")) >= 2
    assert axe_violations(child) == []


def test_out_of_hours_the_page_says_when_it_opens_with_the_forum_and_112(
    child: Page, chat_app: RunningHelpline
):
    # The schedule is the server's; here its answer is replaced, to see the page's side of it.
    code, real, _ = chat_app.api("GET", "/api/v1/chat/status")
    assert code == 200
    closed = {**real, "open": False, "peer_open": False, "opens_at": "2030-01-07T09:00:00+01:00"}
    child.route(
        "**/api/v1/chat/status*",
        lambda route: route.fulfill(status=200, content_type="application/json", json=closed),
    )
    child.goto("/chat")
    expect(child.get_by_text("De chat is nu gesloten.")).to_be_visible()
    expect(child.get_by_text(re.compile("De chat gaat weer open: maandag 09:00"))).to_be_visible()
    expect(child.get_by_role("button", name=re.compile("Chat met een"))).to_have_count(0)
    expect(child.get_by_role("link", name="Naar het forum")).to_have_attribute(
        "href", real["forum_url"]
    )
    expect(child.get_by_role("link", name="Bel 112")).to_be_visible()
    assert axe_violations(child) == []
    shot(child, "chat-closed-360x640")


def test_escape_leaves_at_once_and_clears_the_tab(child: Page, chat_app: RunningHelpline):
    child.goto("/chat")
    child.get_by_role("button", name="English").click()  # something kept in sessionStorage
    assert child.evaluate("sessionStorage.length") > 0
    child.keyboard.press("Escape")
    child.wait_for_url(QUICK_EXIT_URL)
    child.go_back()
    assert not child.url.startswith(chat_app.base_url + "/chat")


# -- a conversation ------------------------------------------------------------------------


def test_a_peer_chat_from_queue_to_quick_exit(
    child: Page, volunteer: Page, chat_app: RunningHelpline
):
    # The child opens a peer chat while the only young volunteer is paused: it waits, with its
    # place in the queue.
    open_chat(child)
    token = child.evaluate("sessionStorage.getItem('helpline.chat')")
    assert token is not None and "token" in token
    expect(child.get_by_role("button", name="Snel weg")).to_be_in_viewport()
    assert axe_violations(child) == []
    shot(child, "chat-waiting-360x640")

    # The volunteer gets ready: the offer comes in beside the phone part, and is accepted.
    make_ready(volunteer, chat_app, YOUNG_VOLUNTEER)
    offer = volunteer.locator(".chat-offer")
    expect(offer).to_be_visible()
    shot(volunteer, "chat-workspace-offer")
    offer.get_by_role("button", name="Chat aannemen").click()
    tab = volunteer.get_by_role("tab", name=re.compile("Chat 1"))
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(child.locator(".msg-system")).to_have_text(re.compile("Er is een vrijwilliger voor je"))
    expect(child.get_by_label("Jouw bericht")).to_be_visible()

    # The child writes; a script in it stays text on both sides.
    script = "Hoi <script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    child_sends(child, script)
    panel = volunteer.get_by_role("tabpanel")
    expect(panel.locator(".msg-child .msg-text")).to_have_text(script)
    assert volunteer.evaluate("window.pwned") is None
    assert panel.locator(".chat-log img, .chat-log script").count() == 0
    expect(child.locator(".msg-child .msg-state").last).to_have_text(re.compile("Gelezen"))

    # The volunteer answers with a canned text, edited before sending.
    panel.get_by_label("Standaardtekst").select_option("forum")
    panel.get_by_role("button", name="Invoegen").click()
    composer = panel.get_by_label("Bericht", exact=True)
    canned = volunteer.evaluate(
        "fetch('/api/v1/chat/canned?lang=nl').then((r) => r.json())"
        ".then((b) => b.canned.find((c) => c.id === 'forum').text)"
    )
    expect(composer).to_have_value(canned)
    inserted = composer.input_value()
    composer.press("End")
    composer.press_sequentially(" Of hier verder praten.")
    composer.press("Enter")
    answer = inserted + " Of hier verder praten."
    expect(child.locator(".msg-volunteer .msg-text")).to_have_text(answer)
    expect(panel.locator(".msg-volunteer .msg-state")).to_have_text(re.compile("gelezen"))
    assert child.evaluate("window.pwned") is None
    assert axe_violations(child) == []
    assert axe_violations(volunteer) == []
    shot(child, "chat-talking-360x640")
    shot(volunteer, "chat-workspace-tabs")

    # The child types: the volunteer sees it (typing is relayed at most every 2 s: a child's
    # pace, not a burst).
    child.get_by_label("Jouw bericht").press_sequentially("Ik ben", delay=600)
    expect(panel.locator(".typing")).to_be_visible()
    child.get_by_label("Jouw bericht").fill("")

    # A reload resumes the same conversation (the token from sessionStorage).
    child.reload()
    expect(child.locator(".msg-child .msg-text").first).to_have_text(script)
    expect(child.locator(".msg-volunteer .msg-text")).to_have_text(answer)
    expect(child.get_by_label("Jouw bericht")).to_be_visible()
    child_sends(child, "Ik ben er weer")
    expect(panel.locator(".msg-child .msg-text").last).to_have_text("Ik ben er weer")
    # The workspace reloads too: the chat's tab comes back with its transcript.
    volunteer.reload()
    expect(volunteer.get_by_role("tab", name=re.compile("Chat 1"))).to_be_visible()
    panel = volunteer.get_by_role("tabpanel")
    expect(panel.locator(".msg-child .msg-text").first).to_have_text(script)
    expect(panel.locator(".msg-volunteer .msg-text")).to_have_text(answer)

    # Over the server's limit: the page knows it (from the status), counts the characters
    # too many, refuses to send and tells the child so plainly. (The hub's own refusal, for a
    # page that did not know, is tested in tests/unit/test_chat_hub.py.)
    long = "x" * (CHAT_MAX_CHARS + 1)
    child.get_by_label("Jouw bericht").fill(long)
    expect(child.locator("#composer-count")).to_have_text("1 tekens te veel")
    child_sends(child, long)
    expect(child.get_by_role("alert")).to_have_text(re.compile("Je bericht is te lang"))
    # Back in the composer to be shortened; never shown to the volunteer.
    expect(child.get_by_label("Jouw bericht")).to_have_value(long)
    expect(child.locator(".msg-child .msg-text").last).to_have_text("Ik ben er weer")
    assert panel.locator(".msg-child .msg-text").last.inner_text() == "Ik ben er weer"
    # A flood: refused once past the rate, with a clear message.
    for i in range(14):
        child.get_by_label("Jouw bericht").fill(f"bericht {i}")
        child.get_by_label("Jouw bericht").press("Enter")
    expect(child.get_by_role("alert")).to_have_text(re.compile("heel snel veel berichten"))
    expect(child.locator(".msg-child .msg-state").last).to_have_text(re.compile("Niet verstuurd"))
    shot(child, "chat-refused-360x640")

    # Quick exit: the neutral site replaces the chat in the history; nothing is left behind.
    child.get_by_role("button", name="Snel weg").click()
    child.wait_for_url(QUICK_EXIT_URL)
    child.go_back()
    assert not child.url.startswith(chat_app.base_url + "/chat"), child.url
    child.goto("/chat")
    assert child.evaluate("sessionStorage.getItem('helpline.chat')") is None
    expect(child.get_by_role("button", name=re.compile("Chat met een jongere"))).to_be_visible()
    assert child.locator(".msg").count() == 0

    # The volunteer sees the child leave; the tab stays for the registration.
    expect(panel.locator(".chat-ended-text")).to_have_text("Het kind heeft de chat beëindigd.")
    shot(volunteer, "chat-workspace-ended")
    chats = status(volunteer)["chats"]
    assert [c["ended"] for c in chats] == ["child"], chats
    # Its registration, in the chat's own tab (the wrap-up panel stays out of the way).
    expect(volunteer.locator(".wrapup-panel")).to_be_hidden()
    panel.get_by_role("group", name="Soort contact").get_by_label("Gesprek").check()
    panel.get_by_role("button", name="Opslaan en afronden").click()
    expect(panel.get_by_text("Opgeslagen. Je afronding is klaar.")).to_be_visible()
    panel.get_by_role("button", name="Tabblad sluiten").click()
    expect(volunteer.get_by_role("tab")).to_have_count(0)


def test_a_peer_chat_is_not_offered_to_an_adult_volunteer(
    browser: Browser,
    child: Page,
    volunteer: Page,
    chat_app: RunningHelpline,
    page_errors: PageErrors,
):
    with workspace(browser, chat_app, page_errors, "vince") as adult:
        make_ready(adult, chat_app, "vince")
        open_chat(child)
        # The chat waited two queue-notice intervals (5 s each) with the adult ready: no offer
        # for them.
        wait_for_queue_notices(child)
        expect(adult.locator(".chat-offer")).to_be_hidden()
        assert status(adult)["agent"] == "available"
        make_ready(volunteer, chat_app, YOUNG_VOLUNTEER)
        expect(volunteer.locator(".chat-offer")).to_be_visible()
        volunteer.get_by_role("button", name="Weigeren").click()
        expect(adult.locator(".chat-offer")).to_be_hidden()
        child.get_by_role("button", name="Chat stoppen").click()
        child.get_by_role("button", name="Ja, stoppen").click()
        expect(child.locator(".ended-text")).to_be_visible()
        assert axe_violations(child) == []
        # The survey after the chat, answered once.
        child.get_by_role("group", name="Heeft deze chat je geholpen?").get_by_label("Ja").check()
        child.get_by_role("group", name=re.compile("nog een keer")).get_by_label("Nee").check()
        child.get_by_role("button", name="Versturen").click()
        expect(child.get_by_text("Bedankt voor je antwoorden!")).to_be_visible()
        shot(child, "chat-ended-360x640", full_page=True)


def test_a_volunteer_in_a_call_is_not_offered_a_chat(
    browser: Browser, child: Page, chat_app: RunningHelpline, page_errors: PageErrors
):
    """Phone and chat skills (the default), two chats at most: by the numbers there is room
    for a chat during a call, but a child on the line has the volunteer's full attention."""
    with (
        workspace(browser, chat_app, page_errors, BROWSER_PHONE) as volunteer,
        sync_caller() as caller,
    ):
        volunteer.context.grant_permissions(["microphone"])
        sip = volunteer.locator(".conn .pill").nth(1)
        expect(sip).to_have_text(re.compile("klaar"), timeout=15_000)
        make_ready(volunteer, chat_app, BROWSER_PHONE)
        caller.run(caller.phone.dial())
        answer = volunteer.get_by_role("button", name="Opnemen")
        expect(answer).to_be_enabled(timeout=20_000)
        answer.click()
        expect(volunteer.locator(".call-panel")).to_have_attribute("data-call", "active")
        caller.run(caller.phone.wait_answered())
        state = volunteer.locator(".state-panel .state-name")
        expect(state).to_have_text("In gesprek")

        # From here on, any moment the offer is shown counts, not only the moments we look.
        volunteer.evaluate(
            """() => {
                const offer = document.querySelector('.chat-offer');
                window.chatOfferShown = !offer.hidden;
                new MutationObserver(() => { window.chatOfferShown ||= !offer.hidden; })
                    .observe(offer, { attributes: true });
            }"""
        )
        open_chat(child, "Chat met een vrijwilliger")
        # The chat waits two queue-notice intervals (5 s each) with the volunteer in the call,
        # and nothing is offered to them.
        wait_for_queue_notices(child)
        expect(child.locator(".position")).to_be_visible()
        expect(volunteer.locator(".chat-offer")).to_be_hidden()
        assert volunteer.evaluate("window.chatOfferShown") is False
        assert status(volunteer)["chats"] == []
        me = volunteer.evaluate("fetch('/api/v1/me').then((r) => r.json())")
        assert (me["agent"]["state"], me["agent"]["offer"]) == ("busy", None), me["agent"]
        shot(volunteer, "chat-in-call-not-offered")

        # A colleague free for chats gets it, and the child is answered.
        with workspace(browser, chat_app, page_errors, "vince") as colleague:
            make_ready(colleague, chat_app, "vince")
            offer = colleague.locator(".chat-offer")
            expect(offer).to_be_visible()
            offer.get_by_role("button", name="Chat aannemen").click()
            expect(child.locator(".msg-system")).to_have_text(
                re.compile("Er is een vrijwilliger voor je")
            )
            child_sends(child, "Hoi")
            theirs = colleague.get_by_role("tabpanel")
            expect(theirs.locator(".msg-child .msg-text")).to_have_text("Hoi")
            assert volunteer.evaluate("window.chatOfferShown") is False
            assert status(volunteer)["chats"] == []
            # The child stops; the colleague's chat and wrap-up end as they sign out.
            child.get_by_role("button", name="Chat stoppen").click()
            child.get_by_role("button", name="Ja, stoppen").click()
            expect(child.locator(".ended-text")).to_be_visible()

        # The call was never disturbed; the volunteer hangs up and wraps up (ended for them
        # as they sign out).
        expect(volunteer.locator(".call-panel")).to_have_attribute("data-call", "active")
        volunteer.get_by_role("button", name="Ophangen").click()
        caller.run(caller.phone.wait_ended())
        expect(state).to_have_text("Afronden")
        assert volunteer.evaluate("window.chatOfferShown") is False


def test_a_warm_hand_over_then_the_colleague_ends_and_blocks(
    child: Page, volunteer: Page, colleague: Page, chat_app: RunningHelpline
):
    # Kim is paused while the chat comes in, so it goes to Jet.
    _pause(colleague, chat_app, YOUNG_COLLEAGUE)
    open_chat(child)
    make_ready(volunteer, chat_app, YOUNG_VOLUNTEER)
    volunteer.get_by_role("button", name="Chat aannemen").click()
    expect(child.get_by_label("Jouw bericht")).to_be_visible()
    child_sends(child, "Kan iemand anders mij helpen?")
    panel = volunteer.get_by_role("tabpanel")
    expect(panel.locator(".msg-child .msg-text")).to_have_text("Kan iemand anders mij helpen?")

    # Jet hands the chat to Kim, with a note only Kim sees.
    make_ready(colleague, chat_app, YOUNG_COLLEAGUE)
    panel.get_by_role("button", name="Overdragen…").click()
    panel.get_by_label("Collega (gebruikersnaam)").fill(YOUNG_COLLEAGUE)
    panel.get_by_label("Notitie voor je collega").fill("Wil graag met iemand anders praten.")
    panel.get_by_role("button", name="Overdragen", exact=True).click()
    expect(panel.locator(".chat-ended-text")).to_have_text("Je hebt deze chat overgedragen.")
    theirs = colleague.get_by_role("tabpanel")
    expect(theirs.locator(".chat-note")).to_have_text(
        "Notitie van je collega: Wil graag met iemand anders praten."
    )
    expect(theirs.locator(".msg-child .msg-text")).to_have_text("Kan iemand anders mij helpen?")
    expect(colleague.get_by_role("tab", name=re.compile(r"Chat 1 \(jongere\)"))).to_be_visible()
    expect(theirs.get_by_label("Standaardtekst")).to_be_visible()
    expect(child.locator(".msg-system").last).to_have_text(re.compile("Een andere vrijwilliger"))
    expect(child.get_by_text("Wil graag met iemand anders praten.")).to_have_count(0)
    shot(colleague, "chat-workspace-handed-over")

    # Kim closes with a message and blocks: the child is told, and cannot come back with it.
    theirs.get_by_role("button", name="Chat beëindigen…").click()
    theirs.get_by_label("Afsluitend bericht (mag leeg)").fill("Ik sluit de chat nu af.")
    theirs.get_by_label("Blokkeren: deze chat was misbruik").check()
    theirs.get_by_role("button", name="Chat beëindigen", exact=True).click()
    expect(child.locator(".msg-volunteer .msg-text").last).to_have_text("Ik sluit de chat nu af.")
    expect(child.locator(".ended-text")).to_have_text("De vrijwilliger heeft de chat afgesloten.")
    expect(theirs.locator(".chat-ended-text")).to_have_text(re.compile("beëindigd"))
    assert child.evaluate("sessionStorage.getItem('helpline.chat')") is None


def test_a_volunteer_with_max_chats_gets_no_more(
    browser: Browser, volunteer: Page, colleague: Page, chat_app: RunningHelpline
):
    """Two chats as two tabs (``max_chats`` = 2, the default); a third child waits."""
    _pause(colleague, chat_app, YOUNG_COLLEAGUE)
    contexts = [new_context(browser, chat_app, PHONE) for _ in range(3)]
    children = [context.new_page() for context in contexts]
    try:
        make_ready(volunteer, chat_app, YOUNG_VOLUNTEER)
        for n, child in enumerate(children[:2], start=1):
            _open_chat_or_join(child)
            volunteer.get_by_role("button", name="Chat aannemen").click()
            expect(volunteer.get_by_role("tab", name=re.compile(f"Chat {n}"))).to_be_visible()
            expect(child.get_by_label("Jouw bericht")).to_be_visible()
        # The chat just accepted is shown; a message in the other marks its tab.
        first, second = volunteer.get_by_role("tab").all()
        expect(second).to_have_attribute("aria-selected", "true")
        child_sends(children[0], "Ik ben de eerste")
        expect(first).to_contain_text("1 nieuw")
        second.press("ArrowLeft")  # the tabs pattern: arrows move between tabs
        expect(first).to_be_focused()
        expect(first).to_have_attribute("aria-selected", "true")
        expect(first).not_to_contain_text("nieuw")
        expect(volunteer.get_by_role("tabpanel").locator(".msg-child .msg-text")).to_have_text(
            "Ik ben de eerste"
        )
        open_chat(children[2])
        wait_for_queue_notices(children[2])
        expect(volunteer.locator(".chat-offer")).to_be_hidden()
        assert status(volunteer)["agent"] == "busy"
        shot(volunteer, "chat-workspace-two-tabs")
    finally:
        for page in children:
            leave_chat(page)
        for context in contexts:
            context.close()


def _open_chat_or_join(child: Page) -> None:
    """Open a peer chat; with a ready volunteer it may be offered before the queue shows."""
    child.goto("/chat")
    child.get_by_role("button", name=re.compile("Chat met een jongere")).click()
    expect(child.locator(".view-talk")).to_be_visible()


def test_both_sides_resume_after_the_app_is_killed_mid_chat(
    child: Page, volunteer: Page, colleague: Page, chat_app: RunningHelpline
):
    _pause(colleague, chat_app, YOUNG_COLLEAGUE)
    open_chat(child)
    make_ready(volunteer, chat_app, YOUNG_VOLUNTEER)
    volunteer.get_by_role("button", name="Chat aannemen").click()
    panel = volunteer.get_by_role("tabpanel")
    child_sends(child, "Voor de storing")
    expect(panel.locator(".msg-child .msg-text")).to_have_text("Voor de storing")

    process = chat_app.process
    assert process is not None
    os.killpg(process.pid, signal.SIGKILL)  # no clean stop: no lease handed back, no goodbye
    process.wait()
    chat_app.process = None
    expect(child.locator(".link-note")).to_be_visible()
    chat_app.start()

    # Both pages come back by themselves, to the same conversation.
    expect(child.locator(".link-note")).to_be_hidden(timeout=30_000)
    expect(child.locator(".msg-child .msg-text").first).to_have_text("Voor de storing")
    child_sends(child, "Na de storing")
    expect(panel.locator(".msg-child .msg-text")).to_have_text(
        ["Voor de storing", "Na de storing"], timeout=30_000
    )
    panel.get_by_label("Bericht", exact=True).fill("Ik ben er nog.")
    panel.get_by_label("Bericht", exact=True).press("Enter")
    expect(child.locator(".msg-volunteer .msg-text")).to_have_text("Ik ben er nog.")
