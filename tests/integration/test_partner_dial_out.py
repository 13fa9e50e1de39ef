"""Dialling a partner out through the carrier: the partner sees the helpline and nothing else.

A sipp UAS answers on the carrier address (127.0.0.2:5060, the test config's default
``dial_out_uri``), as a partner's phone is reached through the carrier. The child calls in from
the carrier with a recognisable number and name in every identity header; the partner is then
originated the way the ARI effector does it, linked to the child's channel.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from dialplan.partners import partner_caller_id, partner_endpoint
from tests.integration.app_harness import running_app
from tests.integration.sipp import (
    SECRET_CALLER_NAME,
    SECRET_CALLER_NUMBER,
    SECRET_DIVERSION_NUMBER,
    sip_requests,
    start_carrier_call,
    start_partner,
)

pytestmark = pytest.mark.integration

SECRETS = (SECRET_CALLER_NUMBER, SECRET_CALLER_NAME, SECRET_DIVERSION_NUMBER)
IDENTITY_HEADERS = (
    "p-asserted-identity",
    "p-preferred-identity",
    "remote-party-id",
    "diversion",
    "history-info",
)


@dataclass
class Ari:
    """Our ARI app's event websocket (subscribeAll) and an HTTP session to call ARI with."""

    events: asyncio.Queue[dict[str, Any]]
    http: aiohttp.ClientSession
    base: str

    async def next(self, kind: str, timeout_s: float = 15.0, **match: str) -> dict[str, Any]:
        while True:
            event = await asyncio.wait_for(self.events.get(), timeout_s)
            if event.get("type") != kind:
                continue
            channel = event.get("channel", {})
            if all(channel.get(k) == v for k, v in match.items()):
                return event


@pytest.fixture
async def ari(asterisk) -> AsyncIterator[Ari]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    access = asterisk.ari
    token = base64.b64encode(f"{access.user}:{access.password}".encode()).decode()
    ws_url = access.base_url.replace("http://", "ws://") + "/events"
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http:
        async with http.ws_connect(
            ws_url, params={"app": asterisk.app, "subscribeAll": "true"}
        ) as ws:

            async def pump() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        queue.put_nowait(json.loads(msg.data))

            task = asyncio.create_task(pump())
            try:
                yield Ari(queue, http, access.base_url)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def _child_in_stasis(ari: Ari, asterisk):
    """A child's carrier call (with a secret identity in every header) answered in Stasis."""
    call = await start_carrier_call("116111", asterisk=asterisk.sip_address)
    start = await ari.next("StasisStart")
    child = start["channel"]["id"]
    async with ari.http.post(f"{ari.base}/channels/{child}/answer") as resp:
        assert resp.status == 204
    return call, child


async def _originate_partner(
    ari: Ari, asterisk, number: str, originator: str | None, *, caller_id: bool = True
) -> str:
    """The originate the effector makes for a partner's leg (see dialplan.partners)."""
    params = {
        "endpoint": partner_endpoint(number),
        "app": asterisk.app,
        "appArgs": "partner,test",
        "timeout": "10",
    }
    if caller_id:
        params["callerId"] = partner_caller_id(asterisk.cfg)
    if originator is not None:
        params["originator"] = originator
    async with ari.http.post(f"{ari.base}/channels", params=params) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["id"])


def _header(block: str, name: str) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in block.splitlines()[1:]
        if line.split(":", 1)[0].strip().lower() == name
    ]


@pytest.mark.parametrize(
    ("linked", "caller_id"),
    [(True, True), (False, True), (True, False)],
    ids=["linked-to-child", "standalone", "linked-without-caller-id"],
)
async def test_the_partner_sees_the_helpline_number_and_nothing_of_the_child(
    asterisk, ari, linked, caller_id
):
    partner = await start_partner()
    call, child = await _child_in_stasis(ari, asterisk)
    leg = await _originate_partner(
        ari, asterisk, "08002000", child if linked else None, caller_id=caller_id
    )
    # The originated leg enters our app once the partner answers.
    await ari.next("StasisStart", id=leg)
    async with ari.http.delete(f"{ari.base}/channels/{leg}") as resp:
        assert resp.status == 204
    async with ari.http.delete(f"{ari.base}/channels/{child}") as resp:
        assert resp.status == 204
    code, output, log = await partner.wait()
    assert code == 0, output
    assert (await call.wait())[0] == 0

    invites = sip_requests(log, "INVITE")
    assert len(invites) == 1, log
    invite = invites[0]
    print(invite)  # shown on failure: what the partner got
    assert invite.startswith("INVITE sip:08002000@127.0.0.2:5060 SIP/2.0")
    (from_,) = _header(invite, "from")
    if caller_id:
        assert re.match(r'^"Helpline" <sip:116111@127\.0\.0\.1(:5060)?>;tag=', from_), from_
    else:
        # A forgotten callerId: still nothing of the child (its identity was wiped before
        # Stasis), but not the helpline's number either; the effector must always pass it.
        assert from_.startswith('"Anonymous" <sip:anonymous@anonymous.invalid>'), from_
    for name in IDENTITY_HEADERS:
        assert _header(invite, name) == [], (name, invite)
    assert _header(invite, "privacy") in ([], ["none"]), invite
    for text in sip_requests(log, "INVITE") + sip_requests(log, "BYE") + [log]:
        for secret in SECRETS:
            assert secret not in text


async def test_a_busy_partner_ends_the_leg_with_the_cause(asterisk, ari):
    partner = await start_partner(final=486)
    leg = await _originate_partner(ari, asterisk, "08002000", None)
    destroyed = await ari.next("ChannelDestroyed", id=leg)
    assert destroyed["cause"] == 17  # user busy
    code, output, _ = await partner.wait()
    assert code == 0, output


def test_carrier_out_is_loaded_and_sends_no_identity(asterisk):
    out = asterisk.runtime.cli("pjsip show endpoint carrier-out")
    settings = dict(
        (parts[0], parts[2] if len(parts) > 2 else "")
        for parts in (ln.split(None, 2) for ln in out.splitlines())
        if len(parts) >= 2 and parts[1] == ":"
    )
    assert settings["send_pai"] == "false"
    assert settings["send_rpid"] == "false"
    assert settings["send_diversion"] == "false"
    assert settings["trust_id_outbound"] == "false"
    assert settings["identify_by"] == "ip"
    aor = asterisk.runtime.cli("pjsip show aor carrier-out")
    assert "sip:127.0.0.2:5060" in aor
    identify = asterisk.runtime.cli("pjsip show identifies")
    assert "carrier-out" not in identify


async def test_the_running_app_lists_the_partners_from_its_hours(asterisk, tmp_path):
    async with running_app(asterisk, tmp_path) as run:
        listed = {p["id"]: p for p in run.gateway.partners()}
    assert set(listed) == {"veilig-thuis", "closed-partner"}
    assert listed["veilig-thuis"]["open_now"]
    assert listed["veilig-thuis"]["regions"] == ["utrecht", "haaglanden"]
    closed = listed["closed-partner"]
    assert (closed["open_now"], closed["opens_at"]) == (False, None)
