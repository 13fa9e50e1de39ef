"""Steps the browser tests share: a volunteer's workspace signed in and connected, made ready
(or signed out again through the API), a child's first steps in the chat page, a pjsua2
caller a sync test can drive (:func:`sync_caller`: the phone's asyncio in a thread), and for the
``async def`` call tests (``async_playwright``, beside the asyncio pjsua2 phones) the same
page opened, its status and audio counters read, axe-core run and screenshots kept.

Fixtures and the browser set-up stay in ``conftest.py``; each test module keeps its own steps.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from playwright.async_api import Browser as AsyncBrowser
from playwright.async_api import Page as AsyncPage
from playwright.async_api import async_playwright
from playwright.async_api import expect as async_expect
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    AXE,
    BROWSER_PHONE,
    DESKTOP,
    PASSWORD,
    SCREENSHOTS,
    PageErrors,
    RunningHelpline,
    chat_setting,
    launch_options,
    new_context,
    sign_in,
    sign_in_async,
    status,
)
from tests.integration.phones import CallerPhone
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER

T = TypeVar("T")


def no_identity(html: str) -> None:
    """The caller sent a number and a name; neither may reach the page in any form."""
    assert SECRET_CALLER_NUMBER not in html and SECRET_CALLER_NAME not in html
    assert SECRET_CALLER_NUMBER[1:] not in html  # nor without its leading 0


# -- the API around a test -----------------------------------------------------------------


def login_ready(helpline: RunningHelpline, volunteer_id: str) -> str:
    """Sign in through the API and make ready (a volunteer with a pjsua2 phone, no browser):
    the session's token, for the test to sign out with."""
    code, body, _ = helpline.api(
        "POST", "/api/v1/session", {"volunteer_id": volunteer_id, "password": PASSWORD}
    )
    assert code == 201, body
    token: str = body["token"]
    code, body, _ = helpline.api("POST", "/api/v1/me/ready", {}, token=token)
    assert code == 200, body
    return token


def sign_out(helpline: RunningHelpline, volunteer_id: str) -> None:
    """Out of the ACD, so that the next test (this module's or another's: the wallboard counts
    every volunteer) starts clean: their chats ended, their wrap-up ended, then logged out."""
    code, body, _ = helpline.api(
        "POST", "/api/v1/session", {"volunteer_id": volunteer_id, "password": PASSWORD}
    )
    if code != 201:
        return
    token = body["token"]
    _, held, _ = helpline.api("GET", "/api/v1/me/chats", token=token)
    for chat in held.get("chats", []):
        helpline.api("POST", f"/api/v1/me/chats/{chat['id']}/end", {"block": False}, token=token)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the engine finishes the chats, then the wrap-up
        agent = helpline.api("GET", "/api/v1/me", token=token)[1].get("agent") or {}
        if agent.get("state") == "wrap_up":
            helpline.api("POST", "/api/v1/me/wrap-up/end", {}, token=token)
        elif agent.get("state") != "busy":
            break
        time.sleep(0.05)
    helpline.api("DELETE", "/api/v1/session", token=token)


# -- sync pages (the chat tests) -------------------------------------------------------------


@contextmanager
def workspace(
    browser: Browser, helpline: RunningHelpline, errors: PageErrors, volunteer_id: str
) -> Iterator[Page]:
    """A volunteer's workspace in a browser of its own, signed in with the live bus connected;
    afterwards closed, and the volunteer signed out (:func:`sign_out`)."""
    context = new_context(browser, helpline, DESKTOP)
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.uncaught.append(f"{volunteer_id}: {exc}"))
        page.goto("/")
        sign_in(page, volunteer_id)
        expect(page.locator(".state-panel")).to_be_visible()
        expect(page.locator(".conn .pill").first).to_have_text(re.compile("verbonden"))
        yield page
    finally:
        context.close()
        sign_out(helpline, volunteer_id)


def make_ready(page: Page, helpline: RunningHelpline, volunteer_id: str) -> None:
    """Ready for contacts; a wrap-up left by an earlier test is ended first (through the API,
    with a second session of the same volunteer: it keeps their ACD state)."""
    state = page.locator(".state-panel .state-name")
    if status(page)["agent"] == "wrap_up":
        code, body, _ = helpline.api(
            "POST", "/api/v1/session", {"volunteer_id": volunteer_id, "password": PASSWORD}
        )
        assert code == 201, (code, body)
        code, body, _ = helpline.api("POST", "/api/v1/me/wrap-up/end", {}, token=body["token"])
        assert code in (200, 201, 204, 409), (code, body)
        expect(state).not_to_have_text("Afronden")
    if status(page)["agent"] not in ("available", "offered"):
        page.locator(".state-panel .btn-big").click()
    # Ready, or already offered the chat that waits.
    expect(state).to_have_text(re.compile("Klaar voor gesprekken|Er komt een gesprek binnen"))


def open_chat(child: Page, kind: str = "Chat met een jongere") -> None:
    """The child opens a chat of ``kind`` and waits, with its place in the queue."""
    child.goto("/chat")
    child.get_by_role("button", name=re.compile(kind)).click()
    expect(child.locator(".position")).to_have_text(
        re.compile(r"Jij bent (de volgende|nummer \d+)")
    )


QUEUE_NOTICE_S = float(chat_setting("queue_notice_s"))


def wait_for_queue_notices(child: Page, count: int = 2) -> None:
    """Wait until the child's page has heard its place in the queue ``count`` times: the
    chat waited that many notice intervals. The notice at opening goes out before the page's
    socket is open (the page shows that place from the socket's first frame), so the page
    counts the notices from ``queue_notice_s`` on: the n-th comes about n intervals after the
    chat opened, later when the machine is busy. Hence the timeout of n + 2 intervals."""
    child.wait_for_function(
        f"window.helplineChat.status().queueNotices >= {count}",
        timeout=(count + 2) * QUEUE_NOTICE_S * 1000,
    )


def child_sends(child: Page, text: str) -> None:
    child.get_by_label("Jouw bericht").fill(text)
    child.get_by_role("button", name="Versturen", exact=True).click()


class SyncCaller:
    """A pjsua2 :class:`~tests.integration.phones.CallerPhone` for a sync Playwright test: the
    phone is asyncio, and the sync API's own event loop runs in the test's thread, so the phone
    gets a loop in a thread of its own; each step waits for its answer there."""

    def __init__(self, loop: asyncio.AbstractEventLoop, phone: CallerPhone) -> None:
        self._loop = loop
        self.phone = phone

    def run(self, step: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        """One step of the phone (``caller.run(caller.phone.wait_answered())``), waited for."""
        return asyncio.run_coroutine_threadsafe(step, self._loop).result(timeout_s)


@contextmanager
def sync_caller(number: str = "116111") -> Iterator[SyncCaller]:
    """A caller on the carrier side dialling ``number`` (not yet: ``run(phone.dial())``),
    hung up and its agent process ended afterwards, whatever happened."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="caller-phone", daemon=True)
    thread.start()
    phone = CallerPhone(number)
    caller = SyncCaller(loop, phone)
    try:
        caller.run(phone.start())
        yield caller
    finally:
        try:
            caller.run(phone.close())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


# -- async pages (the call tests) ------------------------------------------------------------


@asynccontextmanager
async def chromium() -> AsyncIterator[AsyncBrowser]:
    """The tests' Chromium (:func:`tests.browser.conftest.launch_options`) for an ``async def``
    test, closed afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        try:
            yield browser
        finally:
            await browser.close()


async def desktop_page(
    browser: AsyncBrowser, helpline: RunningHelpline, *, microphone: bool = True
) -> AsyncPage:
    """A page in a context of its own at 1366x768, Dutch, Amsterdam time."""
    context = await browser.new_context(
        base_url=helpline.base_url,
        viewport=DESKTOP,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        permissions=["microphone"] if microphone else [],
        bypass_csp=True,  # only so that axe-core can be injected
    )
    return await context.new_page()


async def sign_in_with_phone(page: AsyncPage, volunteer_id: str = BROWSER_PHONE) -> None:
    """Sign in at ``/`` as the volunteer with the browser phone, until the phone is ready."""
    await page.goto("/")
    await sign_in_async(page, volunteer_id)
    sip = page.locator(".conn .pill").nth(1)
    await async_expect(sip).to_have_text(re.compile("klaar"), timeout=15_000)


async def status_async(page: AsyncPage) -> dict[str, Any]:
    """``window.helplineSoftphone.status()``: signedIn, live, sip, call, agent."""
    result: dict[str, Any] = await page.evaluate("window.helplineSoftphone.status()")
    return result


async def inbound_packets(page: AsyncPage) -> int:
    """RTP packets the browser received (``window.helplineSoftphone.audioStats()``)."""
    stats = await page.evaluate("window.helplineSoftphone.audioStats()")
    return int(stats["inboundPackets"])


async def wait_for(
    page: AsyncPage, check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 15.0
) -> None:
    """Until ``check()`` holds; on time-out the page's status says where it got stuck."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {await status_async(page)}")
        await asyncio.sleep(0.1)


async def axe_clean(page: AsyncPage) -> None:
    """No serious or critical axe-core violation in the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("async () => (await axe.run(document)).violations")
    serious = [(v["id"], v["help"]) for v in found if v["impact"] in ("serious", "critical")]
    assert serious == []


async def shot_async(page: AsyncPage, name: str, *, full_page: bool = False) -> None:
    """:func:`tests.browser.conftest.shot` for ``async_playwright`` pages."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
