"""``GET /sip``: the browser phone's SIP WebSocket, proxied to Asterisk's loopback ``/ws``.

One origin for the page, the API and SIP: ARI and Asterisk's HTTP server stay on loopback and
no CORS is needed. The upgrade is refused (plain JSON, before any WebSocket) without a signed-in
session (401), for an account whose phone is not the browser (409), without the ``sip``
subprotocol (400), beyond ``MAX_SOCKETS_PER_VOLUNTEER`` sockets (429), and while no credential
can be served here or Asterisk is unreachable (503). Then text frames are relayed both ways,
unchanged, to ``ws://127.0.0.1:<http_port>/ws`` with subprotocol ``sip``:

- bounded: a message over ``MAX_MESSAGE_BYTES`` closes the socket (1009), binary frames are
  refused (1003: SIP over WebSocket from a browser is text), a side that does not accept a
  message within ``SEND_TIMEOUT_S`` is cut; nothing else is buffered (one message in hand per
  direction, then the sockets' own flow control);
- when either side closes, both close (Asterisk then removes the registration at once);
- when the session ends (sign-out, expiry, password reset, disable), the socket closes with
  4401, as ``/api/v1/live`` does.

Asterisk sees every browser phone coming from 127.0.0.1 (this proxy): the browser endpoints
admit that address only (``dialplan.sip.BROWSER_PROXY_NETWORKS``), and this proxy admits only a
signed-in session, which may REGISTER only its own account (a REGISTER for another closes the
socket with 1008). Everything else is Asterisk's to judge (the digest of each account's own
credential, the endpoint's context that dials nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from aiohttp import web

from config.settings import LOOPBACK, HelplineConfig
from web.errors import BadRequest, SipUnavailable, TooManyRequests
from web.live_api import SESSION_ENDED
from web.ports import SIP_ACCESS
from web.sip_api import require_browser_phone
from web.volunteer_api import authenticate

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

SUBPROTOCOL = "sip"
"""RFC 7118's WebSocket subprotocol, both towards the browser and towards Asterisk."""

MAX_MESSAGE_BYTES = 64 * 1024
"""The largest SIP message relayed (an INVITE with a WebRTC SDP is a few KiB)."""

MAX_SOCKETS_PER_VOLUNTEER = 3
"""Open ``/sip`` sockets per account here: a reload or a second tab fits, a loop that opens
sockets without end does not use up Asterisk's HTTP sessions (which ARI needs too)."""

SEND_TIMEOUT_S = 10.0
"""A side that takes longer than this to accept one message is disconnected."""

CONNECT_TIMEOUT_S = 5.0
"""How long the upgrade waits for Asterisk's WebSocket."""

HEARTBEAT_S = 20.0
"""Pings both ways: a browser or an Asterisk that vanished is noticed within ~2 of these."""

UPSTREAM = web.AppKey("helpline_sip_upstream", str)
"""Asterisk's SIP WebSocket URL (``install`` sets it; unit tests point it at a fake)."""


def upstream_url(cfg: HelplineConfig) -> str:
    """``ws://127.0.0.1:<http_port>/ws``: Asterisk's SIP WebSocket on its loopback server."""
    return f"ws://{LOOPBACK}:{cfg.asterisk.http_port}/ws"


def install(app: web.Application, cfg: HelplineConfig) -> None:
    """Mount ``/sip`` (and ``/api/v1/me/sip`` beside it) on the volunteer API."""
    from web import sip_api

    app[UPSTREAM] = upstream_url(cfg)
    app.add_routes(sip_api.routes)
    app.add_routes(routes)


@routes.get("/sip")
async def sip(request: web.Request) -> web.StreamResponse:
    caller = await authenticate(request)  # before the upgrade: a 401 is plain JSON
    require_browser_phone(caller)
    access = request.app.get(SIP_ACCESS)
    if access is None or not access.serving():
        raise SipUnavailable("standing by: the browser phone is served by another process")
    ws = web.WebSocketResponse(
        protocols=(SUBPROTOCOL,),
        max_msg_size=MAX_MESSAGE_BYTES,
        heartbeat=HEARTBEAT_S,
        timeout=5.0,  # for the closing handshake
    )
    ready = ws.can_prepare(request)
    if not ready.ok:
        raise BadRequest("a WebSocket upgrade is required", code="websocket_required")
    if ready.protocol != SUBPROTOCOL:
        raise BadRequest("the WebSocket subprotocol 'sip' is required", code="subprotocol")
    vid = caller.volunteer.id
    if access.sockets(vid) >= MAX_SOCKETS_PER_VOLUNTEER:
        raise TooManyRequests(
            "too many browser phone connections for this account", retry_after_s=5
        )

    ended = asyncio.Event()
    unwatch = access.watch(vid, caller.token_key, ended.set)  # counted from here on
    session = aiohttp.ClientSession()
    upstream: aiohttp.ClientWebSocketResponse | None = None
    try:
        # Asterisk first: while it is away the page gets a 503, not a socket that dies at once.
        upstream = await _connect(session, request.app[UPSTREAM])
        await ws.prepare(request)
        log.info("volunteer %s: browser phone connected", vid)
        code, reason = await _relay(ws, upstream, ended, vid)
        log.info("volunteer %s: browser phone disconnected (%s)", vid, reason)
        if not ws.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await ws.close(code=code, message=reason.encode())
        return ws
    finally:
        unwatch()
        # Also when the handler is cancelled (the browser's connection was lost): Asterisk's
        # side must close, so that it drops the registration now.
        await asyncio.shield(_shut(upstream, session))


async def _shut(
    upstream: aiohttp.ClientWebSocketResponse | None, session: aiohttp.ClientSession
) -> None:
    if upstream is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5.0):
                await upstream.close()
    await session.close()


async def _connect(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """Asterisk's SIP WebSocket; ``SipUnavailable`` when it cannot be had."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            upstream = await session.ws_connect(
                url,
                protocols=(SUBPROTOCOL,),
                max_msg_size=MAX_MESSAGE_BYTES,
                heartbeat=HEARTBEAT_S,
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("browser phone: Asterisk's WebSocket unreachable (%s)", type(exc).__name__)
        raise SipUnavailable("Asterisk is not reachable now; try again") from exc
    if upstream.protocol != SUBPROTOCOL:
        await upstream.close()
        log.warning("browser phone: Asterisk's WebSocket did not accept the sip subprotocol")
        raise SipUnavailable("Asterisk's SIP WebSocket is not available")
    return upstream


Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


def register_user(message: str) -> str | None:
    """The user part of the To URI of a SIP REGISTER (the account it registers), ``""`` when it
    has none; None when ``message`` is not a REGISTER request."""
    head = message.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head[0].startswith("REGISTER "):
        return None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("to", "t"):
            uri = value.split("<", 1)[1].split(">", 1)[0] if "<" in value else value
            uri = uri.strip().split(";", 1)[0]
            scheme, _, rest = uri.partition(":")
            if scheme.lower() not in ("sip", "sips") or "@" not in rest:
                return ""
            return rest.split("@", 1)[0]
    return ""


async def _relay(
    browser: web.WebSocketResponse,
    asterisk: aiohttp.ClientWebSocketResponse,
    ended: asyncio.Event,
    account: str,
) -> tuple[int, str]:
    """Relay until a side closes or the session ends; the close code and reason for the
    browser. The browser may REGISTER ``account`` only."""
    up = asyncio.create_task(_pump(browser, asterisk, account), name="sip-up")
    down = asyncio.create_task(_pump(asterisk, browser), name="sip-down")
    revoked = asyncio.create_task(ended.wait(), name="sip-session")
    try:
        done, _ = await asyncio.wait({up, down, revoked}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (up, down, revoked):
            task.cancel()
        await asyncio.gather(up, down, revoked, return_exceptions=True)
    if revoked in done:
        return SESSION_ENDED, "session ended"
    if up in done and not up.cancelled() and up.exception() is None:
        return up.result()
    if down in done and not down.cancelled() and down.exception() is None:
        code, reason = down.result()
        # Asterisk closed (or broke): tell the page to come back later, not that it erred.
        return (code if code != aiohttp.WSCloseCode.OK else aiohttp.WSCloseCode.GOING_AWAY), (
            "asterisk: " + reason
        )
    return aiohttp.WSCloseCode.INTERNAL_ERROR, "relay failed"


async def _pump(src: Socket, dst: Socket, account: str | None = None) -> tuple[int, str]:
    """Copy text messages from ``src`` to ``dst`` until ``src`` ends; why it ended. With
    ``account``, a REGISTER for any other account ends it instead of being relayed."""
    while True:
        msg = await src.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            if account is not None and register_user(msg.data) not in (None, account):
                return aiohttp.WSCloseCode.POLICY_VIOLATION, "register your own account only"
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S):
                    await dst.send_str(msg.data)
            except TimeoutError:
                return aiohttp.WSCloseCode.TRY_AGAIN_LATER, "peer too slow"
            except ConnectionError:
                return aiohttp.WSCloseCode.GOING_AWAY, "peer gone"
            continue
        if msg.type == aiohttp.WSMsgType.BINARY:
            return aiohttp.WSCloseCode.UNSUPPORTED_DATA, "binary frames are not relayed"
        if msg.type == aiohttp.WSMsgType.ERROR:
            if src.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                return aiohttp.WSCloseCode.MESSAGE_TOO_BIG, "message too big"
            return aiohttp.WSCloseCode.INTERNAL_ERROR, "websocket error"
        # CLOSE, CLOSING, CLOSED
        return aiohttp.WSCloseCode.OK, "closed"
