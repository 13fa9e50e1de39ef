"""``GET /api/v1/me/sip`` and the ``/sip`` WebSocket proxy, with the real credentials manager
(in-memory store, fake ARI side) and a fake Asterisk SIP WebSocket upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from config.settings import HelplineConfig, VolunteerSeed
from helpline.sip_edge import WebSipAccess, session_check
from softphone.sip_credentials import SipCredentials
from storage.sip_credentials import MemorySipCredentialStore
from storage.volunteers import ARGON2_PROFILE_ENV
from tests.unit.test_sip_credentials import FakeAsterisk
from tests.unit.test_web_cookies import own_origin
from tests.unit.web_support import PASSWORD, WebEnv, web_env
from web import sip_proxy

REGISTER = (
    "REGISTER sip:helpline SIP/2.0\r\nTo: <sip:anna@helpline>\r\nCall-ID: abc\r\n"
    "Content-Length: 0\r\n\r\n"
)
OK = "SIP/2.0 200 OK\r\nCall-ID: abc\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")


@dataclass
class Upstream:
    """Asterisk's ``/ws``: records text frames, answers each with ``OK``; ``sockets`` open."""

    received: list[str] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    protocols: list[str | None] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("sip",))
        await ws.prepare(request)
        self.protocols.append(ws.ws_protocol)
        self.sockets.append(ws)
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.received.append(msg.data)
                    await ws.send_str(OK)
        finally:  # closed, or its connection lost (the test server then cancels the handler)
            self.closed.set()
        return ws


@dataclass
class SipEnv:
    env: WebEnv
    upstream: Upstream
    asterisk: FakeAsterisk
    creds: SipCredentials
    clock: list[float]
    server: TestServer
    """Asterisk's HTTP server (the upstream)."""

    def bearer(self, token: str) -> dict[str, str]:
        return self.env.bearer(token)

    async def connect(self, token: str, **kw: Any) -> aiohttp.ClientWebSocketResponse:
        kw.setdefault("protocols", ("sip",))
        return await self.env.client.ws_connect("/sip", headers=self.bearer(token), **kw)


def _browser(cfg: HelplineConfig, port: int) -> HelplineConfig:
    # Every account a browser phone, but sam, who keeps a desk phone; Asterisk on ``port``.
    ast = cfg.asterisk.model_copy(update={"volunteer_phones": "webrtc", "http_port": port})
    sam = VolunteerSeed(
        id="sam", name="Sam", location="almelo", password="x" * 8, phone="sip",
        skills=["peer_chat"], young=True,
    )  # fmt: skip
    return cfg.model_copy(update={"asterisk": ast, "volunteers": [sam]})


@pytest.fixture
async def sip(tmp_path) -> AsyncIterator[SipEnv]:
    upstream = Upstream()
    app = web.Application()
    app.router.add_get("/ws", upstream.handler)
    server = TestServer(app)
    await server.start_server()
    asterisk = FakeAsterisk()
    clock = [time.time()]  # the sessions are stamped with the real time
    made: list[SipCredentials] = []

    def access(cfg, sessions, directory):
        creds = SipCredentials(
            MemorySipCredentialStore(),
            cfg.asterisk.sip_realm,
            session_check(cfg, sessions, directory),
            clock=lambda: clock[0],
        )
        creds.attach(asterisk)
        made.append(creds)
        return WebSipAccess(creds)

    try:
        async with web_env(
            tmp_path, sip=access, configure=lambda cfg: _browser(cfg, server.port or 0)
        ) as env:
            yield SipEnv(env, upstream, asterisk, made[0], clock, server)
    finally:
        for ws in upstream.sockets:
            await ws.close()
        await server.close()


# ------------------------------------------------------------------ GET /api/v1/me/sip


async def test_the_sip_account_of_a_browser_phone(sip: SipEnv):
    token = await sip.env.login("anna")
    resp = await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert set(body) == {"username", "password", "realm", "uri", "ws_path", "expires_at"}
    assert body["username"] == "anna"
    assert body["realm"] == "helpline"
    assert body["uri"] == "sip:anna@helpline"
    assert body["ws_path"] == "/sip"
    session = next(iter(sip.env.sessions._items.values()))[0]
    assert body["expires_at"] == pytest.approx(session.created_at + 3600)
    assert sip.asterisk.auths == {"anna-auth": ("anna", body["password"], "helpline")}
    assert resp.headers["Cache-Control"] == "no-store"
    again = await (await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))).json()
    assert again == body  # a reload of the page: the same account


async def test_another_session_gets_a_new_password(sip: SipEnv):
    first = await sip.env.login("anna")
    second = await sip.env.login("anna")
    one = await (await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(first))).json()
    two = await (await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(second))).json()
    assert one["password"] != two["password"]
    assert sip.asterisk.auths["anna-auth"][1] == two["password"]


async def test_a_desk_phone_account_has_no_browser_credential(sip: SipEnv):
    token = await sip.env.login("sam")
    resp = await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    assert resp.status == 409
    assert (await resp.json())["error"] == "not_browser_phone"
    assert sip.asterisk.calls == []


async def test_without_a_session_there_is_nothing(sip: SipEnv):
    resp = await sip.env.client.get("/api/v1/me/sip")
    assert resp.status == 401
    assert sip.asterisk.calls == []


async def test_sign_out_revokes_the_credential(sip: SipEnv):
    token = await sip.env.login("anna")
    await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    resp = await sip.env.client.delete("/api/v1/session", headers=sip.bearer(token))
    assert resp.status == 200
    assert sip.asterisk.auths == {}
    assert await sip.creds.store.all() == []
    assert ("delete_auth", "anna-auth") in sip.asterisk.calls


async def test_sign_out_succeeds_while_asterisk_is_away(sip: SipEnv):
    token = await sip.env.login("anna")
    await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    sip.asterisk.fail.add("delete_auth")
    resp = await sip.env.client.delete("/api/v1/session", headers=sip.bearer(token))
    assert resp.status == 200
    assert len(await sip.creds.store.all()) == 1  # the sweeper revokes it when it can
    sip.asterisk.fail.clear()
    assert await sip.creds.sweep() == 1
    assert sip.asterisk.auths == {}


async def test_a_password_reset_revokes_at_the_next_sweep(sip: SipEnv):
    token = await sip.env.login("anna")
    await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    assert await sip.creds.sweep() == 0
    sip.env.directory.set_password("anna", "a new password 123")
    assert await sip.creds.sweep() == 1
    assert sip.asterisk.auths == {}


async def test_standing_by_or_asterisk_away_is_a_503(sip: SipEnv, tmp_path):
    token = await sip.env.login("anna")
    sip.asterisk.fail.add("put")
    resp = await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    assert resp.status == 503
    assert (await resp.json())["error"] == "unavailable"
    async with web_env(tmp_path / "plain", configure=lambda c: _browser(c, 1)) as plain:
        token = await plain.login("anna")
        resp = await plain.client.get("/api/v1/me/sip", headers=plain.bearer(token))
        assert resp.status == 503
        resp = await plain.client.get("/sip", headers=plain.bearer(token))
        assert resp.status == 503


# ------------------------------------------------------------------ the /sip WebSocket


async def test_no_session_no_upgrade(sip: SipEnv):
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sip.env.client.ws_connect("/sip", protocols=("sip",))
    assert info.value.status == 401
    resp = await sip.env.client.get("/sip")
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    assert sip.upstream.sockets == []


async def test_the_sip_subprotocol_is_required(sip: SipEnv):
    token = await sip.env.login("anna")
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sip.connect(token, protocols=("chat",))
    assert info.value.status == 400
    resp = await sip.env.client.get("/sip", headers=sip.bearer(token))  # no upgrade at all
    assert resp.status == 400
    assert sip.upstream.sockets == []


async def test_a_desk_phone_account_gets_no_socket(sip: SipEnv):
    token = await sip.env.login("sam")
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sip.connect(token)
    assert info.value.status == 409


async def test_sip_is_relayed_both_ways_unchanged(sip: SipEnv):
    token = await sip.env.login("anna")
    ws = await sip.connect(token)
    assert ws.protocol == "sip"
    await ws.send_str(REGISTER)
    assert (await ws.receive_str(timeout=5)) == OK
    assert sip.upstream.received == [REGISTER]
    assert sip.upstream.protocols == ["sip"]
    request = "OPTIONS sip:x@y.invalid;transport=ws SIP/2.0\r\nContent-Length: 0\r\n\r\n"
    await sip.upstream.sockets[0].send_str(request)  # Asterisk asks the browser
    assert (await ws.receive_str(timeout=5)) == request
    await ws.close()
    await asyncio.wait_for(sip.upstream.closed.wait(), 5)  # Asterisk drops the contact


async def test_the_socket_closes_with_4401_when_the_session_ends(sip: SipEnv):
    token = await sip.env.login("anna")
    ws = await sip.connect(token)
    await sip.env.client.delete("/api/v1/session", headers=sip.bearer(token))
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4401
    await asyncio.wait_for(sip.upstream.closed.wait(), 5)


async def test_the_socket_closes_when_the_session_expires(sip: SipEnv):
    token = await sip.env.login("anna")
    await sip.env.client.get("/api/v1/me/sip", headers=sip.bearer(token))
    ws = await sip.connect(token)
    sip.clock[0] += 10**9  # long after the session's end
    assert await sip.creds.sweep() == 1
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4401
    assert sip.asterisk.auths == {}


async def test_when_asterisk_closes_the_browser_is_told_to_come_back(sip: SipEnv):
    token = await sip.env.login("anna")
    ws = await sip.connect(token)
    await ws.send_str(REGISTER)
    await ws.receive_str(timeout=5)
    await sip.upstream.sockets[0].close()
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1001


async def test_a_message_over_the_limit_closes_both_sides(sip: SipEnv):
    token = await sip.env.login("anna")
    ws = await sip.connect(token)
    await ws.send_str("X" * (sip_proxy.MAX_MESSAGE_BYTES + 1))
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1009
    await asyncio.wait_for(sip.upstream.closed.wait(), 5)
    assert sip.upstream.received == []


async def test_binary_frames_are_refused(sip: SipEnv):
    token = await sip.env.login("anna")
    ws = await sip.connect(token)
    await ws.send_bytes(REGISTER.encode())
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1003
    assert sip.upstream.received == []


async def test_asterisk_unreachable_is_a_503_before_the_upgrade(sip: SipEnv):
    token = await sip.env.login("anna")
    await sip.server.close()  # Asterisk is down
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sip.connect(token)
    assert info.value.status == 503
    assert sip.creds.sockets("anna") == 0


async def test_sockets_per_account_are_bounded(sip: SipEnv):
    token = await sip.env.login("anna")
    sockets = [await sip.connect(token) for _ in range(sip_proxy.MAX_SOCKETS_PER_VOLUNTEER)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sip.connect(token)
    assert info.value.status == 429
    await sockets[0].close()
    for _ in range(100):  # the proxy notices the close
        if sip.creds.sockets("anna") < sip_proxy.MAX_SOCKETS_PER_VOLUNTEER:
            break
        await asyncio.sleep(0.01)
    sockets.append(await sip.connect(token))  # a place is free again
    for ws in sockets[1:]:
        await ws.close()


async def test_a_session_may_register_its_own_account_only(sip: SipEnv):
    token = await sip.env.login("anna")
    ws = await sip.connect(token)
    other = REGISTER.replace("sip:anna@helpline", "sip:bram@helpline")
    await ws.send_str(other)
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008
    assert sip.upstream.received == []


@pytest.mark.parametrize(
    ("message", "user"),
    [
        ("REGISTER sip:h SIP/2.0\r\nTo: <sip:anna@helpline>\r\n\r\n", "anna"),
        ('REGISTER sip:h SIP/2.0\r\nt: "A" <sips:anna@h;transport=ws>;tag=1\r\n\r\n', "anna"),
        ("REGISTER sip:h SIP/2.0\r\nto: sip:anna@h;x=1\r\n\r\n", "anna"),
        ("REGISTER sip:h SIP/2.0\r\nTo: <tel:123>\r\n\r\n", ""),
        ("REGISTER sip:h SIP/2.0\r\nFrom: <sip:anna@h>\r\n\r\n", ""),
        ("INVITE sip:x@h SIP/2.0\r\nTo: <sip:bram@h>\r\n\r\n", None),
        ("SIP/2.0 200 OK\r\nTo: <sip:bram@h>\r\n\r\n", None),
    ],
)
def test_the_account_a_register_is_for(message: str, user: str | None):
    assert sip_proxy.register_user(message) == user


# ------------------------------------------------------------------ the page's way: the cookie


async def test_the_page_uses_its_session_cookie_from_its_own_origin(sip: SipEnv):
    env = sip.env
    resp = await env.client.post(
        "/api/v1/session",
        json={"volunteer_id": "anna", "password": PASSWORD},
        headers={"Origin": own_origin(env)},
    )
    assert resp.status == 201
    account = await (await env.client.get("/api/v1/me/sip")).json()  # no bearer: the cookie
    assert account["username"] == "anna"
    ws = await env.client.ws_connect("/sip", protocols=("sip",), origin=own_origin(env))
    assert ws.protocol == "sip"
    await ws.send_str(REGISTER)
    assert (await ws.receive_str(timeout=5)) == OK
    await ws.close()
    # Another site's page cannot open the browser phone with the volunteer's cookie.
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await env.client.ws_connect("/sip", protocols=("sip",), origin="https://evil.example")
    assert info.value.status == 403
