"""How long a child waits for the browser to ring: from the caller's INVITE to the volunteer's
page receiving its INVITE (JsSIP's new session, when the page starts ringing).

The whole path is the real one: a pjsua2 caller on the carrier's address dials 116111; Asterisk
22, our Stasis app and ACD (``helpline run`` as a subprocess, exactly as ``make up`` starts it),
the app's ``/sip`` WebSocket proxy and the page in Debian's Chromium (headless, Playwright),
signed in as a browser-phone volunteer and ready. Each call is hung up by the caller as soon as
the page rings, so the volunteer is free again for the next one (no wrap-up).

Both marks are read from the one machine clock: the bench's ``time.time()`` just before the
caller's INVITE is sent, and the page's ``Date.now()`` when the INVITE reached it
(``window.helplineSoftphone.status().lastRingAt``). The test Asterisk and its configuration are
the browser tests' (``tests/browser/conftest.py``): the bench holds the integration tests'
Asterisk lock for its whole run, so it never runs beside a test session.

    python bench/browser_ring.py [--calls 30]

Prints ``browser_ring_ms_p50``, ``browser_ring_ms_p99``, ``browser_ring_ms_max``,
``browser_ring_calls`` and ``browser_ring_lost`` (calls that never rang in the page). Needs root
(the chrooted Asterisk), Redis on 6379, ``make build-softphone`` and Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

from playwright.async_api import async_playwright  # noqa: E402

from bench.browser_app import running_app  # noqa: E402
from tests.browser.conftest import (  # noqa: E402
    BROWSER_PHONE,
    PASSWORD,
    RunningHelpline,
    launch_options,
    sign_in_async,
)
from tests.integration.phones import CallerPhone  # noqa: E402

RING_TIMEOUT_S = 20.0
SETTLE_S = 0.3
"""Pause between calls: the volunteer is offered nothing while the last call is cleared."""


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


async def _status(page: Any) -> dict[str, Any]:
    status: dict[str, Any] = await page.evaluate("window.helplineSoftphone.status()")
    return status


async def measure(app: RunningHelpline, calls: int) -> tuple[list[float], int]:
    """Sign in, go ready, then ``calls`` calls one after another: (ring times in ms, lost)."""
    rings: list[float] = []
    lost = 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        try:
            context = await browser.new_context(
                base_url=app.base_url, permissions=["microphone"], locale="nl-NL"
            )
            page = await context.new_page()
            await page.goto("/")
            await sign_in_async(page, BROWSER_PHONE, PASSWORD)
            await _until(page, lambda s: s["sip"] == "registered", "the browser phone to register")
            big = page.locator(".state-panel .btn-big")
            await big.wait_for()
            if (await _status(page))["agent"] != "available":
                await big.click()
            await _until(page, lambda s: s["agent"] == "available", "the volunteer to be ready")
            for _ in range(calls):
                before = (await _status(page))["lastRingAt"]
                async with CallerPhone("116111") as caller:
                    sent = time.time()
                    await caller.dial()
                    try:
                        status = await _until(
                            page,
                            lambda s, before=before: s["lastRingAt"] not in (None, before),
                            "the page to ring",
                            RING_TIMEOUT_S,
                        )
                        rings.append(float(status["lastRingAt"]) - sent * 1000.0)
                    except TimeoutError:
                        lost += 1
                    await caller.hangup()
                await _until(
                    page,
                    lambda s: s["agent"] == "available" and s["call"] != "ringing",
                    "the volunteer to be free again",
                )
                await asyncio.sleep(SETTLE_S)
        finally:
            await browser.close()
    return rings, lost


async def _until(
    page: Any, check: Callable[[dict[str, Any]], bool], what: str, timeout_s: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        status = await _status(page)
        if check(status):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}: {status}")
        await asyncio.sleep(0.005)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args(argv)
    with running_app("ring") as app:
        rings, lost = asyncio.run(measure(app, args.calls))
    if not rings:
        print(f"error: no call rang in the browser ({lost} lost)", file=sys.stderr)
        return 1
    print(f"browser_ring_calls={len(rings)}")
    print(f"browser_ring_lost={lost}")
    print(f"browser_ring_ms_p50={percentile(rings, 50):.1f}")
    print(f"browser_ring_ms_p99={percentile(rings, 99):.1f}")
    print(f"browser_ring_ms_max={max(rings):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
