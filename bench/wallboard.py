"""How long a change takes to reach the supervisors' wallboard in a browser.

The whole path is the real one: ``helpline run`` as a subprocess (as ``make up`` starts it) on
the browser tests' Asterisk and configuration, the wallboard page (``/wallboard``) in Debian's
Chromium (headless, Playwright), signed in as a supervisor and fed by the live bus. The event
is a volunteer's state change made through the API as the workspace makes it (``POST
/api/v1/me/pause`` and ``/ready`` in turn, a bearer session): the engine's writer applies it to
the ACD, the live view recomputes the board, the hub sends the queue delta, the page takes it.

Both marks are read from the one machine clock: the bench's ``time.time()`` just before the
request is sent, and the page's ``Date.now()`` when it took the board that shows the change
(``window.helplineWallboard.receivedAt()``). The HTTP round trip of the request itself is part
of the figure (the event "happens" when the volunteer presses the button). The bench holds the
integration tests' Asterisk lock for its whole run.

    python bench/wallboard.py [--changes 200]

Prints ``wallboard_update_p50_ms``, ``wallboard_update_p99_ms`` (target < 1000),
``wallboard_update_max_ms`` and ``wallboard_updates``. Needs root (the chrooted Asterisk),
Redis on 6379, ``make build-softphone`` and Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

from playwright.async_api import async_playwright  # noqa: E402

from bench.browser_app import running_app  # noqa: E402
from bench.browser_ring import percentile  # noqa: E402
from tests.browser.conftest import (  # noqa: E402
    PASSWORD,
    SUPERVISOR,
    RunningHelpline,
    launch_options,
    sign_in_async,
)

VOLUNTEER = "probe"
TIMEOUT_S = 10.0


async def _board(page: Any) -> tuple[dict[str, Any] | None, float | None]:
    board, at = await page.evaluate(
        "[window.helplineWallboard.board(), window.helplineWallboard.receivedAt()]"
    )
    return board, at


async def measure(app: RunningHelpline, changes: int) -> list[float]:
    """``changes`` pause/ready changes, each awaited on the page: delays in ms."""
    delays: list[float] = []
    status, body, _ = await asyncio.to_thread(
        app.api, "POST", "/api/v1/session", {"volunteer_id": VOLUNTEER, "password": PASSWORD}
    )
    if status != 201:
        raise RuntimeError(f"the volunteer could not sign in: {status} {body}")
    token = body["token"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        try:
            page = await (await browser.new_context(base_url=app.base_url)).new_page()
            await page.goto("/wallboard")
            await sign_in_async(page, SUPERVISOR, PASSWORD)
            await page.locator('tr[data-row="waiting"]').wait_for()
            while (await _board(page))[0] is None:  # the first snapshot
                await asyncio.sleep(0.01)
            for i in range(changes):
                ready = i % 2 == 0
                path = "/api/v1/me/ready" if ready else "/api/v1/me/pause"
                payload: dict[str, str] = {} if ready else {"reason": "break"}
                before, _ = await _board(page)
                assert before is not None
                want = before["agents"]["available"] + (1 if ready else -1)
                sent = time.time()
                status, body, _ = await asyncio.to_thread(app.api, "POST", path, payload, token)
                if status != 200:
                    raise RuntimeError(f"{path}: {status} {body}")
                deadline = time.monotonic() + TIMEOUT_S
                while True:
                    board, at = await _board(page)
                    if (
                        board is not None
                        and at is not None
                        and board["agents"]["available"] == want
                    ):
                        delays.append(at - sent * 1000.0)
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"change {i} never reached the page")
                    await asyncio.sleep(0.002)
        finally:
            await browser.close()
            await asyncio.to_thread(app.api, "DELETE", "/api/v1/session", None, token)
    return delays


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args(argv)
    with running_app("wallboard") as app:
        delays = asyncio.run(measure(app, args.changes))
    print(f"wallboard_updates={len(delays)}")
    print(f"wallboard_update_p50_ms={percentile(delays, 50):.1f}")
    print(f"wallboard_update_p99_ms={percentile(delays, 99):.1f}")
    print(f"wallboard_update_max_ms={max(delays):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
