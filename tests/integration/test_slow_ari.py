"""One slow Asterisk reply delays only its own child: effects run off the engine's writer.

A fault-injecting proxy (``tests.integration.ari_proxy``) sits between the app and the real
Asterisk and holds the reply to the first caller's ``answer`` for seconds. A second child who
calls meanwhile must still reach a volunteer's phone at once, and the first child must be
served too once the reply comes.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.app_harness import running_app
from tests.integration.ari_proxy import AriProxy
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

HELD_S = 4.0


async def test_a_held_ari_reply_for_one_child_does_not_delay_another(asterisk, tmp_path):
    upstream = asterisk.ari.base_url.removesuffix("/ari")
    async with AriProxy(upstream) as proxy:
        async with running_app(asterisk, tmp_path, ari_url=proxy.base_url) as run:
            async with (
                VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.3)) as first,
                VolunteerPhone.of(asterisk, "test-udp-2", mode=AutoAnswer(0.3)) as second,
            ):
                await first.registered()
                await second.registered()
                await run.login_ready("test-udp-1")
                await run.login_ready("test-udp-2")
                held = proxy.delay("POST", r"^/ari/channels/[^/]+/answer$", HELD_S)
                async with CallerPhone("116111") as child_a, CallerPhone("116111") as child_b:
                    await child_a.dial()
                    await first.wait_incoming(timeout_s=5)
                    await _wait(lambda: held.applied == 1)  # A's answer is being held now
                    started = time.monotonic()
                    await child_b.dial()
                    await second.wait_incoming(timeout_s=HELD_S)
                    b_rang_after = time.monotonic() - started
                    # The old writer awaited A's answer first: B rang only after HELD_S.
                    assert b_rang_after < 1.5, f"B's phone rang {b_rang_after:.2f}s late"
                    assert held.applied == 1
                    await child_b.wait_answered(timeout_s=5)
                    await child_a.wait_answered(timeout_s=HELD_S + 5)
                    await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                    await run.wait_for(lambda: run.state("test-udp-2") == "busy")
                    await child_a.hangup()
                    await child_b.hangup()
                await run.records_written(2)


async def _wait(condition, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)
