"""The set-up's own way to place a call reaches the browser: ``helpline simulate
--callers-only`` (what ``make up`` prints for a first try) dials 116111 from the carrier's side
with sipp, offering G.711 A-law only as many carriers do, and the volunteer takes the call in the
page with nothing else installed.

The call tests use a pjsua2 caller; this one is the sipp carrier scenario, through the CLI, so a
codec or timing the CLI brings cannot break the first call a new helpline makes.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ROOT, RunningHelpline
from tests.browser.pages import chromium, desktop_page, sign_in_with_phone

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

HOLD_S = 12
"""How long the simulated child stays on the line after our answer (the wait included)."""


async def test_a_call_from_helpline_simulate_is_taken_in_the_browser(
    helpline: RunningHelpline,
):
    async with chromium() as browser:
        page = await desktop_page(browser, helpline)
        await sign_in_with_phone(page)
        state = page.locator(".state-panel .state-name")
        await expect(state).not_to_have_text("")
        await _ready(page)

        simulate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "helpline.cli", "-c", str(helpline.config_path),
            "simulate", "--callers-only", "--calls", "1", "--hold", f"{HOLD_S},{HOLD_S}",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            call = page.locator(".call-panel")
            await expect(call).to_have_attribute("data-call", "ringing", timeout=20_000)
            await page.get_by_role("button", name="Opnemen").click()
            await expect(call).to_have_attribute("data-call", "active", timeout=10_000)
            await expect(state).to_have_text("In gesprek")
            # The child hangs up at the end of its hold time: the volunteer goes to wrap-up.
            await expect(state).to_have_text("Afronden", timeout=(HOLD_S + 10) * 1000)
            output, _ = await asyncio.wait_for(simulate.communicate(), timeout=60)
        finally:
            if simulate.returncode is None:
                simulate.kill()
                await simulate.wait()
        await _ready(page)  # out of wrap-up: the next test finds nobody wrapping up
        text = output.decode(errors="replace")
        assert simulate.returncode == 0, text
        assert "done   1  failed   0" in text, text


async def _ready(page: Page) -> None:
    """Make the volunteer ready, from wherever they are: in wrap-up the big control pauses
    first, then makes ready."""
    state = page.locator(".state-panel .state-name")
    await expect(state).not_to_have_text("")
    for _ in range(3):
        if await state.text_content() == "Klaar voor gesprekken":
            break
        before = await state.text_content()
        await page.locator(".state-panel .btn-big").click()
        await expect(state).not_to_have_text(before or "")
    await expect(state).to_have_text("Klaar voor gesprekken")
