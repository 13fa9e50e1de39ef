"""``GET /api/v1/live``: the live state bus over a WebSocket.

A signed-in client opens the socket (optionally with ``?after=<seq>``, the last number it saw)
and receives, as JSON text frames:

- ``{"type": "snapshot", "seq": n, "agents": [...], "contacts": [...], "queue": {...}}`` first,
  and again whenever it fell behind or the queue was taken over by another process;
- then ``{"type": "delta", "seq": n, "kind": "agent"|"contact"|"queue", "id": ..., "data":
  {...} | null}`` for every change it may see, in order (``data: null``: gone from its view).

A frame holds one such object, or a JSON array of them (in order) when several were ready at
once.

A supervisor sees everything; a volunteer sees their own record, the contacts offered to or
held by them, and the queue figures. Messages carry ``at``, the server's Unix time when the
change was published. The socket is closed with 4401 when the session ends or the account is
disabled; what the client sends is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from aiohttp import web

from live import Scope
from web.errors import BadRequest
from web.live_hub import LiveHub, Subscription
from web.volunteer_api import Caller, authenticate

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

RECHECK_S = 30.0
"""How often an open socket re-checks its session and account."""

SEND_TIMEOUT_S = 10.0
"""A client that takes longer than this to accept one frame is disconnected."""

SESSION_ENDED = 4401
"""Close code: the session is gone (logged out, expired, password reset, account disabled)."""

MAX_SEQ_DIGITS = 18

SEND_BUFFER_BYTES = 64 * 1024
"""The kernel's send buffer per socket: with the hub's bounded queue, what one stalled client
can hold in memory (loopback autotuning would otherwise let it grow to megabytes)."""


def scope_of(caller: Caller) -> Scope:
    """Supervisors (and admins, staff too) see everything, volunteers themselves."""
    if caller.volunteer.role in ("supervisor", "admin"):
        return Scope.supervisor()
    return Scope.volunteer(caller.volunteer.id)


def _after(request: web.Request) -> int | None:
    raw = request.query.get("after")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_SEQ_DIGITS:
        raise BadRequest("after: expected the seq of the last message seen (digits)")
    return int(raw)


@routes.get("/api/v1/live")
async def live(request: web.Request) -> web.StreamResponse:
    caller = await authenticate(request)  # before the upgrade: a 401 is plain JSON
    after = _after(request)
    hub = caller.ctx.gateway.live_hub()  # 503 while this process stands by
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    await ws.prepare(request)
    sub = hub.subscribe(scope_of(caller), after)
    sender = asyncio.create_task(_send(ws, hub, sub, caller, request), name="live-send")
    try:
        async for _ in ws:
            pass  # nothing is expected from the client; reading keeps pings answered
    finally:
        hub.unsubscribe(sub)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return ws


async def _send(
    ws: web.WebSocketResponse,
    hub: LiveHub,
    sub: Subscription,
    caller: Caller,
    request: web.Request,
) -> None:
    try:
        while not ws.closed:
            try:
                async with asyncio.timeout(RECHECK_S):
                    batch = await hub.next_batch(sub)
            except TimeoutError:
                if not await still_signed_in(caller):
                    await ws.close(code=SESSION_ENDED, message=b"session ended")
                    return
                continue
            if not batch:
                continue
            # What is ready goes out as one frame: one write per client per wake-up, not one
            # per change (the fan-out shares the loop with the engine).
            frame = batch[0] if len(batch) == 1 else "[" + ",".join(batch) + "]"
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await ws.send_str(frame)
    except TimeoutError:
        log.info("live client too slow; disconnected (%d overflows)", sub.overflows)
        # Its socket is full: a closing handshake would wait on it too. Cut it.
        if request.transport is not None:
            request.transport.abort()
    except ConnectionError:
        pass  # the client went away; the reader ends the handler


async def still_signed_in(caller: Caller) -> bool:
    """The caller's session still exists and its account is enabled, with no reset since;
    True when the store cannot tell now (an outage does not end sockets)."""
    c = caller.ctx
    try:
        session = await c.sessions.get(caller.token_key)
        info = await asyncio.to_thread(c.directory.get, caller.volunteer.id)
    except Exception as exc:  # a store outage: keep the socket; check again later
        log.warning("live: cannot re-check a session (%s)", type(exc).__name__)
        return True
    return (
        session is not None
        and info is not None
        and info.enabled
        and info.credential_version == session.credential_version  # no reset since
    )
