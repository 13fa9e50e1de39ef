"""Browser tests: Debian's Chromium, headless, driven by Playwright, against the real app.

``helpline`` runs ``helpline run`` (the composition root, exactly what ``make up`` starts) as a
subprocess on a free port, on the session's real Asterisk (the integration tests' ``asterisk``
fixture, shared: one Asterisk per session), the test Redis under a prefix of its own and an
SQLite file. Demo volunteers ``anna``, ``bram``, ``sanne``, ``tess`` and ``uma`` (location
utrecht) sign in with ``PASSWORD``; tests that change a volunteer's state use one of their
own. The page is the built bundle (``make build-softphone``; ``make test`` builds it first).

Chromium is ``/usr/bin/chromium`` (``make test`` installs Debian's package; Playwright's own
browser downloads are never used), launched with fake media devices and no sandbox (root).
``page`` is a fresh context per test at 1366x768, Dutch locale, microphone allowed.

Hooks for the call tests (a pjsua2 caller -> the browser answers -> ``getStats()``): the phones
in ``tests.integration.phones`` are asyncio, so such a test is ``async def`` and drives its own
browser with ``async_playwright()`` and :func:`launch_options` (the same Chromium and flags);
``sign_in`` has an async twin, :func:`sign_in_async`. In the page, ``window.helplineSoftphone``
gives ``status()`` (signed in, live bus, SIP registration, call and agent state) and
``audioStats()`` (inbound/outbound RTP packet counts: numbers only). Screenshots go through
:func:`shot` into ``test-artifacts/screenshots/`` (gitignored; the README links them).

For the chat tests: ``chat_app`` (the app, serving the chat) and ``child`` (the child's own
phone-sized browser, whose open chat is ended afterwards). Steps several modules share (a
workspace signed in, made ready, signed out; the async tests' Chromium, page and counters) are
in :mod:`tests.browser.pages`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from config.chat import ChatSection
from tests.integration import conftest as integration
from tests.integration.audio import VOLUNTEER_TONE_HZ, tone_wav
from tests.integration.conftest import TEST_CONFIG, AsteriskUnderTest

# The session's one Asterisk, shared with the integration tests (see its docstring there).
asterisk = integration.asterisk

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--use-fake-ui-for-media-stream",  # allow the microphone without a prompt
    "--use-fake-device-for-media-stream",  # a synthetic microphone...
    # ...that plays the volunteer's test tone (880 Hz), so a caller can tell it apart.
    f"--use-file-for-fake-audio-capture={tone_wav(VOLUNTEER_TONE_HZ)}",
    "--allow-loopback-in-peer-connection",  # ICE to Asterisk on 127.0.0.1
    "--autoplay-policy=no-user-gesture-required",  # the ring and the child's voice play
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "softphone" / "web" / "node_modules" / "axe-core" / "axe.min.js"
BUNDLE = ROOT / "softphone" / "static" / "index.html"
PASSWORD = "browser-test-password"
VOLUNTEERS = ("anna", "bram", "sanne", "tess", "uma", "probe", "vince")
SUPERVISOR = "sofie"
"""A supervisor account (role = "supervisor"): reports, the wallboard, whatever only staff see."""
UDP_PHONE = "test-udp-1"
"""A volunteer whose UDP phone (pjsua2, ``tests.integration.phones.VolunteerPhone``) the
session's Asterisk has an endpoint for, with its static test secret."""
YOUNG_VOLUNTEER = "jet"
"""A young volunteer (16-19) with the ``peer_chat`` skill: the only ones a peer chat is
offered to, so the chat tests do not depend on who other tests left ready."""
YOUNG_COLLEAGUE = "kim"
"""A second young volunteer: the colleague a peer chat is handed over to."""
BROWSER_PHONE = "test-web-1"
"""The volunteer whose browser phone the session's Asterisk has an endpoint for (rendered by
the ``asterisk`` fixture from ``TEST_VOLUNTEERS``): the one the call tests sign in as."""
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 360, "height": 640}
"""The child's phone (the chat page is built for it)."""
TEST_CHAT: dict[str, Any] = tomllib.loads(TEST_CONFIG.format(root="/unused")).get("chat", {})
"""The test config's ``[chat]`` table; a setting it leaves out has ``ChatSection``'s default."""


def chat_setting(name: str) -> Any:
    """The test app's ``[chat] name``: the test config's, else the configuration's default."""
    return TEST_CHAT.get(name, ChatSection.model_fields[name].default)


QUICK_EXIT_URL = str(chat_setting("quick_exit_url"))
"""Where the chat page's quick exit goes: answered by the tests themselves (:func:`new_context`),
nothing leaves the machine."""
STARTUP_S = 60.0


def launch_options() -> dict[str, Any]:
    """How every test starts Chromium (sync or async Playwright)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    return {"executable_path": str(CHROMIUM), "args": LAUNCH_ARGS, "headless": True}


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """A screenshot kept as a test artifact (``test-artifacts/screenshots/<name>.png``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@dataclass
class RunningHelpline:
    """The app under test, started as ``helpline run`` would be."""

    base_url: str
    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None
    redis_prefix: str
    passwords: dict[str, str] = field(default_factory=dict)

    def api(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One API request from outside the browser: (status, JSON body, headers)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                raw, status, headers = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, headers = exc.read(), exc.code, dict(exc.headers)
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return status, parsed if isinstance(parsed, dict) else {"body": parsed}, headers

    def start(self) -> None:
        """Start ``helpline run`` and wait until it is ready (connected to Asterisk)."""
        env = {**os.environ, "HELPLINE_ARGON2_PROFILE": "test"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "helpline.cli", "-c", str(self.config_path), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
        port = int(self.base_url.rsplit(":", 1)[1])
        deadline = time.monotonic() + STARTUP_S
        while not (_listening(port) and self.api("GET", "/healthz")[0] == 200):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"helpline run did not become ready:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM (a clean stop: it hands the lease back), SIGKILL after 15 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(asterisk: AsteriskUnderTest, tmp: Path, port: int, prefix: str, extra: str = "") -> str:
    volunteers = "".join(
        f'\n[[volunteers]]\nid = "{vid}"\nname = "{vid.title()}"\nlocation = "utrecht"\n'
        f'password = "{PASSWORD}"\nlanguages = ["nl", "en"]\n'
        for vid in VOLUNTEERS
    )
    volunteers += (
        f'\n[[volunteers]]\nid = "{SUPERVISOR}"\nname = "Sofie"\nlocation = "utrecht"\n'
        f'password = "{PASSWORD}"\nlanguages = ["nl", "en"]\nrole = "supervisor"\n'
    )
    # The session's Asterisk has a browser endpoint for this account (TEST_VOLUNTEERS).
    volunteers += (
        f'\n[[volunteers]]\nid = "{BROWSER_PHONE}"\nname = "Webbe"\nlocation = "utrecht"\n'
        f'password = "{PASSWORD}"\nlanguages = ["nl", "en"]\nphone = "webrtc"\n'
    )
    volunteers += (
        f'\n[[volunteers]]\nid = "{UDP_PHONE}"\nname = "Udo"\nlocation = "utrecht"\n'
        f'password = "{PASSWORD}"\nlanguages = ["nl", "en"]\nskills = ["phone"]\nphone = "sip"\n'
    )
    for young in (YOUNG_VOLUNTEER, YOUNG_COLLEAGUE):
        volunteers += (
            f'\n[[volunteers]]\nid = "{young}"\nname = "{young.title()}"\nlocation = "utrecht"\n'
            f'password = "{PASSWORD}"\nlanguages = ["nl", "en"]\nskills = ["chat", "peer_chat"]\n'
            "young = true\n"
        )
    # Top-level keys come before the first table in TOML.
    return (
        f'log_dir = "{tmp / "log"}"\n'
        + TEST_CONFIG.format(root=asterisk.cfg.asterisk.root)
        + f"""
[http]
host = "127.0.0.1"
port = {port}

[database]
url = "sqlite:///{tmp / "helpline.db"}"

[redis]
url = "redis://127.0.0.1:6379/0"
prefix = "{prefix}"
"""
        + volunteers
        + extra
    )


@pytest.fixture(scope="package")
def helpline(
    asterisk: AsteriskUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHelpline]:
    if not BUNDLE.is_file():
        pytest.fail("the workspace is not built: run `make build-softphone` (make test does)")
    tmp = tmp_path_factory.mktemp("helpline-browser")
    port = _free_port()
    prefix = f"helpline-browser-{uuid.uuid4().hex[:8]}:"
    config = tmp / "helpline.toml"
    config.write_text(_config(asterisk, tmp, port, prefix))
    app = RunningHelpline(
        f"http://127.0.0.1:{port}",
        config,
        tmp / "app.log",
        None,
        prefix,
        {vid: PASSWORD for vid in (*VOLUNTEERS, SUPERVISOR)},
    )
    try:
        app.start()
        yield app
    finally:
        app.stop()
        client = redis.Redis(host="127.0.0.1", port=6379)
        try:
            keys = list(client.scan_iter(match=prefix.rstrip(":") + "*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
        shutil.rmtree(tmp / "log", ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def browser() -> Iterator[Browser]:
    # One browser per test: the sync API's event loop is closed again before any asyncio test
    # of the session runs.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**launch_options())
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageErrors:
    """What went wrong inside the page: uncaught exceptions always fail the test."""

    uncaught: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, helpline: RunningHelpline, page_errors: PageErrors) -> Iterator[Page]:
    context = browser.new_context(
        base_url=helpline.base_url,
        viewport=DESKTOP,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        permissions=["microphone"],
        bypass_csp=True,  # only so that a test can inject axe-core; the page needs none
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.uncaught.append(str(exc)))
    page.on(
        "console",
        lambda msg: page_errors.console.append(msg.text) if msg.type == "error" else None,
    )
    try:
        yield page
    finally:
        context.close()
    assert page_errors.uncaught == [], page_errors.uncaught


def new_context(
    browser: Browser, helpline: RunningHelpline, viewport: dict[str, int]
) -> BrowserContext:
    """A browser of its own (no cookies shared), Dutch, for a child or a second volunteer."""
    context = browser.new_context(
        base_url=helpline.base_url,
        viewport=viewport,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        bypass_csp=True,  # only so that a test can inject axe-core
    )
    context.set_default_timeout(10_000)
    # The quick exit's neutral site, answered here: the tests reach nothing outside.
    context.route(
        QUICK_EXIT_URL + "**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<title>x</title>"),
    )
    return context


@pytest.fixture
def chat_app(helpline: RunningHelpline) -> RunningHelpline:
    """The app, serving the chat."""
    code, body, _ = helpline.api("GET", "/api/v1/chat/status")
    assert code == 200, (code, body)
    return helpline


@pytest.fixture
def child(browser: Browser, chat_app: RunningHelpline, page_errors: PageErrors) -> Iterator[Page]:
    """The child's browser: a phone-sized context of its own (no cookies, no volunteer). A chat
    it leaves open is ended with it."""
    context = new_context(browser, chat_app, PHONE)
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.uncaught.append(f"child: {exc}"))
    try:
        yield page
    finally:
        leave_chat(page)
        context.close()
    assert page_errors.uncaught == [], page_errors.uncaught


def leave_chat(child: Page) -> None:
    """The child ends a chat still open (Escape: the quick exit), so that no other test's
    volunteer is offered it."""
    try:
        if child.evaluate("window.helplineChat?.status().phase") in ("waiting", "talking"):
            child.keyboard.press("Escape")
            child.wait_for_url(QUICK_EXIT_URL)
    except PlaywrightError:
        pass  # the page is gone already: its chat ends after the grace period


def sign_in(page: Page, volunteer_id: str, password: str = PASSWORD) -> None:
    """Fill and send the sign-in form (the page must show it)."""
    page.get_by_label("Gebruikersnaam").fill(volunteer_id)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Aanmelden", exact=True).click()


async def sign_in_async(page: Any, volunteer_id: str, password: str = PASSWORD) -> None:
    """:func:`sign_in` for ``async_playwright`` pages."""
    await page.get_by_label("Gebruikersnaam").fill(volunteer_id)
    await page.get_by_label("Wachtwoord").fill(password)
    await page.get_by_role("button", name="Aanmelden", exact=True).click()


def status(page: Page) -> dict[str, Any]:
    """``window.helplineSoftphone.status()``: signedIn, live, sip, call, agent."""
    result: dict[str, Any] = page.evaluate("window.helplineSoftphone.status()")
    return result


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """axe-core (from the npm lockfile) run on the page as it is: violations of ``impacts``."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: `make build-softphone` installs it")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result
        if v["impact"] in impacts
    ]
